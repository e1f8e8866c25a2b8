import Foundation
import Yams

/// The `gpt` section of IndexTTS2's `config.yaml`, which sizes `UnifiedVoice` (model_v2.py). Keys keep their
/// upstream spelling. Three widths upstream hard-codes are fields here so tiny test models work: the conditioning
/// feature width (w2v-BERT 2.0 hidden size, 1024), the emotion perceiver width (1024) and the CAMPPlus embedding
/// width of the 2.5 speaker projection (192); official files omit them.
///
/// The speaker conditioning (`spk_cond_mode`) is a constructor argument upstream, chosen by the model generation
/// (`infer_v2` builds the Conformer mode, `infer_v2_5` the CAMPPlus mode): ``read(_:)`` takes it from the file's
/// top-level `version` (``ModelGeneration``) unless the section names it.
public struct UnifiedVoiceConfiguration: Codable, Sendable, Equatable, ConfigYAMLSection {
    /// `spk_cond_mode`: where the GPT's speaker prefix comes from.
    public enum SpeakerConditionMode: String, Codable, Sendable, CaseIterable {
        /// IndexTTS2 (2.0): w2v-BERT features → Conformer → Perceiver → 32 latents, then `speed_emb[1]`,
        /// `speed_emb[0]`; 34 prefix positions.
        case conformer
        /// IndexTTS-2.5: the CAMPPlus embedding → `spk_emb_proj` → one token, then two zero vectors; `lang_embedding`
        /// on every text position; 3 prefix positions.
        case campplus
    }

    /// `condition_module` / `emo_condition_module`: one Conformer encoder and its Perceiver resampler.
    public struct ConditionModule: Codable, Sendable, Equatable {
        public var outputSize: Int
        public var linearUnits: Int
        public var attentionHeads: Int
        public var numBlocks: Int
        public var inputLayer: String
        public var perceiverMult: Int

        enum CodingKeys: String, CodingKey {
            case outputSize = "output_size", linearUnits = "linear_units", attentionHeads = "attention_heads"
            case numBlocks = "num_blocks", inputLayer = "input_layer", perceiverMult = "perceiver_mult"
        }

        public init(outputSize: Int, linearUnits: Int, attentionHeads: Int, numBlocks: Int, inputLayer: String = "conv2d2",
                    perceiverMult: Int = 2) {
            self.outputSize = outputSize
            self.linearUnits = linearUnits
            self.attentionHeads = attentionHeads
            self.numBlocks = numBlocks
            self.inputLayer = inputLayer
            self.perceiverMult = perceiverMult
        }
    }

    public var modelDim: Int = 1280
    public var layers: Int = 24
    public var heads: Int = 20
    public var maxMelTokens: Int = 1815
    public var maxTextTokens: Int = 600
    public var numberTextTokens: Int = 12000
    public var numberMelCodes: Int = 8194
    public var startMelToken: Int = 8192
    public var stopMelToken: Int = 8193
    public var startTextToken: Int = 0
    public var stopTextToken: Int = 1
    public var useMelCodesAsInput: Bool = true
    public var conditionType: String = "conformer_perceiver"
    public var conditionModule = ConditionModule(outputSize: 512, linearUnits: 2048, attentionHeads: 8, numBlocks: 6)
    public var emoConditionModule = ConditionModule(outputSize: 512, linearUnits: 1024, attentionHeads: 4, numBlocks: 4)
    /// Width of the conditioning features (w2v-BERT 2.0 hidden states); not in official files.
    public var conditioningInputDim: Int = 1024
    /// Width of the emotion perceiver and of `emovec_layer`'s input; not in official files.
    public var emotionDim: Int = 1024
    /// Speaker latents of the perceiver (`condition_num_latent`, fixed at 32 by IndexTTS2).
    public var conditionNumLatent: Int = 32
    /// `spk_cond_mode` as the section gives it; nil (official files) leaves it to the file's `version` in
    /// ``read(_:)`` and means ``SpeakerConditionMode/conformer`` otherwise.
    public var spkCondMode: SpeakerConditionMode?
    /// Width of the CAMPPlus embedding `spk_emb_proj` reads (192 upstream); not in official files.
    public var speakerEmbeddingDim: Int = 192

    /// The speaker conditioning this configuration builds.
    public var speakerConditioning: SpeakerConditionMode { spkCondMode ?? .conformer }
    /// Rows of `lang_embedding` in the CAMPPlus mode: `len(LANGUAGE_DICT) + 1`, upstream's 106 Whisper language keys
    /// and one spare (fixed by upstream's tokenizer module).
    public static let languageRows = 107

    enum CodingKeys: String, CodingKey {
        case modelDim = "model_dim", layers, heads, maxMelTokens = "max_mel_tokens", maxTextTokens = "max_text_tokens"
        case numberTextTokens = "number_text_tokens", numberMelCodes = "number_mel_codes"
        case startMelToken = "start_mel_token", stopMelToken = "stop_mel_token"
        case startTextToken = "start_text_token", stopTextToken = "stop_text_token"
        case useMelCodesAsInput = "use_mel_codes_as_input", conditionType = "condition_type"
        case conditionModule = "condition_module", emoConditionModule = "emo_condition_module"
        case conditioningInputDim = "conditioning_input_dim", emotionDim = "emotion_dim"
        case conditionNumLatent = "condition_num_latent", spkCondMode = "spk_cond_mode"
        case speakerEmbeddingDim = "speaker_embedding_dim"
    }

    /// The IndexTTS2 defaults (official config.yaml, version 2.0).
    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = UnifiedVoiceConfiguration()
        modelDim = try c.decodeIfPresent(Int.self, forKey: .modelDim) ?? d.modelDim
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        maxMelTokens = try c.decodeIfPresent(Int.self, forKey: .maxMelTokens) ?? d.maxMelTokens
        maxTextTokens = try c.decodeIfPresent(Int.self, forKey: .maxTextTokens) ?? d.maxTextTokens
        numberTextTokens = try c.decodeIfPresent(Int.self, forKey: .numberTextTokens) ?? d.numberTextTokens
        numberMelCodes = try c.decodeIfPresent(Int.self, forKey: .numberMelCodes) ?? d.numberMelCodes
        startMelToken = try c.decodeIfPresent(Int.self, forKey: .startMelToken) ?? d.startMelToken
        stopMelToken = try c.decodeIfPresent(Int.self, forKey: .stopMelToken) ?? d.stopMelToken
        startTextToken = try c.decodeIfPresent(Int.self, forKey: .startTextToken) ?? d.startTextToken
        stopTextToken = try c.decodeIfPresent(Int.self, forKey: .stopTextToken) ?? d.stopTextToken
        useMelCodesAsInput = try c.decodeIfPresent(Bool.self, forKey: .useMelCodesAsInput) ?? d.useMelCodesAsInput
        conditionType = try c.decodeIfPresent(String.self, forKey: .conditionType) ?? d.conditionType
        conditionModule = try c.decodeIfPresent(ConditionModule.self, forKey: .conditionModule) ?? d.conditionModule
        emoConditionModule = try c.decodeIfPresent(ConditionModule.self, forKey: .emoConditionModule) ?? d.emoConditionModule
        conditioningInputDim = try c.decodeIfPresent(Int.self, forKey: .conditioningInputDim) ?? d.conditioningInputDim
        emotionDim = try c.decodeIfPresent(Int.self, forKey: .emotionDim) ?? d.emotionDim
        conditionNumLatent = try c.decodeIfPresent(Int.self, forKey: .conditionNumLatent) ?? d.conditionNumLatent
        spkCondMode = try c.decodeIfPresent(SpeakerConditionMode.self, forKey: .spkCondMode)
        speakerEmbeddingDim = try c.decodeIfPresent(Int.self, forKey: .speakerEmbeddingDim) ?? d.speakerEmbeddingDim
    }

    /// The `gpt` section of `document`, with the speaker conditioning of the file's generation (``ModelGeneration``)
    /// where the section does not name one.
    public static func read(_ document: ConfigYAMLDocument) throws -> UnifiedVoiceConfiguration {
        var configuration = try document.decodedSection(UnifiedVoiceConfiguration.self)
        if configuration.spkCondMode == nil { configuration.spkCondMode = try document.generation().speakerConditioning }
        try configuration.validate(source: document.source)
        return configuration
    }

    /// The GPT-2 core's dimensions.
    public var gpt2: GPT2Configuration { GPT2Configuration(modelDimension: modelDim, layers: layers, heads: heads) }
    /// Rows of `text_embedding` (`number_text_tokens + 1`).
    public var textVocabulary: Int { numberTextTokens + 1 }
    /// Rows of `text_pos_embedding` (`max_text_tokens + 2`).
    public var textPositions: Int { maxTextTokens + 2 }
    /// Rows of `mel_pos_embedding` (`max_mel_tokens + 2 + max_conditioning_inputs`).
    public var melPositions: Int { maxMelTokens + 3 }

    public static let sectionName = "gpt"
    /// Largest size any field may give (the largest official one is IndexTTS-2.5's 60,509 text tokens): a bound
    /// before anything is allocated from it.
    static let sizeLimit = 1 << 16

    /// Checks what this port supports and that the sizes are consistent.
    public func validate(source: String = "config.yaml") throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: "gpt." + field, reason: reason)
        }
        for (name, value) in [("model_dim", modelDim), ("layers", layers), ("heads", heads), ("max_mel_tokens", maxMelTokens),
                              ("max_text_tokens", maxTextTokens), ("number_text_tokens", numberTextTokens),
                              ("number_mel_codes", numberMelCodes), ("conditioning_input_dim", conditioningInputDim),
                              ("emotion_dim", emotionDim), ("condition_num_latent", conditionNumLatent),
                              ("speaker_embedding_dim", speakerEmbeddingDim)]
        where value <= 0 || value > Self.sizeLimit {
            throw fail(name, "must be in 1...\(Self.sizeLimit), got \(value)")
        }
        for (prefix, module) in [("condition_module", conditionModule), ("emo_condition_module", emoConditionModule)] {
            for (name, value) in [("output_size", module.outputSize), ("linear_units", module.linearUnits),
                                  ("attention_heads", module.attentionHeads), ("num_blocks", module.numBlocks),
                                  ("perceiver_mult", module.perceiverMult)] where value <= 0 || value > Self.sizeLimit {
                throw fail(prefix + "." + name, "must be in 1...\(Self.sizeLimit), got \(value)")
            }
        }
        if modelDim % heads != 0 { throw fail("heads", "model_dim \(modelDim) is not divisible by \(heads) heads") }
        for (name, value) in [("start_mel_token", startMelToken), ("stop_mel_token", stopMelToken)]
        where value < 0 || value >= numberMelCodes {
            throw fail(name, "\(value) is outside the \(numberMelCodes) mel codes")
        }
        // The CAMPPlus mode builds no speaker encoder, whatever `condition_type` says (2.5's file keeps 2.0's value).
        guard conditionType == "conformer_perceiver" || speakerConditioning == .campplus else {
            throw ModelError.unsupported(component: "UnifiedVoice",
                                         reason: "condition_type '\(conditionType)' (IndexTTS2 uses conformer_perceiver)")
        }
        guard useMelCodesAsInput else {
            throw ModelError.unsupported(component: "UnifiedVoice", reason: "use_mel_codes_as_input false (IndexTTS2 uses true)")
        }
        for (name, module) in [("condition_module", conditionModule), ("emo_condition_module", emoConditionModule)] {
            guard module.inputLayer == "conv2d2" else {
                throw ModelError.unsupported(component: "UnifiedVoice", reason: "\(name).input_layer '\(module.inputLayer)' (IndexTTS2 uses conv2d2)")
            }
            if module.outputSize % module.attentionHeads != 0 {
                throw fail(name + ".attention_heads", "output_size \(module.outputSize) is not divisible by \(module.attentionHeads)")
            }
            if conditioningInputDim < 3 { throw fail("conditioning_input_dim", "needs at least 3 features for the 3×3 subsampling") }
        }
    }
}
