import Foundation

/// IndexTTS2's generation settings as `infer()` names them — the GPT's sampling (`do_sample`, `top_p`, `top_k`,
/// `temperature`, `num_beams`, `repetition_penalty`, `length_penalty`, `max_mel_tokens`), the S2M's
/// (`diffusion_steps`, `inference_cfg_rate`) and the segmentation (`max_text_tokens_per_segment`,
/// `interval_silence`). One type from the API and the queue to the decoder: every field is optional and the engine's
/// defaults (upstream's) apply where it is absent. Engines without a GPT ignore it and say so in their applied
/// controls.
public struct SamplingParameters: Codable, Sendable, Equatable {
    public var doSample: Bool?
    public var topP: Double?
    public var topK: Int?
    public var temperature: Double?
    public var numBeams: Int?
    public var repetitionPenalty: Double?
    public var lengthPenalty: Double?
    public var maxMelTokens: Int?
    public var diffusionSteps: Int?
    public var inferenceCfgRate: Double?
    public var maxTextTokensPerSegment: Int?
    /// Milliseconds of silence between segments.
    public var intervalSilence: Int?

    public init(doSample: Bool? = nil, topP: Double? = nil, topK: Int? = nil, temperature: Double? = nil,
                numBeams: Int? = nil, repetitionPenalty: Double? = nil, lengthPenalty: Double? = nil,
                maxMelTokens: Int? = nil, diffusionSteps: Int? = nil, inferenceCfgRate: Double? = nil,
                maxTextTokensPerSegment: Int? = nil, intervalSilence: Int? = nil) {
        self.doSample = doSample
        self.topP = topP
        self.topK = topK
        self.temperature = temperature
        self.numBeams = numBeams
        self.repetitionPenalty = repetitionPenalty
        self.lengthPenalty = lengthPenalty
        self.maxMelTokens = maxMelTokens
        self.diffusionSteps = diffusionSteps
        self.inferenceCfgRate = inferenceCfgRate
        self.maxTextTokensPerSegment = maxTextTokensPerSegment
        self.intervalSilence = intervalSilence
    }

    /// The JSON (and form) field names: upstream's keyword arguments.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case doSample = "do_sample"
        case topP = "top_p"
        case topK = "top_k"
        case temperature
        case numBeams = "num_beams"
        case repetitionPenalty = "repetition_penalty"
        case lengthPenalty = "length_penalty"
        case maxMelTokens = "max_mel_tokens"
        case diffusionSteps = "diffusion_steps"
        case inferenceCfgRate = "inference_cfg_rate"
        case maxTextTokensPerSegment = "max_text_tokens_per_segment"
        case intervalSilence = "interval_silence"
    }

    public var isEmpty: Bool { self == SamplingParameters() }

    /// `other`'s fields where it has them, this one's elsewhere.
    public func overridden(by other: SamplingParameters) -> SamplingParameters {
        SamplingParameters(doSample: other.doSample ?? doSample, topP: other.topP ?? topP, topK: other.topK ?? topK,
                           temperature: other.temperature ?? temperature, numBeams: other.numBeams ?? numBeams,
                           repetitionPenalty: other.repetitionPenalty ?? repetitionPenalty,
                           lengthPenalty: other.lengthPenalty ?? lengthPenalty,
                           maxMelTokens: other.maxMelTokens ?? maxMelTokens,
                           diffusionSteps: other.diffusionSteps ?? diffusionSteps,
                           inferenceCfgRate: other.inferenceCfgRate ?? inferenceCfgRate,
                           maxTextTokensPerSegment: other.maxTextTokensPerSegment ?? maxTextTokensPerSegment,
                           intervalSilence: other.intervalSilence ?? intervalSilence)
    }

    /// Range checks; throws ``SynthesisError/invalidParameter(name:reason:)`` naming the field as the API spells it.
    public func validate() throws {
        func bad(_ key: CodingKeys, _ reason: String) -> SynthesisError { .invalidParameter(name: key.rawValue, reason: reason) }
        if let p = topP, !(p > 0 && p <= 1) { throw bad(.topP, "must be in (0, 1], got \(p)") }
        if let k = topK, k < 0 { throw bad(.topK, "must be ≥ 0, got \(k)") }
        if let t = temperature, !(t.isFinite && t > 0 && t <= 10) { throw bad(.temperature, "must be in (0, 10], got \(t)") }
        if let b = numBeams, !(1...16).contains(b) { throw bad(.numBeams, "must be 1…16, got \(b)") }
        if let r = repetitionPenalty, !(r.isFinite && r > 0) { throw bad(.repetitionPenalty, "must be > 0, got \(r)") }
        if let l = lengthPenalty, !(l.isFinite && abs(l) <= 10) { throw bad(.lengthPenalty, "must be in [−10, 10], got \(l)") }
        if let m = maxMelTokens, !(1...8192).contains(m) { throw bad(.maxMelTokens, "must be 1…8192, got \(m)") }
        if let d = diffusionSteps, !(1...200).contains(d) { throw bad(.diffusionSteps, "must be 1…200, got \(d)") }
        if let c = inferenceCfgRate, !(c.isFinite && c >= 0 && c <= 10) { throw bad(.inferenceCfgRate, "must be in [0, 10], got \(c)") }
        if let n = maxTextTokensPerSegment, !(1...600).contains(n) { throw bad(.maxTextTokensPerSegment, "must be 1…600, got \(n)") }
        if let s = intervalSilence, !(0...10_000).contains(s) { throw bad(.intervalSilence, "must be 0…10000 ms, got \(s)") }
    }
}
