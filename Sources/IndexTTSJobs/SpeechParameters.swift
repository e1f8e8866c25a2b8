import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSText

/// Everything a synthesis request can ask for, in a form that can be stored in a job queue and read back by any
/// worker: audio clips are referenced by path (uploads are saved under the data folder first) or by voice-library
/// name. Field names follow IndexTTS2's `infer()` where it has one (`emo_alpha`, `emo_vector`, …) in JSON.
public struct SpeechParameters: Codable, Sendable, Equatable {
    public var text: String
    /// A built-in voice or a voice-library name.
    public var voice: String?
    /// A voice reference clip (timbre for IndexTTS2, prosody for the default voice).
    public var referenceAudioPath: String?
    /// Emotion preset, English id or Chinese label.
    public var emotion: String?
    /// IndexTTS2's 8 emotion weights.
    public var emotionVector: [Double]?
    /// Emotion described in words.
    public var emotionText: String?
    /// Emotion reference clip.
    public var emotionAudioPath: String?
    /// Strength of the preset, vector scale, or weight of the emotion clip, 0…1 (`emo_alpha`).
    public var emotionWeight: Double?
    public var speed: Double?
    public var seed: UInt64?
    /// Output format (`wav`, `mp3`, `opus`, `aac`, `flac`, `pcm`).
    public var format: AudioFormat?
    /// Sampling parameters of IndexTTS2's GPT (ignored by engines without one, which say so in their controls).
    public var sampling: SamplingParameters?
    /// With an emotion vector: pick the emotion-matrix rows at random (`use_random`).
    public var useRandom: Bool?
    /// How numbers, symbols and abbreviations are read: `corrected` (default) or `upstream` (IndexTTS2 byte for byte).
    public var readings: ReadingMode?
    /// The text's language (`lang`, IndexTTS-2.5: `zh`, `en`, `ja`, `es`, `ar`, …); absent lets the engine decide.
    public var language: String?
    /// Windowed streaming (`"stream": true`, or an object with `chunk_size`, `overlap_size`, `first_chunk_size`,
    /// `lookahead`): IndexTTS2 and IndexTTS-2.5 report each window's audio while the GPT still generates
    /// (``StreamingOptions``).
    public var stream: StreamingOptions?

    public init(text: String, voice: String? = nil, referenceAudioPath: String? = nil, emotion: String? = nil,
                emotionVector: [Double]? = nil, emotionText: String? = nil, emotionAudioPath: String? = nil,
                emotionWeight: Double? = nil, speed: Double? = nil, seed: UInt64? = nil, format: AudioFormat? = nil,
                sampling: SamplingParameters? = nil, useRandom: Bool? = nil) {
        self.text = text
        self.voice = voice
        self.referenceAudioPath = referenceAudioPath
        self.emotion = emotion
        self.emotionVector = emotionVector
        self.emotionText = emotionText
        self.emotionAudioPath = emotionAudioPath
        self.emotionWeight = emotionWeight
        self.speed = speed
        self.seed = seed
        self.format = format
        self.sampling = sampling
        self.useRandom = useRandom
    }

    enum CodingKeys: String, CodingKey {
        case text, voice
        case referenceAudioPath = "spk_audio_prompt"
        case emotion
        case emotionVector = "emo_vector"
        case emotionText = "emo_text"
        case emotionAudioPath = "emo_audio_prompt"
        case emotionWeight = "emo_alpha"
        case speed, seed, format, sampling
        case useRandom = "use_random"
        case readings
        case language = "lang"
        case stream
    }

    /// Checks what can be checked without touching files or engines; throws ``SynthesisError/invalidParameter``.
    public func validate(maxCharacters: Int) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw SynthesisError.emptyText }
        if trimmed.count > maxCharacters { throw SynthesisError.textTooLong(characters: trimmed.count, limit: maxCharacters) }
        // Emotion text (`emo_text`, OpenAI's `instructions`) is read by a model too: the same limit as the text.
        if let e = emotionText, e.count > maxCharacters {
            throw SynthesisError.invalidParameter(name: "emo_text", reason: "has \(e.count) characters; the limit is \(maxCharacters) (emo_text, or instructions on /v1/audio/speech)")
        }
        let emotions = [emotion != nil, emotionVector != nil, emotionText != nil, emotionAudioPath != nil].filter { $0 }.count
        if emotions > 1 {
            throw SynthesisError.invalidParameter(
                name: "emotion", reason: "give one of emotion, emo_vector, emo_text, emo_audio_prompt")
        }
        if let v = emotionVector {
            guard v.count == 8 else {
                throw SynthesisError.invalidParameter(name: "emo_vector", reason: "needs 8 weights (happy, angry, sad, afraid, disgusted, melancholic, surprised, calm), got \(v.count)")
            }
            guard v.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw SynthesisError.invalidParameter(name: "emo_vector", reason: "weights must be finite and ≥ 0")
            }
        }
        if let w = emotionWeight, !(w.isFinite && (0...1).contains(w)) {
            throw SynthesisError.invalidParameter(name: "emo_alpha", reason: "must be between 0 and 1, got \(w)")
        }
        if let s = speed, !(s.isFinite && SynthesisRequest.speedRange.contains(s)) {
            throw SynthesisError.invalidParameter(
                name: "speed", reason: "must be between \(SynthesisRequest.speedRange.lowerBound) and \(SynthesisRequest.speedRange.upperBound), got \(s)")
        }
        if let l = language, !SynthesisRequest.isLanguageCode(l) {
            throw SynthesisError.invalidParameter(
                name: "lang", reason: "a language code of letters (zh, en, ja, es, ar, …), got '\(l)'")
        }
        try sampling?.validate()
        try stream?.validate()
    }
}
