import Foundation
import IndexTTSAudio
import IndexTTSModels

/// Reference-prosody transfer for the default voice: measures a clip's pitch level and range (YIN), speaking rate
/// (syllable nuclei) and loudness (BS.1770), and expresses them as the voice's controls relative to its own neutral
/// delivery, whose statistics were measured once on this voice (``Baseline``). Timbre is not transferred.
public enum ProsodyTransfer {
    /// The default voice's neutral delivery and its response to the controls, measured with the same analysis on
    /// its own output (see `DefaultVoiceEngineTests.baselineMatchesTheVoice`).
    public struct Baseline: Sendable {
        public var log2PitchMean: Double
        public var log2PitchDeviation: Double
        /// Octaves of median pitch per unit of `pitchShift`.
        public var octavesPerPitchUnit: Double
        public var syllablesPerSecond: Double
        public var loudness: Double
        /// LU of loudness per unit of `energyShift`.
        public var loudnessPerEnergyUnit: Double
    }

    /// Measured with ``measure(_:sampleRate:)`` on the voice's own reading of "今天天气很好，我们一起去公园散步吧。
    /// 明天早上八点在学校门口集合，请大家准时到达。" (default settings): neutral median pitch 2^7.91 ≈ 240 Hz with
    /// 0.247 octaves of spread, 4.46 syllables/s, −21.5 LUFS; `pitchShift` 1 raises the mean by 0.15 octaves and
    /// `energyShift` 1 adds 2.1 LU. `DefaultVoiceEngineTests` re-measures the neutral values.
    public static let baseline = Baseline(log2PitchMean: 7.91, log2PitchDeviation: 0.247, octavesPerPitchUnit: 0.15,
                                          syllablesPerSecond: 4.46, loudness: -21.5, loudnessPerEnergyUnit: 2.1)

    /// What the analysis found in a clip.
    public struct Measurement: Sendable, Codable, Equatable {
        public var log2PitchMean: Double
        public var log2PitchDeviation: Double
        public var syllablesPerSecond: Double
        public var loudness: Double
        public var voicedSeconds: Double

        public init(log2PitchMean: Double, log2PitchDeviation: Double, syllablesPerSecond: Double, loudness: Double,
                    voicedSeconds: Double) {
            self.log2PitchMean = log2PitchMean
            self.log2PitchDeviation = log2PitchDeviation
            self.syllablesPerSecond = syllablesPerSecond
            self.loudness = loudness
            self.voicedSeconds = voicedSeconds
        }
    }

    public static func measure(_ samples: [Float], sampleRate: Int) throws -> Measurement {
        var configuration = PitchTracker.Configuration()
        configuration.sampleRate = sampleRate
        configuration.hopLength = max(sampleRate / 100, 1)
        var frame = 1024
        while Double(frame / 2) <= Double(sampleRate) / configuration.minimumFrequency { frame *= 2 }
        configuration.frameLength = frame
        let track = try PitchTracker(configuration)(samples)
        guard let stats = track.logPitchStatistics else {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "no voiced speech found in the clip")
        }
        let voiced = Double(track.voiced.filter { $0 }.count) * track.hopSeconds
        guard voiced >= 0.5 else {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "only \(String(format: "%.2f", voiced)) s of voiced speech; give at least a few seconds")
        }
        let rate = SpeakingRate.estimate(track).syllablesPerSecond
        return Measurement(log2PitchMean: stats.mean, log2PitchDeviation: stats.standardDeviation,
                           syllablesPerSecond: rate, loudness: Loudness.integrated(samples, sampleRate: sampleRate),
                           voicedSeconds: voiced)
    }

    /// Controls that move the voice's neutral delivery toward the clip's, by `weight` (0…1).
    public static func controls(reference samples: [Float], sampleRate: Int, weight: Double) throws -> FastSpeech2.Controls {
        let m = try measure(samples, sampleRate: sampleRate)
        return controls(for: m, weight: weight)
    }

    public static func controls(for m: Measurement, weight: Double) -> FastSpeech2.Controls {
        let b = baseline, w = min(max(weight, 0), 1)
        func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double { min(max(x, lo), hi) }
        let shift = clamp((m.log2PitchMean - b.log2PitchMean) / b.octavesPerPitchUnit, -3, 3)
        let range = clamp(m.log2PitchDeviation / b.log2PitchDeviation, 0.4, 2.5)
        let duration = m.syllablesPerSecond > 0 ? clamp(b.syllablesPerSecond / m.syllablesPerSecond, 0.5, 2) : 1
        let energy = m.loudness.isFinite ? clamp((m.loudness - b.loudness) / b.loudnessPerEnergyUnit, -2, 2) : 0
        return FastSpeech2.Controls(durationScale: Float(1 + (duration - 1) * w), pitchRange: Float(1 + (range - 1) * w),
                                    pitchShift: Float(shift * w), energyScale: 1, energyShift: Float(energy * w))
    }
}
