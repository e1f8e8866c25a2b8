import Foundation
import IndexTTSAudio
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

struct AudioShapingTests {
    static let expected = try! WeightStore.open(path: Fixtures.path("audio/expected.safetensors"))

    func tone(_ frequency: Double, seconds: Double, rate: Int, amplitude: Float) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
    }

    /// BS.1770 integrated loudness against pyloudnorm (float64 there and here): within 0.01 LU.
    @Test func loudnessMatchesPyloudnorm() throws {
        let speech = try AudioDecoder.decode(path: Fixtures.path("audio/speech_like_22050.wav")).samples
        let speechLUFS = Double(try Self.expected.tensor("loudness_speech_like").scalars[0])
        #expect(abs(Loudness.integrated(speech, sampleRate: 22_050) - speechLUFS) < 0.01)
        let toneLUFS = Double(try Self.expected.tensor("loudness_tone_48k").scalars[0])
        #expect(abs(Loudness.integrated(tone(997, seconds: 3, rate: 48_000, amplitude: 0.25), sampleRate: 48_000) - toneLUFS) < 0.01)
        #expect(Loudness.integrated([Float](repeating: 0, count: 48_000), sampleRate: 48_000) == -.infinity)
        #expect(Loudness.integrated([0.1, 0.2], sampleRate: 48_000) == -.infinity)
    }

    @Test func loudnessNormalisationHitsTheTargetWithoutClipping() {
        let quiet = tone(440, seconds: 2, rate: 24_000, amplitude: 0.05)
        let normalised = AudioShaping.normalizeLoudness(quiet, sampleRate: 24_000, targetLUFS: -20)
        #expect(abs(Loudness.integrated(normalised, sampleRate: 24_000) - (-20)) < 0.05)
        // Asking for more than the peak ceiling allows stops at the ceiling.
        let loud = AudioShaping.normalizeLoudness(quiet, sampleRate: 24_000, targetLUFS: 0, peakCeilingDBFS: -1)
        let peak = loud.reduce(0) { max($0, abs($1)) }
        #expect(abs(Double(peak) - pow(10, -1.0 / 20)) < 1e-4)
    }

    @Test func peakNormalisation() {
        let out = AudioShaping.normalizePeak([0.1, -0.4, 0.2], targetDBFS: -6)
        #expect(abs(Double(out[1]) + pow(10, -6.0 / 20)) < 1e-6)
        #expect(AudioShaping.normalizePeak([0, 0, 0]) == [0, 0, 0])
    }

    @Test func joiningWithGapsAndCrossfades() {
        let a = [Float](repeating: 1, count: 100), b = [Float](repeating: 1, count: 100)
        let gapped = AudioShaping.join([a, b], sampleRate: 1_000, gap: 0.02)
        #expect(gapped.count == 220)
        #expect(gapped[100..<120].allSatisfy { $0 == 0 })
        let faded = AudioShaping.join([a, b], sampleRate: 1_000, crossfade: 0.01)
        #expect(faded.count == 190)
        // Equal-power fade of two equal constants: cos + sin ≥ 1 and ≤ √2, never a dip to zero.
        #expect(faded[90..<100].allSatisfy { $0 >= 1 && $0 <= 1.415 })
        let tooLong = AudioShaping.join([[1, 1], [1, 1, 1]], sampleRate: 1_000, crossfade: 1)
        #expect(tooLong.count == 3)
        #expect(AudioShaping.join([], sampleRate: 1_000).isEmpty)
    }
}
