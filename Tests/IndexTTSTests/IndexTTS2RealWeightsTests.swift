import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSTestSupport
import Testing

/// A user's own install: with `INDEXTTS_MODEL_DIR` pointing at the official IndexTTS2 folder (`checkpoints/` with
/// `hf_cache/`), these load it as the engine does and speak a short sentence; skipped when the variable is unset (no
/// weights are committed or downloaded). `INDEXTTS_REF_AUDIO` may name the voice clip (default: the repository's
/// CMU ARCTIC speech fixture). Run: `INDEXTTS_MODEL_DIR=~/index-tts/checkpoints swift test -c release --filter RealWeights`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["INDEXTTS_MODEL_DIR"] != nil,
                             "set INDEXTTS_MODEL_DIR to an IndexTTS2 model folder"))
struct IndexTTS2RealWeightsTests {
    static var folder: String { ProcessInfo.processInfo.environment["INDEXTTS_MODEL_DIR"] ?? "" }

    static func clip() throws -> (samples: [Float], sampleRate: Int) {
        let path = ProcessInfo.processInfo.environment["INDEXTTS_REF_AUDIO"] ?? Fixtures.path("audio/speech/arctic_a0007.wav")
        let decoded = try AudioDecoder.decode(path: path, requireSound: true)
        return (decoded.samples, decoded.sampleRate)
    }

    /// Every required file of the folder is present and readable, as `indextts models check` reports it.
    @Test func theFolderIsComplete() {
        let inspection = IndexTTS2ModelFolder.inspect(root: Self.folder)
        #expect(inspection.problems.isEmpty, "\(inspection.problems)")
        #expect(inspection.folder.fingerprint.hasPrefix("sha256:"))
    }

    /// The engine loads, analyses the voice, and speaks a short sentence with upstream's settings (argmax decoding
    /// to keep it deterministic): audible, not clipped, of a plausible length, ending at the stop code; the stored
    /// conditioning gives the same audio as the clip.
    @Test func speaksAShortSentence() throws {
        var engine = try IndexTTS2Engine.load(modelDirectory: Self.folder)
        engine.sampling.topK = 1
        engine.sampling.numBeams = 1
        let clip = try Self.clip()
        var request = SynthesisRequest(text: "今天天气很好。", seed: 1)
        request.referenceAudio = clip
        let result = try engine.synthesize(request)
        #expect(result.sampleRate == 22_050)
        #expect((0.5...6.0).contains(result.audioSeconds), "\(result.audioSeconds) s for seven syllables")
        let peak = result.samples.map(abs).max() ?? 0
        #expect(peak > 0.01 && peak <= 1, "peak \(peak)")
        #expect(result.appliedControls["warning"] == nil, "\(result.appliedControls["warning"] ?? "")")
        request.voiceConditioning = try engine.analyzeVoice(samples: clip.samples, sampleRate: clip.sampleRate)
        let stored = try engine.synthesize(request)
        #expect(stored.appliedControls["speaker_conditioning"] == "stored")
        #expect(stored.samples == result.samples)
    }
}
