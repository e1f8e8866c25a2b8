import Foundation
import IndexTTSText

/// What every synthesis engine offers (the embedded default voice today, IndexTTS2 when its weights are present):
/// the CLI, the server and the job queue talk only to this protocol. Engines are immutable after load and safe to
/// share; all per-request state lives in the call.
public protocol SpeechEngine: Sendable {
    var info: EngineInfo { get }
    /// Synthesises `request`, reporting progress per segment; throws ``SynthesisError`` for bad requests.
    func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult
    /// How the engine's front end will read `text`.
    func preview(_ text: String) -> TextPreview
    /// How the engine's front end will read `text` in `readings` mode (nil: the engine's default), as
    /// ``SynthesisRequest/readings`` selects it. Engines without a reading layer ignore the mode.
    func preview(_ text: String, readings: ReadingMode?) -> TextPreview
    /// The preview for a text in `language` (``SynthesisRequest/language``; engines without one ignore it).
    func preview(_ text: String, readings: ReadingMode?, language: String?) -> TextPreview
    /// Checks a request's controls (voice, emotion, speed, clips) without synthesising, so that queues can refuse a
    /// bad request at submission instead of failing it later.
    func validate(_ request: SynthesisRequest) throws
    /// Analyses a voice clip (samples in [−1, 1], any rate) into what the engine conditions on, once per voice: the
    /// voice library stores the result and requests carry it back in ``SynthesisRequest/voiceConditioning``.
    /// - Throws: ``SynthesisError`` for clips the engine cannot use (silent, too short).
    func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning
    /// Identifies the weights this engine runs (``VoiceConditioning/model``); conditioning made with other weights
    /// is not used.
    var modelFingerprint: String { get }
    /// For engines whose concurrent requests share decoding passes over their weights (IndexTTS2's GPT): the
    /// decoding steps handed in and the passes that ran them since load; nil for engines without.
    var sharedDecoding: SharedDecodingCounts? { get }
}

/// Decoding steps of concurrent requests and the passes over the weights that ran them (``SpeechEngine/sharedDecoding``).
public struct SharedDecodingCounts: Sendable, Equatable {
    /// Steps handed in (one per request and generated code).
    public var steps: Int
    /// Passes over the weights (steps / passes is the mean number of requests per pass).
    public var passes: Int

    public init(steps: Int, passes: Int) {
        self.steps = steps
        self.passes = passes
    }
}

extension SpeechEngine {
    public var sharedDecoding: SharedDecodingCounts? { nil }

    public func preview(_ text: String, readings: ReadingMode?) -> TextPreview { preview(text) }

    public func preview(_ text: String, readings: ReadingMode?, language: String?) -> TextPreview {
        preview(text, readings: readings)
    }

    public func synthesize(_ request: SynthesisRequest) throws -> SynthesisResult {
        try synthesize(request, progress: { _ in })
    }
}

/// Describes an engine to users and API clients.
public struct EngineInfo: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var sampleRate: Int
    public var voices: [String]
    /// Licence terms users must see (for example the default voice's non-commercial data licence).
    public var licence: String
    /// True when a reference clip clones the timbre (IndexTTS2); false when it only transfers prosody.
    public var clonesTimbre: Bool
    /// Named emotion presets the engine accepts (`emotion`), for pickers.
    public var presets: [Preset]
    /// The languages a picker offers for `lang` (IndexTTS-2.5: those of upstream's WebUI), lower case; the engine
    /// also takes other codes, and guesses from the text without one. nil: the engine reads the language from the
    /// text and ignores `lang`.
    public var languages: [String]?

    public struct Preset: Sendable, Codable, Equatable {
        public var id: String
        public var label: String
        public var summary: String

        public init(id: String, label: String, summary: String) {
            self.id = id
            self.label = label
            self.summary = summary
        }
    }

    public init(id: String, name: String, sampleRate: Int, voices: [String], licence: String, clonesTimbre: Bool,
                presets: [Preset] = [], languages: [String]? = nil) {
        self.id = id
        self.name = name
        self.sampleRate = sampleRate
        self.voices = voices
        self.licence = licence
        self.clonesTimbre = clonesTimbre
        self.presets = presets
        self.languages = languages
    }
}

/// The emotion controls IndexTTS2 offers; engines map what they can (the default voice maps presets and clips onto
/// pitch, energy and duration).
public enum EmotionControl: Sendable, Codable, Equatable {
    /// Same as the voice reference.
    case none
    /// A named preset (平静/calm, 愉快/happy, …), with strength 0…1.
    case preset(String, strength: Double)
    /// IndexTTS2's 8 weights: happy, angry, sad, afraid, disgusted, melancholic, surprised, calm.
    case vector([Double])
    /// An emotion reference clip and its weight.
    case referenceAudio(samples: [Float], sampleRate: Int, weight: Double)
    /// A free-text description (IndexTTS2: read by QwenEmotion into the 8 weights; empty means the text being
    /// spoken, as upstream's `use_emo_text` without `emo_text`).
    case text(String)
}

/// One synthesis request.
public struct SynthesisRequest: Sendable {
    public var text: String
    public var voice: String?
    /// A voice reference clip (timbre for IndexTTS2, prosody for the default voice).
    public var referenceAudio: (samples: [Float], sampleRate: Int)?
    /// The prosody of ``referenceAudio`` measured earlier (a voice-library voice); engines that condition on prosody
    /// use it instead of analysing the clip again.
    public var referenceProsody: ProsodyTransfer.Measurement?
    /// What ``SpeechEngine/analyzeVoice(samples:sampleRate:)`` made from ``referenceAudio`` earlier (a library
    /// voice). An engine uses it when it matches its ``EngineInfo/id`` and ``SpeechEngine/modelFingerprint`` and
    /// analyses ``referenceAudio`` otherwise.
    public var voiceConditioning: VoiceConditioning?
    /// Generation settings (IndexTTS2's `infer()` keywords); absent fields take the engine's defaults.
    public var sampling = SamplingParameters()
    /// With an emotion vector: choose the emotion-matrix rows at random instead of by speaker similarity
    /// (`use_random`).
    public var emotionUseRandom = false
    /// With ``EmotionControl/text(_:)``: the scale of the vector the description yields (`emo_alpha`, 0…1).
    public var emotionTextWeight: Double = 1
    /// How numbers, symbols and abbreviations are read (engines with IndexTTS2's front end): nil is the engine's
    /// default (``ReadingMode/corrected``); ``ReadingMode/upstream`` reproduces IndexTTS2's own reading byte for byte.
    public var readings: ReadingMode? = nil
    /// The text's language for engines that take one (IndexTTS-2.5's `lang`: `zh`, `en`, `ja`, `es`, `ar`, any
    /// Whisper code); nil lets the engine decide (IndexTTS-2.5 guesses from the script). Others ignore it.
    public var language: String? = nil

    /// Whether `code` can be a language code: 1–16 ASCII letters (either case: upstream lower-cases them), `-` or `/`
    /// (`zh`, `EN`, `yue`, `zh/en`).
    public static func isLanguageCode(_ code: String) -> Bool {
        !code.isEmpty && code.count <= 16
            && code.lowercased().unicodeScalars.allSatisfy { ("a"..."z").contains($0) || $0 == "-" || $0 == "/" }
    }
    public var emotion: EmotionControl = .none
    /// 1 is normal; larger is faster.
    public var speed: Double = 1
    public var seed: UInt64?
    /// Polled between segments (IndexTTS2: also after every GPT decoding step); when it returns true the engine stops
    /// and throws ``SynthesisError/cancelled``.
    public var isCancelled: (@Sendable () -> Bool)?
    /// Windowed streaming (``StreamingOptions``): progress reports carry each window's audio as soon as it exists,
    /// while the GPT still generates. nil (or disabled) synthesises and reports whole segments. Engines without a GPT
    /// ignore it.
    public var streaming: StreamingOptions? = nil

    /// Speeds an engine accepts (OpenAI's `speed` range).
    public static let speedRange: ClosedRange<Double> = 0.25...4.0

    public init(text: String, voice: String? = nil, emotion: EmotionControl = .none, speed: Double = 1, seed: UInt64? = nil) {
        self.text = text
        self.voice = voice
        self.emotion = emotion
        self.speed = speed
        self.seed = seed
    }
}

/// Progress of a long synthesis, reported after each segment (or, with ``SynthesisRequest/streaming``, each window)
/// with the audio it added (streaming servers send ``chunk`` at once; its concatenation over all reports equals the
/// result's samples).
public struct SynthesisProgress: Sendable {
    public var completedSegments: Int
    public var totalSegments: Int
    public var audioSeconds: Double
    /// Samples appended since the previous report (the segment's speech and the pause after it).
    public var chunk: [Float]

    public init(completedSegments: Int, totalSegments: Int, audioSeconds: Double, chunk: [Float] = []) {
        self.completedSegments = completedSegments
        self.totalSegments = totalSegments
        self.audioSeconds = audioSeconds
        self.chunk = chunk
    }
}

/// Wall time of one pipeline stage.
public struct StageTiming: Sendable, Codable, Equatable {
    public var stage: String
    public var seconds: Double

    public init(stage: String, seconds: Double) {
        self.stage = stage
        self.seconds = seconds
    }
}

/// Audio and how it was made.
public struct SynthesisResult: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    /// Per stage, summed over segments, in pipeline order.
    public var timings: [StageTiming]
    public var segments: Int
    /// Wall time to the first segment's audio.
    public var timeToFirstAudio: Double
    public var totalSeconds: Double
    /// The controls actually applied (for example the prosody an emotion preset mapped to), for headers and logs.
    public var appliedControls: [String: String]
    /// Semantic codes the GPT generated, summed over segments (IndexTTS2: 50 per second of speech; IndexTTS-2.5: 25);
    /// nil for engines without a GPT. The server's usage counts them as output tokens.
    public var semanticCodes: Int? = nil

    public init(samples: [Float], sampleRate: Int, timings: [StageTiming], segments: Int, timeToFirstAudio: Double,
                totalSeconds: Double, appliedControls: [String: String]) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.timings = timings
        self.segments = segments
        self.timeToFirstAudio = timeToFirstAudio
        self.totalSeconds = totalSeconds
        self.appliedControls = appliedControls
    }

    public var audioSeconds: Double { Double(samples.count) / Double(sampleRate) }
    /// Real-time factor: processing time / audio duration.
    public var realTimeFactor: Double { audioSeconds > 0 ? totalSeconds / audioSeconds : 0 }
}

/// Problems with a request, named so that the CLI and the server can say exactly what to fix.
public enum SynthesisError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyText
    case textTooLong(characters: Int, limit: Int)
    case unknownVoice(String, available: [String])
    case invalidParameter(name: String, reason: String)
    case unsupported(String)
    case modelsMissing(String)
    /// The request's ``SynthesisRequest/isCancelled`` said stop.
    case cancelled
    /// The synthesis ran longer than the time limit of its surface (the server's `--request-timeout`, a job's
    /// `--job-timeout`) and was stopped at the engine's next cancellation check.
    case timedOut(limitSeconds: Double)

    public var description: String {
        switch self {
        case .emptyText: return "the text is empty (nothing to read after normalisation)"
        case .textTooLong(let n, let limit): return "the text has \(n) characters; the limit is \(limit)"
        case .unknownVoice(let v, let available): return "unknown voice '\(v)'; available: \(available.joined(separator: ", "))"
        case .invalidParameter(let name, let reason): return "\(name): \(reason)"
        case .unsupported(let what): return "not supported: \(what)"
        case .modelsMissing(let what): return what
        case .cancelled: return "the synthesis was cancelled"
        case .timedOut(let limit):
            return "the synthesis took longer than the limit of \(String(format: "%g", limit)) s and was stopped; shorten the text or queue it as a job"
        }
    }
}

/// How an engine will read a text, for previews before synthesis (`indextts text`, `GET /v1/text/preview`).
public struct TextPreview: Sendable, Codable, Equatable {
    public struct Segment: Sendable, Codable, Equatable {
        public var text: String
        /// Readings (tone digits, 5 = neutral) where the engine reads Chinese.
        public var pinyin: [String]?
        /// The engine's input symbols (phones or BPE pieces).
        public var symbols: [String]
        /// Characters the front end could not read.
        public var unread: [String]
        /// Silence after the segment.
        public var pauseSeconds: Double

        public init(text: String, pinyin: [String]?, symbols: [String], unread: [String], pauseSeconds: Double) {
            self.text = text
            self.pinyin = pinyin
            self.symbols = symbols
            self.unread = unread
            self.pauseSeconds = pauseSeconds
        }

        enum CodingKeys: String, CodingKey {
            case text, pinyin, symbols, unread
            case pauseSeconds = "pause_seconds"
        }
    }

    public var text: String
    public var normalized: String
    public var segments: [Segment]
    /// The reading mode the preview used (`corrected`, `upstream`); nil for engines without a reading layer.
    public var readings: String?
    /// The route the front end took (`zh`, `en`), where it routes.
    public var language: String?
    /// The spans the reading layer read, each with the rule that read it (`zh.fraction`, `en.currency`, …) and its
    /// character offset in the text the layer read (after annotations are set aside and the glossary applied).
    public var spans: [ReadingSpan]?
    /// The user's overrides, applied before any rule: `<字|读音>` annotations (`user.annotation`) and glossary terms
    /// (`user.glossary`), with character offsets into ``text``.
    public var overrides: [ReadingSpan]?

    public init(text: String, normalized: String, segments: [Segment]) {
        self.text = text
        self.normalized = normalized
        self.segments = segments
    }

    /// Records what the front end did (``IndexTTSTextNormalizer/normalizeExplained(_:)`` or
    /// ``MandarinFrontEnd/normalizeExplained(_:)``) in `readings` mode.
    public mutating func explain(_ normalized: IndexTTSTextNormalizer.Normalized, readings: ReadingMode) {
        self.readings = readings.rawValue
        language = normalized.language.rawValue
        spans = normalized.spans
        overrides = normalized.overrides
    }
}
