import Foundation
import Yams

/// Sizes of MaskGCT's semantic codec (`RepCodec` in `indextts/utils/maskgct/models/codec/kmeans/repcodec_model.py`)
/// as IndexTTS2 builds it from the `semantic_codec` section of `checkpoints/config.yaml`; keys in their upstream
/// spelling. Defaults are IndexTTS2's values (8192 codes of 8 dimensions, 1024-d features, 12 ConvNeXt blocks of 384).
public struct SemanticCodecConfiguration: Codable, Sendable, Equatable, ConfigYAMLSection {
    public var codebookSize: Int = 8192
    /// Width of the w2v-BERT features the codec reads and of the embeddings it returns.
    public var hiddenSize: Int = 1024
    /// Width of the factorised code space (the VQ's in/out projections map `hidden_size` ↔ `codebook_dim`).
    public var codebookDim: Int = 8
    /// Width of the Vocos/ConvNeXt encoder.
    public var vocosDim: Int = 384
    public var vocosIntermediateDim: Int = 2048
    public var vocosNumLayers: Int = 12
    /// Residual quantizers; IndexTTS2 (and MaskGCT's released codec) use one.
    public var numQuantizers: Int = 1
    /// Temporal down-sampling before the encoder. Absent from the released configs: each codec class then takes its
    /// own default — MaskGCT's `RepCodec` (IndexTTS2) 1 (none), IndexTTS-2.5's `EnhancedCodec` 2.
    public var downsampleScale: Int?

    enum CodingKeys: String, CodingKey {
        case codebookSize = "codebook_size", hiddenSize = "hidden_size", codebookDim = "codebook_dim", vocosDim = "vocos_dim"
        case vocosIntermediateDim = "vocos_intermediate_dim", vocosNumLayers = "vocos_num_layers"
        case numQuantizers = "num_quantizers", downsampleScale = "downsample_scale"
    }

    /// IndexTTS2's codec.
    public init() {}

    public init(codebookSize: Int, hiddenSize: Int, codebookDim: Int, vocosDim: Int, vocosIntermediateDim: Int,
                vocosNumLayers: Int) {
        self.codebookSize = codebookSize
        self.hiddenSize = hiddenSize
        self.codebookDim = codebookDim
        self.vocosDim = vocosDim
        self.vocosIntermediateDim = vocosIntermediateDim
        self.vocosNumLayers = vocosNumLayers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SemanticCodecConfiguration()
        codebookSize = try c.decodeIfPresent(Int.self, forKey: .codebookSize) ?? d.codebookSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        codebookDim = try c.decodeIfPresent(Int.self, forKey: .codebookDim) ?? d.codebookDim
        vocosDim = try c.decodeIfPresent(Int.self, forKey: .vocosDim) ?? d.vocosDim
        vocosIntermediateDim = try c.decodeIfPresent(Int.self, forKey: .vocosIntermediateDim) ?? d.vocosIntermediateDim
        vocosNumLayers = try c.decodeIfPresent(Int.self, forKey: .vocosNumLayers) ?? d.vocosNumLayers
        numQuantizers = try c.decodeIfPresent(Int.self, forKey: .numQuantizers) ?? d.numQuantizers
        downsampleScale = try c.decodeIfPresent(Int.self, forKey: .downsampleScale)
    }

    public static let sectionName = "semantic_codec"

    /// Checks what this port supports of MaskGCT's `RepCodec` and that the sizes are usable.
    public func validate(source: String = "config.yaml") throws {
        try validateSizes(source: source, component: "semantic codec")
        if let scale = downsampleScale, scale > 1 {
            throw ModelError.unsupported(component: "semantic codec", reason: "downsample_scale \(scale) (IndexTTS2's codec has none)")
        }
    }

    /// The checks both codec classes share: sizes in range, factorised codes, one quantizer.
    func validateSizes(source: String, component: String) throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: "semantic_codec." + field, reason: reason)
        }
        let limit = 1 << 20
        for (name, value) in [("codebook_size", codebookSize), ("hidden_size", hiddenSize), ("codebook_dim", codebookDim),
                              ("vocos_dim", vocosDim), ("vocos_intermediate_dim", vocosIntermediateDim)]
        where value <= 0 || value > limit {
            throw fail(name, "must be in 1...\(limit), got \(value)")
        }
        if vocosNumLayers < 1 || vocosNumLayers > 256 { throw fail("vocos_num_layers", "must be in 1...256, got \(vocosNumLayers)") }
        if codebookDim == hiddenSize {
            // Upstream then uses identity projections (no in/out_project tensors); released codecs never do.
            throw ModelError.unsupported(component: component, reason: "codebook_dim equal to hidden_size (\(hiddenSize))")
        }
        if numQuantizers != 1 {
            throw ModelError.unsupported(component: component, reason: "num_quantizers \(numQuantizers) (the released codecs have 1)")
        }
    }
}
