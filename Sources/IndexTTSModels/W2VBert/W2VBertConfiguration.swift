import Foundation

/// w2v-BERT 2.0's `config.json` (transformers `Wav2Vec2BertConfig`): the fields the encoder stack reads, keys in
/// their upstream spelling. Absent fields take transformers' defaults, which are facebook/w2v-bert-2.0's values.
public struct W2VBertConfiguration: Codable, Sendable, Equatable, ConfigJSONFile {
    public var hiddenSize: Int = 1024
    public var numHiddenLayers: Int = 24
    public var numAttentionHeads: Int = 16
    public var intermediateSize: Int = 4096
    /// Width of the stacked fbank features (`SeamlessM4TFeatureExtractor`: 2 × 80).
    public var featureProjectionInputDim: Int = 160
    /// Activation of the feed-forwards and the conv module (`swish` in w2v-BERT 2.0).
    public var hiddenAct: String = "swish"
    public var layerNormEps: Double = 1e-5
    /// Only `relative_key` (w2v-BERT 2.0's) is implemented; nil stands for JSON `null` (no position information).
    public var positionEmbeddingsType: String? = "relative_key"
    /// Clamp of the key − query distance for `relative_key` (64 to the left, 8 to the right in w2v-BERT 2.0).
    public var leftMaxPositionEmbeddings: Int = 64
    public var rightMaxPositionEmbeddings: Int = 8
    /// Kernel of the conv module's causal depthwise convolution.
    public var convDepthwiseKernelSize: Int = 31

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", featureProjectionInputDim = "feature_projection_input_dim"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps", positionEmbeddingsType = "position_embeddings_type"
        case leftMaxPositionEmbeddings = "left_max_position_embeddings"
        case rightMaxPositionEmbeddings = "right_max_position_embeddings"
        case convDepthwiseKernelSize = "conv_depthwise_kernel_size"
    }

    /// facebook/w2v-bert-2.0.
    public init() {}

    public init(hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, intermediateSize: Int) {
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = W2VBertConfiguration()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        featureProjectionInputDim = try c.decodeIfPresent(Int.self, forKey: .featureProjectionInputDim) ?? d.featureProjectionInputDim
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
        positionEmbeddingsType = c.contains(.positionEmbeddingsType)
            ? try c.decodeIfPresent(String.self, forKey: .positionEmbeddingsType) : d.positionEmbeddingsType
        leftMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .leftMaxPositionEmbeddings) ?? d.leftMaxPositionEmbeddings
        rightMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .rightMaxPositionEmbeddings) ?? d.rightMaxPositionEmbeddings
        convDepthwiseKernelSize = try c.decodeIfPresent(Int.self, forKey: .convDepthwiseKernelSize) ?? d.convDepthwiseKernelSize
    }

    /// Width of one attention head.
    public var headSize: Int { hiddenSize / max(numAttentionHeads, 1) }
    /// Rows of each layer's `distance_embedding` (`left + right + 1`).
    public var relativePositions: Int { leftMaxPositionEmbeddings + rightMaxPositionEmbeddings + 1 }

    /// Checks what this port supports and that the sizes are consistent.
    public func validate(source: String = "config.json") throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: field, reason: reason)
        }
        let limit = 1 << 16
        for (name, value) in [("hidden_size", hiddenSize), ("num_attention_heads", numAttentionHeads),
                              ("intermediate_size", intermediateSize), ("feature_projection_input_dim", featureProjectionInputDim)]
        where value <= 0 || value > limit {
            throw fail(name, "must be in 1...\(limit), got \(value)")
        }
        if numHiddenLayers < 1 || numHiddenLayers > 256 { throw fail("num_hidden_layers", "must be in 1...256, got \(numHiddenLayers)") }
        if hiddenSize % numAttentionHeads != 0 {
            throw fail("num_attention_heads", "\(numAttentionHeads) does not divide hidden_size \(hiddenSize)")
        }
        if convDepthwiseKernelSize < 1 || convDepthwiseKernelSize % 2 == 0 || convDepthwiseKernelSize > 255 {
            throw fail("conv_depthwise_kernel_size", "must be odd, 1...255, got \(convDepthwiseKernelSize)")
        }
        if !(layerNormEps > 0 && layerNormEps < 1) { throw fail("layer_norm_eps", "must be in (0, 1), got \(layerNormEps)") }
        guard W2VBertActivation(name: hiddenAct) != nil else {
            throw ModelError.unsupported(component: "w2v-BERT", reason: "hidden_act '\(hiddenAct)' (swish, silu, gelu and relu are)")
        }
        guard positionEmbeddingsType == "relative_key" else {
            throw ModelError.unsupported(component: "w2v-BERT",
                                         reason: "position_embeddings_type '\(positionEmbeddingsType ?? "null")' (w2v-BERT 2.0 uses relative_key)")
        }
        for (name, value) in [("left_max_position_embeddings", leftMaxPositionEmbeddings),
                              ("right_max_position_embeddings", rightMaxPositionEmbeddings)]
        where value < 0 || value > limit {
            throw fail(name, "must be in 0...\(limit), got \(value)")
        }
    }
}

/// The activations `hidden_act` may name (transformers' `ACT2FN`).
enum W2VBertActivation: Sendable {
    case silu, gelu, relu

    init?(name: String) {
        switch name {
        case "swish", "silu": self = .silu
        case "gelu": self = .gelu
        case "relu": self = .relu
        default: return nil
        }
    }
}
