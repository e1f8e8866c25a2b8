import Foundation
import IndexTTS
import IndexTTSTensor
import Synchronization

/// A fake engine that records every request it is given (validate and synthesize) and every voice analysis, so that
/// tests can prove what reaches an engine through the CLI, the HTTP routes and the queue. It speaks like
/// ``ToneEngine`` (0.1 s of tone per character); like IndexTTS2 it has no built-in voices, clones timbre, and needs a
/// reference clip (or a library voice).
public final class RecordingEngine: SpeechEngine {
    public let info: EngineInfo
    public let modelFingerprint: String
    /// Whether ``analyzeVoice(samples:sampleRate:)`` works (false: it throws ``SynthesisError/unsupported(_:)``, as
    /// an engine that cannot store conditioning).
    public let analyses: Bool
    let state = Mutex<State>(State())

    struct State {
        var synthesized: [SynthesisRequest] = []
        var validated: [SynthesisRequest] = []
        var analysisCount = 0
    }

    public init(id: String = "recorder", modelFingerprint: String = "recorder-1", voices: [String] = [], analyses: Bool = true) {
        info = EngineInfo(id: id, name: "Recording engine", sampleRate: 24_000, voices: voices, licence: "test",
                          clonesTimbre: voices.isEmpty)
        self.modelFingerprint = modelFingerprint
        self.analyses = analyses
    }

    /// Requests synthesised so far, in order.
    public var synthesized: [SynthesisRequest] { state.withLock { $0.synthesized } }
    public var validated: [SynthesisRequest] { state.withLock { $0.validated } }
    /// Calls of ``analyzeVoice(samples:sampleRate:)`` that returned a conditioning.
    public var analysisCount: Int { state.withLock { $0.analysisCount } }

    /// Tensor `clip` `[2]`: the clip's seconds and peak.
    public func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
        guard analyses else { throw SynthesisError.unsupported("voice conditioning with the recording engine") }
        guard !samples.isEmpty, sampleRate > 0 else { throw SynthesisError.invalidParameter(name: "reference audio", reason: "empty") }
        state.withLock { $0.analysisCount += 1 }
        return VoiceConditioning(engine: info.id, model: modelFingerprint,
                                 tensors: ["clip": try Tensor(shape: [2], scalars: [Float(samples.count) / Float(sampleRate),
                                                                                     samples.map(abs).max() ?? 0])])
    }

    public func validate(_ request: SynthesisRequest) throws {
        state.withLock { $0.validated.append(request) }
        try check(request)
    }

    func check(_ request: SynthesisRequest) throws {
        if info.voices.isEmpty && request.referenceAudio == nil {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "the recording engine needs a voice clip")
        }
        try request.sampling.validate()
    }

    public func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
        state.withLock { $0.synthesized.append(request) }
        try check(request)
        let n = max(1, Int(Double(request.text.count) * 0.1 * Double(info.sampleRate)))
        let samples = (0..<n).map { Float(0.3 * sin(2 * Double.pi * 220 * Double($0) / 24_000)) }
        progress(SynthesisProgress(completedSegments: 1, totalSegments: 1, audioSeconds: Double(n) / 24_000, chunk: samples))
        var controls = ["engine": info.id]
        if let k = request.sampling.topK { controls["top_k"] = "\(k)" }
        return SynthesisResult(samples: samples, sampleRate: info.sampleRate, timings: [StageTiming(stage: "record", seconds: 0)],
                               segments: 1, timeToFirstAudio: 0, totalSeconds: 0, appliedControls: controls)
    }

    public func preview(_ text: String) -> TextPreview {
        TextPreview(text: text, normalized: text, segments: [.init(text: text, pinyin: nil, symbols: [], unread: [], pauseSeconds: 0)])
    }
}
