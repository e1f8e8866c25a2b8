/// Dimensions of the GPT-2 core of UnifiedVoice (`gpt` section of IndexTTS2's `config.yaml`: model_dim 1280,
/// layers 24, heads 20). Any dimension may differ, so tiny test configurations work.
public struct GPT2Configuration: Codable, Sendable, Equatable {
    public var modelDimension: Int
    public var layers: Int
    public var heads: Int
    /// HF `GPT2Config.layer_norm_epsilon`.
    public var layerNormEpsilon: Float

    enum CodingKeys: String, CodingKey {
        case modelDimension = "model_dim", layers, heads, layerNormEpsilon = "layer_norm_epsilon"
    }

    public init(modelDimension: Int = 1280, layers: Int = 24, heads: Int = 20, layerNormEpsilon: Float = 1e-5) {
        self.modelDimension = modelDimension
        self.layers = layers
        self.heads = heads
        self.layerNormEpsilon = layerNormEpsilon
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelDimension = try c.decode(Int.self, forKey: .modelDimension)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-5
    }

    public var headDimension: Int { modelDimension / heads }
}
