import Foundation
import IndexTTS
import IndexTTSTensor

/// A deterministic stand-in engine for queue and server tests: each sentence (split at 。, ! ? or .) becomes a
/// segment of tones, 0.1 s per character at 24 kHz, so results are fast, exact and checkable without model files.
/// `segmentDelay` slows it down to test progress, cancellation and crashes.
public struct ToneEngine: SpeechEngine {
    public let info = EngineInfo(id: "tone", name: "Test tones", sampleRate: 24_000, voices: ["tone"], licence: "test",
                                 clonesTimbre: false, presets: [.init(id: "happy", label: "愉快", summary: "higher"),
                                                                .init(id: "sad", label: "悲伤", summary: "lower")])
    public var segmentDelay: Double
    /// Texts containing this word fail with an invalid-parameter error (to test failed jobs).
    public static let poison = "POISON"

    public init(segmentDelay: Double = 0) { self.segmentDelay = segmentDelay }

    public static func segments(_ text: String) -> [String] {
        text.split(whereSeparator: { "。！？!?.".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public var modelFingerprint: String { "tone-1" }

    /// The clip's length and peak (enough for the library tests to see that a stored conditioning comes back).
    public func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
        guard !samples.isEmpty, sampleRate > 0 else { throw SynthesisError.invalidParameter(name: "reference audio", reason: "empty") }
        let peak = samples.map(abs).max() ?? 0
        return VoiceConditioning(engine: info.id, model: modelFingerprint,
                                 tensors: ["clip": try Tensor(shape: [2], scalars: [Float(samples.count) / Float(sampleRate), peak])])
    }

    public func validate(_ request: SynthesisRequest) throws {
        if let voice = request.voice, voice != "tone" { throw SynthesisError.unknownVoice(voice, available: info.voices) }
        guard SynthesisRequest.speedRange.contains(request.speed) else {
            throw SynthesisError.invalidParameter(name: "speed", reason: "out of range")
        }
        if case .preset(let name, _) = request.emotion, !["happy", "sad", "calm"].contains(name) {
            throw SynthesisError.invalidParameter(name: "emotion", reason: "unknown preset '\(name)'")
        }
        if case .vector(let v) = request.emotion, v.count != 8 {
            throw SynthesisError.invalidParameter(name: "emo_vector", reason: "needs 8 weights")
        }
    }

    /// Pitch of the tones: 220 Hz, ×1.5 for "happy", ×0.75 for "sad" (presets, or text mentioning them); a reference
    /// clip's prosody shifts nothing.
    public static func frequency(for emotion: EmotionControl) -> Double {
        switch emotion {
        case .preset("happy", _): return 330
        case .preset("sad", _): return 165
        case .text(let s) where s.contains("happy"): return 330
        case .text(let s) where s.contains("sad"): return 165
        default: return 220
        }
    }

    public func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
        try validate(request)
        let start = Date()
        let pieces = Self.segments(request.text)
        guard !pieces.isEmpty else { throw SynthesisError.emptyText }
        if request.text.contains(Self.poison) { throw SynthesisError.invalidParameter(name: "text", reason: "poisoned") }
        let frequency = Self.frequency(for: request.emotion)
        var samples: [Float] = []
        var firstAudio: Double?
        for (i, piece) in pieces.enumerated() {
            if request.isCancelled?() == true { throw SynthesisError.cancelled }
            if segmentDelay > 0 { Thread.sleep(forTimeInterval: segmentDelay) }
            let n = Int(Double(piece.count) * 0.1 / request.speed * Double(info.sampleRate))
            let chunk = (0..<n).map { Float(0.5 * sin(2 * Double.pi * frequency * Double($0) / Double(info.sampleRate))) }
            samples += chunk
            if firstAudio == nil { firstAudio = Date().timeIntervalSince(start) }
            progress(SynthesisProgress(completedSegments: i + 1, totalSegments: pieces.count,
                                       audioSeconds: Double(samples.count) / Double(info.sampleRate), chunk: chunk))
        }
        let total = Date().timeIntervalSince(start)
        return SynthesisResult(samples: samples, sampleRate: info.sampleRate, timings: [StageTiming(stage: "tones", seconds: total)],
                               segments: pieces.count, timeToFirstAudio: firstAudio ?? total, totalSeconds: total,
                               appliedControls: ["frequency": String(format: "%.0f", frequency)])
    }

    public func preview(_ text: String) -> TextPreview {
        TextPreview(text: text, normalized: text, segments: Self.segments(text).map {
            TextPreview.Segment(text: $0, pinyin: nil, symbols: $0.map { String($0) }, unread: [], pauseSeconds: 0)
        })
    }
}
