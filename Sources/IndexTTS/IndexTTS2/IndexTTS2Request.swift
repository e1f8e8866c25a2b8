import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText

/// The sampling and S2M parameters `IndexTTS2.infer` takes, with upstream's defaults (ee40fa7 `infer_generator`).
/// Upstream hard-wires `do_sample=True`; here it is a field whose default is upstream's value.
public struct IndexTTS2Sampling: Sendable, Equatable, Codable {
    public var doSample = true
    public var topP: Float = 0.8
    public var topK = 30
    public var temperature: Float = 0.8
    public var numBeams = 3
    public var repetitionPenalty: Float = 10
    public var lengthPenalty: Float = 0
    public var maxMelTokens = 1500
    /// No stop code before this many codes (`min_new_tokens`; = `maxMelTokens` forces a fixed count, for benchmarks).
    public var minMelTokens = 0
    /// CFM Euler steps (upstream hard-codes 25) and classifier-free guidance rate (0.7).
    public var diffusionSteps = 25
    public var inferenceCfgRate: Double = 0.7
    /// Seed of the code sampler and, when no start noise is supplied, of the CFM noise (not torch's streams).
    public var seed: UInt64 = 0

    public init() {}

    /// These settings with the fields `overrides` sets (the API's and the queue's ``SamplingParameters``).
    public func applying(_ overrides: SamplingParameters) -> IndexTTS2Sampling {
        var s = self
        if let v = overrides.doSample { s.doSample = v }
        if let v = overrides.topP { s.topP = Float(v) }
        if let v = overrides.topK { s.topK = v }
        if let v = overrides.temperature { s.temperature = Float(v) }
        if let v = overrides.numBeams { s.numBeams = v }
        if let v = overrides.repetitionPenalty { s.repetitionPenalty = Float(v) }
        if let v = overrides.lengthPenalty { s.lengthPenalty = Float(v) }
        if let v = overrides.maxMelTokens { s.maxMelTokens = v }
        if let v = overrides.diffusionSteps { s.diffusionSteps = v }
        if let v = overrides.inferenceCfgRate { s.inferenceCfgRate = v }
        return s
    }

    var generationOptions: GenerationOptions {
        var o = GenerationOptions()
        o.doSample = doSample
        o.topP = topP
        o.topK = topK
        o.temperature = temperature
        o.numBeams = numBeams
        o.repetitionPenalty = repetitionPenalty
        o.lengthPenalty = lengthPenalty
        o.maxNewTokens = maxMelTokens
        o.minNewTokens = minMelTokens
        return o
    }
}

/// A mono clip as decoded from a file (samples in [−1, 1] at the file's rate).
public struct IndexTTS2Clip: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Decodes a file (channels averaged, as `librosa.load`).
    public static func load(path: String) throws -> IndexTTS2Clip {
        let decoded = try AudioDecoder.decode(path: path)
        return IndexTTS2Clip(samples: decoded.samples, sampleRate: decoded.sampleRate)
    }

    /// `_load_and_cut_audio(path, 15, sr=rate)`: `librosa.load` at `rate` (soxr HQ when the file's rate differs), then
    /// the first 15 s.
    func librosaLoad(rate: Int, maxSeconds: Double = 15) throws -> [Float] {
        var audio = sampleRate == rate ? samples : try SoxrResampler.resample(samples, from: sampleRate, to: rate)
        let limit = Int(maxSeconds * Double(rate))
        if audio.count > limit { audio = Array(audio[..<limit]) }
        return audio
    }
}

/// How the emotion is chosen (`infer`'s `emo_audio_prompt`, `emo_alpha`, `emo_vector`, `use_random`).
public enum IndexTTS2Emotion: Sendable {
    /// The speaker clip is the emotion reference (`emo_alpha` forced to 1, as upstream does).
    case sameAsSpeaker
    /// An emotion clip blended with the speaker's own emotion by `alpha`.
    case clip(IndexTTS2Clip, alpha: Float)
    /// Eight weights (happy, angry, sad, afraid, disgusted, melancholic, surprised, calm), scaled by `alpha` as
    /// upstream does; rows chosen by speaker similarity, or at random with `useRandom`.
    case vector([Double], alpha: Double, useRandom: Bool)
}

/// One `infer` call.
public struct IndexTTS2Request: Sendable {
    public var text: String
    public var speaker: IndexTTS2Clip
    public var emotion: IndexTTS2Emotion = .sameAsSpeaker
    public var sampling = IndexTTS2Sampling()
    public var maxTextTokensPerSegment = 120
    /// Milliseconds of silence between segments (`interval_silence`).
    public var intervalSilence = 200
    /// CFM start noise per segment (`[1, mels, prompt + generated frames]`, as `torch.randn` drew it); segments
    /// without one use ``IndexTTS2Sampling/seed``.
    public var cfmNoise: [Int: Tensor] = [:]
    /// Keep every intermediate under upstream's names (``IndexTTS2Output/stages``).
    public var recordStages = false
    /// Polled before each segment; when it returns true the pipeline throws ``IndexTTS2Error/cancelled``.
    public var isCancelled: (@Sendable () -> Bool)? = nil
    /// Already segmented BPE pieces: when set, ``text`` is not read and the text front end is skipped (parity runs
    /// without the normalisation grammars).
    public var segmentTokens: [[String]]? = nil
    /// IndexTTS-2.5: already tokenised segments (ids with the language prefix and the closing 1, as upstream's
    /// `text_tokens`); when set, ``text`` is not read. Ignored by 2.0 models.
    public var segmentIDs: [[Int]]? = nil
    /// IndexTTS-2.5's `lang` (`zh`, `en`, `ja`, `es`, `ar`, any Whisper code; others embed as `common`): the
    /// `<|lang|> ` text prefix, the language embedding and the front end's rules. Nil guesses it from the text
    /// (``IndexTTS25FrontEnd/guessLanguage(_:)``). Ignored by 2.0 models.
    public var language: String? = nil
    /// The speaker's conditioning computed earlier (``IndexTTS2Pipeline/analyzeSpeaker(_:record:)``, a stored voice):
    /// when set, ``speaker`` is not read and no speaker analysis runs.
    public var speakerConditioning: IndexTTS2SpeakerConditioning? = nil
    /// The text front end's reading mode for this request; nil keeps the loaded normaliser's (``normalizer``).
    public var readings: ReadingMode? = nil
    /// Our extension for 2.0, IndexTTS-2.5's `duration_factor`: the S2M target length of each segment is
    /// `int(codes × 1.72 × durationFactor)` instead of `int(codes × 1.72)` (the GPT, its codes and the reference
    /// prompt are untouched). 1 is upstream 2.0 exactly; 0.5 is twice as fast. Must be in (0, 8].
    public var durationFactor: Double = 1
    /// Called as each stage's value is ready, with its upstream name (as in ``IndexTTS2Output/stages``; segment k > 0
    /// with `@k`), whether or not stages are recorded: timestamps between calls time the stages (`indextts bench e2e`).
    public var stageFinished: (@Sendable (String) -> Void)? = nil
    /// Windowed streaming (nil or disabled: whole segments). Each segment's GPT runs on a thread of its own and
    /// hands over windows of codes with its hidden states (standing in for the latent pass, as upstream's TensorRT
    /// streaming does; with beams, the running best beam's); windows are rendered and cross-faded while it continues,
    /// and progress reports each window's final audio. A segment's ``cfmNoise`` is cut per window (prompt columns,
    /// then the window's frames from `int(start·1.72·df)`), so it must cover the whole segment's frames.
    public var streaming: StreamingOptions? = nil

    public init(text: String, speaker: IndexTTS2Clip) {
        self.text = text
        self.speaker = speaker
    }
}

/// What one segment produced.
public struct IndexTTS2Segment: Sendable, Equatable {
    /// 2.0: the segment's BPE pieces; 2.5: the segment's text (one element; none when the request gave
    /// ``IndexTTS2Request/segmentIDs``).
    public var textTokens: [String]
    public var codes: [Int]
    public var stop: GenerationStop
    /// Positions the latent pass ran through the GPT: the codes alone when it continued after the prompt generation
    /// cached (the usual case), the prompt, the codes and two markers when it ran whole; 0 when streamed (generation's
    /// hidden states stand in for it).
    public var latentPositions: Int = 0
}

/// The result: 22,050 Hz samples in int16 range (as upstream's `wav` before `save_pcm_wav`).
public struct IndexTTS2Output: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    public var segments: [IndexTTS2Segment]
    /// Upstream's warnings: unknown text tokens, and (once) the max-length warning when a segment ended without the
    /// stop code.
    public var warnings: [String]
    /// Intermediates under upstream's variable names; segment k > 0 carries the suffix `@k` (empty unless asked).
    public var stages: [String: Tensor]
    /// Wall time per stage, summed over segments, in pipeline order (``IndexTTS2Pipeline/stageNames``); stages that
    /// did not run (speaker analysis when the conditioning was given) are absent.
    public var timings: [StageTiming] = []
    /// Seconds from the call to the first segment's audio.
    public var timeToFirstAudio: Double = 0
    /// The emotion weights that reached the emotion-matrix mix (after `emo_alpha`), nil when no vector was used.
    public var emotionWeights: [Double]? = nil
    /// Streaming: every window rendered, in order (empty without ``IndexTTS2Request/streaming``).
    public var streamWindows: [IndexTTS2StreamWindow] = []

    /// Samples converted to 16-bit PCM as `save_pcm_wav` writes them (truncation toward zero, `wav.type(torch.int16)`).
    public var pcm16: [Int16] { samples.map { Int16($0) } }
}

/// Errors of the pipeline itself (components throw their own typed errors).
public enum IndexTTS2Error: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyText
    case noCodes(segment: Int)
    case invalidRequest(String)
    case cancelled

    public var description: String {
        switch self {
        case .emptyText: "the text has no tokens"
        case .noCodes(let segment): "segment \(segment) generated no semantic codes (the first code was the stop code)"
        case .invalidRequest(let reason): reason
        case .cancelled: "cancelled"
        }
    }
}
