import Foundation

/// The IndexTTS model generation a `config.yaml` describes, from its top-level `version` (`2.0` or `2.5`; absent means
/// 2.0, as in IndexTTS2's first files). A generation is a set of choices for one engine, not a separate code path:
/// which speaker conditioning the GPT is built with, which codec turns its codes into S2M content, and at what rate.
public enum ModelGeneration: String, Sendable, CaseIterable, Codable {
    /// IndexTTS2 (`infer_v2`): 50 Hz MaskGCT codes, Conformer/Perceiver speaker latents, the GPT latent pass.
    case indexTTS2 = "2.0"
    /// IndexTTS-2.5 (`infer_v2_5`): 25 Hz `EnhancedCodec` codes, a CAMPPlus speaker token, language embeddings.
    case indexTTS25 = "2.5"

    /// The GPT's `spk_cond_mode` as the generation's inference code builds it.
    public var speakerConditioning: UnifiedVoiceConfiguration.SpeakerConditionMode {
        switch self {
        case .indexTTS2: .conformer
        case .indexTTS25: .campplus
        }
    }

    /// Semantic codes per second of speech (w2v-BERT features are 50 per second in both).
    public var codesPerSecond: Int {
        switch self {
        case .indexTTS2: 50
        case .indexTTS25: 25
        }
    }

    /// The generation a `version` value names: `2.0`/`2.5` as YAML numbers or strings (`2` too); nil for any other.
    public init?(version value: Any) {
        let text: String
        switch value {
        case let number as Double where (number * 10).rounded() == number * 10: text = String(format: "%.1f", number)
        case let number as Int: text = "\(number).0"
        case let string as String: text = string.trimmingCharacters(in: .whitespaces)
        default: return nil
        }
        guard let generation = ModelGeneration(rawValue: text) else { return nil }
        self = generation
    }
}

extension ConfigYAMLDocument {
    /// The generation the top-level `version` names (2.0 when there is none).
    /// - Throws: ``ModelError/invalidConfiguration(file:field:reason:)`` naming `version` for any other value.
    public func generation() throws -> ModelGeneration {
        guard let value = values?["version"] else { return .indexTTS2 }
        guard let generation = ModelGeneration(version: value) else {
            throw ModelError.invalidConfiguration(
                file: source, field: "version",
                reason: "'\(value)' is not a model generation this build runs (2.0 or 2.5)")
        }
        return generation
    }
}
