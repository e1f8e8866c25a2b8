import Foundation
import Yams

/// The `s2mel` section of IndexTTS2's `checkpoints/config.yaml` (IndexTTS-2.5 ships the identical block): sizes of the
/// length regulator, the DiT estimator and its WaveNet head. Absent fields take IndexTTS2's values; keys this port
/// does not read (`preprocess_params`, `reg_loss_type`, `class_dropout_prob`, `block_size`, `p_dropout`, …) are
/// accepted and ignored, as upstream ignores them at inference.
public struct S2MConfiguration: Codable, Sendable, Equatable, ConfigYAMLSection {
    /// `s2mel.length_regulator` (`InterpolateRegulator`).
    public struct LengthRegulator: Codable, Sendable, Equatable {
        public var channels = 512
        public var isDiscrete = false
        public var inChannels = 1024
        public var contentCodebookSize = 2048
        /// One Conv1d(k3)/GroupNorm(1)/Mish block per entry (the values themselves are not used by the module).
        public var samplingRatios = [1, 1, 1, 1]
        public var vectorQuantize = false
        public var nCodebooks = 1
        public var f0Condition = false

        enum CodingKeys: String, CodingKey {
            case channels, isDiscrete = "is_discrete", inChannels = "in_channels", contentCodebookSize = "content_codebook_size"
            case samplingRatios = "sampling_ratios", vectorQuantize = "vector_quantize", nCodebooks = "n_codebooks"
            case f0Condition = "f0_condition"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = LengthRegulator()
            channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? d.channels
            isDiscrete = try c.decodeIfPresent(Bool.self, forKey: .isDiscrete) ?? d.isDiscrete
            inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
            contentCodebookSize = try c.decodeIfPresent(Int.self, forKey: .contentCodebookSize) ?? d.contentCodebookSize
            samplingRatios = try c.decodeIfPresent([Int].self, forKey: .samplingRatios) ?? d.samplingRatios
            vectorQuantize = try c.decodeIfPresent(Bool.self, forKey: .vectorQuantize) ?? d.vectorQuantize
            nCodebooks = try c.decodeIfPresent(Int.self, forKey: .nCodebooks) ?? d.nCodebooks
            f0Condition = try c.decodeIfPresent(Bool.self, forKey: .f0Condition) ?? d.f0Condition
        }
    }

    /// `s2mel.DiT`.
    public struct DiT: Codable, Sendable, Equatable {
        public var hiddenDim = 512
        public var numHeads = 8
        public var depth = 13
        /// Mel bins.
        public var inChannels = 80
        public var styleCondition = true
        public var finalLayerType = "wavenet"
        public var contentDim = 512
        /// Rows of the (unused at inference) `cond_embedder`.
        public var contentCodebookSize = 1024
        public var isCausal = false
        public var longSkipConnection = true
        public var uvitSkipConnection = true
        public var timeAsToken = false
        public var styleAsToken = false
        public var zeroPromptSpeechToken = false

        enum CodingKeys: String, CodingKey {
            case hiddenDim = "hidden_dim", numHeads = "num_heads", depth, inChannels = "in_channels"
            case styleCondition = "style_condition", finalLayerType = "final_layer_type", contentDim = "content_dim"
            case contentCodebookSize = "content_codebook_size", isCausal = "is_causal"
            case longSkipConnection = "long_skip_connection", uvitSkipConnection = "uvit_skip_connection"
            case timeAsToken = "time_as_token", styleAsToken = "style_as_token", zeroPromptSpeechToken = "zero_prompt_speech_token"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = DiT()
            hiddenDim = try c.decodeIfPresent(Int.self, forKey: .hiddenDim) ?? d.hiddenDim
            numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? d.numHeads
            depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? d.depth
            inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
            styleCondition = try c.decodeIfPresent(Bool.self, forKey: .styleCondition) ?? d.styleCondition
            finalLayerType = try c.decodeIfPresent(String.self, forKey: .finalLayerType) ?? d.finalLayerType
            contentDim = try c.decodeIfPresent(Int.self, forKey: .contentDim) ?? d.contentDim
            contentCodebookSize = try c.decodeIfPresent(Int.self, forKey: .contentCodebookSize) ?? d.contentCodebookSize
            isCausal = try c.decodeIfPresent(Bool.self, forKey: .isCausal) ?? d.isCausal
            longSkipConnection = try c.decodeIfPresent(Bool.self, forKey: .longSkipConnection) ?? d.longSkipConnection
            uvitSkipConnection = try c.decodeIfPresent(Bool.self, forKey: .uvitSkipConnection) ?? d.uvitSkipConnection
            timeAsToken = try c.decodeIfPresent(Bool.self, forKey: .timeAsToken) ?? d.timeAsToken
            styleAsToken = try c.decodeIfPresent(Bool.self, forKey: .styleAsToken) ?? d.styleAsToken
            zeroPromptSpeechToken = try c.decodeIfPresent(Bool.self, forKey: .zeroPromptSpeechToken) ?? d.zeroPromptSpeechToken
        }

        /// gpt-fast's SwiGLU width: `find_multiple(int(2·4·dim/3), 256)`.
        public var feedForwardDim: Int {
            let n = 2 * 4 * hiddenDim / 3
            return n % 256 == 0 ? n : n + 256 - n % 256
        }
    }

    /// `s2mel.wavenet` (the DiT's final layer).
    public struct WaveNet: Codable, Sendable, Equatable {
        public var hiddenDim = 512
        public var numLayers = 8
        public var kernelSize = 5
        public var dilationRate = 1
        public var styleCondition = true

        enum CodingKeys: String, CodingKey {
            case hiddenDim = "hidden_dim", numLayers = "num_layers", kernelSize = "kernel_size", dilationRate = "dilation_rate"
            case styleCondition = "style_condition"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = WaveNet()
            hiddenDim = try c.decodeIfPresent(Int.self, forKey: .hiddenDim) ?? d.hiddenDim
            numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? d.numLayers
            kernelSize = try c.decodeIfPresent(Int.self, forKey: .kernelSize) ?? d.kernelSize
            dilationRate = try c.decodeIfPresent(Int.self, forKey: .dilationRate) ?? d.dilationRate
            styleCondition = try c.decodeIfPresent(Bool.self, forKey: .styleCondition) ?? d.styleCondition
        }
    }

    public var ditType = "DiT"
    /// `style_encoder.dim`: width of the CAM++ style vector.
    public var styleDim = 192
    public var lengthRegulator = LengthRegulator()
    public var dit = DiT()
    public var wavenet = WaveNet()
    /// Widths of `gpt_layer` (GPT latent → regulator input), `[in, hidden…, out]`. Not a config.yaml key: upstream's
    /// `MyModel` hard-codes Linear 1280→256→128→1024, the default here.
    public var gptLayerWidths = [1280, 256, 128, 1024]
    /// Whether the stage has `gpt_layer` (not a config.yaml key): IndexTTS2 builds `MyModel(cfg, use_gpt_latent=True)`,
    /// IndexTTS-2.5 builds it without, since its content comes from its codec alone. ``read(_:)`` sets it from the file's
    /// generation.
    public var usesGPTLayer = true

    enum CodingKeys: String, CodingKey {
        case ditType = "dit_type", styleEncoder = "style_encoder", lengthRegulator = "length_regulator", dit = "DiT", wavenet
        case gptLayerWidths = "gpt_layer_widths"
    }

    struct StyleEncoder: Codable { var dim: Int? }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = S2MConfiguration()
        ditType = try c.decodeIfPresent(String.self, forKey: .ditType) ?? d.ditType
        styleDim = try c.decodeIfPresent(StyleEncoder.self, forKey: .styleEncoder)?.dim ?? d.styleDim
        lengthRegulator = try c.decodeIfPresent(LengthRegulator.self, forKey: .lengthRegulator) ?? d.lengthRegulator
        dit = try c.decodeIfPresent(DiT.self, forKey: .dit) ?? d.dit
        wavenet = try c.decodeIfPresent(WaveNet.self, forKey: .wavenet) ?? d.wavenet
        gptLayerWidths = try c.decodeIfPresent([Int].self, forKey: .gptLayerWidths) ?? d.gptLayerWidths
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ditType, forKey: .ditType)
        try c.encode(StyleEncoder(dim: styleDim), forKey: .styleEncoder)
        try c.encode(lengthRegulator, forKey: .lengthRegulator)
        try c.encode(dit, forKey: .dit)
        try c.encode(wavenet, forKey: .wavenet)
        try c.encode(gptLayerWidths, forKey: .gptLayerWidths)
    }

    public static let sectionName = "s2mel"

    /// The `s2mel` section of `document`, with ``usesGPTLayer`` for the file's generation (``ModelGeneration``).
    public static func read(_ document: ConfigYAMLDocument) throws -> S2MConfiguration {
        var configuration = try document.decodedSection(S2MConfiguration.self)
        configuration.usesGPTLayer = try document.generation() == .indexTTS2
        try configuration.validate(source: document.source)
        return configuration
    }

    /// Checks sizes and that the configuration selects the variant IndexTTS2 uses (the only one ported).
    public func validate(source: String = "config.yaml") throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: "s2mel." + field, reason: reason)
        }
        func unsupported(_ what: String) -> ModelError { .unsupported(component: "S2M", reason: what + " (IndexTTS2 does not use it)") }
        let limit = 1 << 16
        for (name, value) in [("style_encoder.dim", styleDim), ("length_regulator.channels", lengthRegulator.channels),
                              ("length_regulator.in_channels", lengthRegulator.inChannels),
                              ("length_regulator.content_codebook_size", lengthRegulator.contentCodebookSize),
                              ("DiT.hidden_dim", dit.hiddenDim), ("DiT.num_heads", dit.numHeads), ("DiT.depth", dit.depth),
                              ("DiT.in_channels", dit.inChannels), ("DiT.content_dim", dit.contentDim),
                              ("DiT.content_codebook_size", dit.contentCodebookSize), ("wavenet.hidden_dim", wavenet.hiddenDim),
                              ("wavenet.num_layers", wavenet.numLayers), ("wavenet.kernel_size", wavenet.kernelSize),
                              ("wavenet.dilation_rate", wavenet.dilationRate)] where value <= 0 || value > limit {
            throw fail(name, "must be in 1...\(limit), got \(value)")
        }
        if dit.hiddenDim % dit.numHeads != 0 || (dit.hiddenDim / dit.numHeads) % 2 != 0 {
            throw fail("DiT.num_heads", "hidden_dim \(dit.hiddenDim) must split into \(dit.numHeads) heads of even width (rotary pairs)")
        }
        if wavenet.kernelSize % 2 == 0 { throw fail("wavenet.kernel_size", "must be odd, got \(wavenet.kernelSize)") }
        // The largest dilation must not overflow: dilation_rate^(num_layers−1)·(kernel−1).
        var dilation = 1
        for _ in 1..<max(wavenet.numLayers, 1) {
            // Bounded before multiplying (a kernel of 1 makes the span 0 whatever the dilation, so the span alone
            // would let the dilation itself overflow).
            guard dilation <= limit / wavenet.dilationRate else {
                throw fail("wavenet.dilation_rate", "dilation grows beyond \(limit)")
            }
            dilation *= wavenet.dilationRate
            if dilation * (wavenet.kernelSize - 1) > limit { throw fail("wavenet.dilation_rate", "dilation grows beyond \(limit)") }
        }
        if dit.contentDim != lengthRegulator.channels {
            throw fail("DiT.content_dim", "\(dit.contentDim) differs from length_regulator.channels \(lengthRegulator.channels)")
        }
        if wavenet.hiddenDim != dit.hiddenDim {
            // FinalLayer's adaLN projects the DiT's timestep embedding with wavenet.hidden_dim inputs.
            throw fail("wavenet.hidden_dim", "\(wavenet.hiddenDim) differs from DiT.hidden_dim \(dit.hiddenDim)")
        }
        if wavenet.styleCondition != dit.styleCondition {
            throw fail("wavenet.style_condition", "differs from DiT.style_condition (upstream asserts they agree)")
        }
        guard !usesGPTLayer || gptLayerWidths.count >= 2 && gptLayerWidths.allSatisfy({ $0 > 0 && $0 <= limit })
                && gptLayerWidths.last == lengthRegulator.inChannels else {
            throw fail("gpt_layer_widths", "\(gptLayerWidths) must be positive and end at length_regulator.in_channels \(lengthRegulator.inChannels)")
        }
        if lengthRegulator.samplingRatios.isEmpty || lengthRegulator.samplingRatios.count > 64 {
            throw fail("length_regulator.sampling_ratios", "needs 1...64 entries (an empty list disables interpolation, unsupported)")
        }
        guard ditType == "DiT" else { throw ModelError.unsupported(component: "S2M", reason: "dit_type '\(ditType)' (only DiT)") }
        if lengthRegulator.isDiscrete { throw unsupported("length_regulator.is_discrete true") }
        if lengthRegulator.vectorQuantize { throw unsupported("length_regulator.vector_quantize true") }
        if lengthRegulator.f0Condition { throw unsupported("length_regulator.f0_condition true") }
        if dit.finalLayerType != "wavenet" { throw unsupported("DiT.final_layer_type '\(dit.finalLayerType)'") }
        if !dit.styleCondition { throw unsupported("DiT.style_condition false") }
        if dit.isCausal { throw unsupported("DiT.is_causal true") }
        if !dit.longSkipConnection { throw unsupported("DiT.long_skip_connection false") }
        if !dit.uvitSkipConnection { throw unsupported("DiT.uvit_skip_connection false") }
        if dit.timeAsToken { throw unsupported("DiT.time_as_token true") }
        if dit.styleAsToken { throw unsupported("DiT.style_as_token true") }
        if dit.zeroPromptSpeechToken { throw unsupported("DiT.zero_prompt_speech_token true") }
    }
}
