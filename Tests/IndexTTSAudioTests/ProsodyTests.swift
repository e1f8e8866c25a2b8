import IndexTTSAudio
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The F0 tracker against `librosa.pyin` (same framing: 16 kHz, 1024-sample frames, 160-sample hop, 65–500 Hz).
/// Gross error: |F0 − F0_pyin| > 20% of F0_pyin on frames both call voiced. Voicing error: frames where the two
/// disagree about voicing. Measured (this implementation, committed fixtures): see the bounds below, which sit just
/// above the measured values so that a regression fails.
struct ProsodyTests {
    static let expected = try! WeightStore.open(path: Fixtures.path("audio/expected.safetensors"))

    struct Comparison {
        let grossErrorRate: Double
        let voicingErrorRate: Double
        let bothVoiced: Int
    }

    func compare(_ name: String) throws -> Comparison {
        let audio = try AudioDecoder.decode(path: Fixtures.path("audio/speech/\(name).wav"))
        #expect(audio.sampleRate == 16_000)
        let track = try PitchTracker()(audio.samples)
        let f0 = try Self.expected.tensor("pyin.\(name).f0").scalars
        let voiced = try Self.expected.tensor("pyin.\(name).voiced").scalars.map { $0 > 0.5 }
        #expect(track.frequencies.count == f0.count, "\(name): frame count")
        var both = 0, gross = 0, disagree = 0
        for t in 0..<min(f0.count, track.frequencies.count) {
            if voiced[t] != track.voiced[t] { disagree += 1 }
            guard voiced[t] && track.voiced[t] else { continue }
            both += 1
            if abs(track.frequencies[t] - f0[t]) > 0.2 * f0[t] { gross += 1 }
        }
        return Comparison(grossErrorRate: Double(gross) / Double(max(both, 1)),
                          voicingErrorRate: Double(disagree) / Double(max(f0.count, 1)), bothVoiced: both)
    }

    @Test(arguments: ["tone_220", "glide_100_300", "vibrato_150", "low_harmonic_90"])
    func syntheticTonesMatchPyin(_ name: String) throws {
        let result = try compare(name)
        #expect(result.bothVoiced > 100)
        #expect(result.grossErrorRate == 0, "\(name): GER \(result.grossErrorRate)")
        #expect(result.voicingErrorRate < 0.03, "\(name): voicing error \(result.voicingErrorRate)")
    }

    /// Measured: GER 1.6%, voicing disagreement 15.5% (pYIN's HMM keeps voicing through breathy onsets and
    /// weak offsets that our hysteresis leaves unvoiced; where both call a frame voiced they agree on the pitch).
    @Test func realSpeechMatchesPyin() throws {
        let result = try compare("arctic_a0007")
        #expect(result.bothVoiced > 150)
        #expect(result.grossErrorRate < 0.02, "GER \(result.grossErrorRate)")
        #expect(result.voicingErrorRate < 0.16, "voicing error \(result.voicingErrorRate)")
    }

    /// "Not at this particular case, Tom, apologized Whittemore." — 16 syllables in about 3 s of speech.
    @Test func speakingRateOfRealSpeechIsPlausible() throws {
        let audio = try AudioDecoder.decode(path: Fixtures.path("audio/speech/arctic_a0007.wav"))
        let estimate = SpeakingRate.estimate(try PitchTracker()(audio.samples))
        #expect(estimate.nuclei.count >= 12 && estimate.nuclei.count <= 20, "nuclei \(estimate.nuclei.count)")
        #expect(estimate.syllablesPerSecond > 3.5 && estimate.syllablesPerSecond < 7, "\(estimate.syllablesPerSecond)")
        #expect(estimate.speechSeconds > 2 && estimate.speechSeconds < 4)
    }

    /// A train of 150 Hz "syllables": 0.15 s on, 0.1 s quiet, 12 of them → 4 per second.
    @Test func speakingRateCountsSyllableTrains() throws {
        let rate = 16_000
        var samples: [Float] = []
        for _ in 0..<12 {
            samples += (0..<(rate * 15 / 100)).map { i in
                let envelope = Float(sin(Double.pi * Double(i) / Double(rate * 15 / 100)))
                return 0.4 * envelope * Float(sin(2 * Double.pi * 150 * Double(i) / Double(rate)))
            }
            samples += [Float](repeating: 0, count: rate / 10)
        }
        let estimate = SpeakingRate.estimate(try PitchTracker()(samples))
        #expect(estimate.nuclei.count == 12)
        #expect(abs(estimate.syllablesPerSecond - 4) < 0.3, "\(estimate.syllablesPerSecond)")
    }

    @Test func silenceHasNoPitch() throws {
        let track = try PitchTracker()([Float](repeating: 0, count: 16_000))
        #expect(track.voiced.allSatisfy { !$0 })
        #expect(track.logPitchStatistics == nil)
        #expect(SpeakingRate.estimate(track).syllablesPerSecond == 0)
    }
}
