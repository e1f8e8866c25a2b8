#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IndexTTSTensor

/// Fundamental-frequency tracking for reference-prosody transfer: YIN (cumulative mean normalised difference,
/// absolute threshold, parabolic refinement) on frames centred every `hopLength` samples like `librosa.pyin`, with
/// an energy gate and octave-jump / short-run cleanup over time. Validated against `librosa.pyin` (see
/// `Tests/IndexTTSAudioTests/ProsodyTests.swift` for the measured gross-error rates).
public struct PitchTracker: Sendable {
    public struct Configuration: Codable, Sendable, Equatable {
        public var sampleRate = 16_000
        /// Analysis frame (the difference function uses its first half as window, as pYIN).
        public var frameLength = 1024
        public var hopLength = 160
        public var minimumFrequency: Double = 65
        public var maximumFrequency: Double = 500
        /// YIN's absolute threshold on the normalised difference.
        public var threshold: Float = 0.15
        /// Voicing hysteresis on periodicity (1 − normalised difference): frames at or above `voicedPeriodicity`
        /// seed voiced runs, which then extend over neighbouring frames at or above `extendPeriodicity` (a cheap
        /// stand-in for pYIN's HMM, which keeps voicing through weak frames).
        public var voicedPeriodicity: Float = 0.7
        public var extendPeriodicity: Float = 0.3
        /// Frames quieter than this relative to the loudest frame (dB) are unvoiced.
        public var silenceDecibels: Float = -45
        /// Voiced runs shorter than this many frames are dropped.
        public var minimumVoicedRun = 3
        public init() {}
    }

    /// Per-frame result; frame `t` is centred on sample `t·hop`.
    public struct Track: Sendable {
        /// Hz, 0 where unvoiced.
        public var frequencies: [Float]
        public var voiced: [Bool]
        /// 1 − normalised difference at the chosen period (1 = perfectly periodic).
        public var periodicity: [Float]
        /// Frame RMS in dBFS.
        public var energyDecibels: [Float]
        public let hopSeconds: Double

        /// Mean and standard deviation of log₂ F0 over voiced frames (nil when nothing is voiced).
        public var logPitchStatistics: (mean: Double, standardDeviation: Double)? {
            let logs = zip(frequencies, voiced).filter { $0.1 }.map { log2(Double($0.0)) }
            guard !logs.isEmpty else { return nil }
            let mean = logs.reduce(0, +) / Double(logs.count)
            let variance = logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(logs.count)
            return (mean, variance.squareRoot())
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration = Configuration()) throws {
        let c = configuration
        guard c.frameLength >= 64, c.hopLength > 0, c.minimumFrequency > 0, c.maximumFrequency > c.minimumFrequency,
              Double(c.sampleRate) / c.minimumFrequency < Double(c.frameLength / 2) else {
            throw AudioError.invalidParameter(
                "pitch tracker: frame \(c.frameLength), \(c.minimumFrequency)–\(c.maximumFrequency) Hz at \(c.sampleRate) Hz (the longest period must fit half a frame)")
        }
        self.configuration = c
    }

    /// Number of frames for `count` samples (centred framing: 1 + count / hop).
    public func frameCount(sampleCount count: Int) -> Int { 1 + count / configuration.hopLength }

    public func callAsFunction(_ samples: [Float]) -> Track {
        let c = configuration
        let window = c.frameLength / 2
        let minPeriod = max(Int((Double(c.sampleRate) / c.maximumFrequency).rounded(.down)), 2)
        let maxPeriod = min(Int((Double(c.sampleRate) / c.minimumFrequency).rounded(.up)), c.frameLength - window - 1)
        let frames = frameCount(sampleCount: samples.count)
        // Zero-pad half a frame on both sides so frame t is centred on sample t·hop.
        let pad = c.frameLength / 2
        var padded = [Float](repeating: 0, count: samples.count + 2 * pad)
        for i in samples.indices { padded[pad + i] = samples[i] }
        var periods = [Float](repeating: 0, count: frames)
        var periodicity = [Float](repeating: 0, count: frames)
        var energy = [Float](repeating: -120, count: frames)
        padded.withUnsafeBufferPointer { signal in
            periods.withUnsafeMutableBufferPointer { periodOut in
                periodicity.withUnsafeMutableBufferPointer { periodicityOut in
                    energy.withUnsafeMutableBufferPointer { energyOut in
                        Parallel.forEachChunk(count: frames, minimumChunk: 32) { range in
                            var difference = [Float](repeating: 0, count: maxPeriod + 2)
                            for t in range {
                                let frame = signal.baseAddress! + t * c.hopLength
                                energyOut[t] = Self.rmsDecibels(frame, c.frameLength)
                                let (period, quality) = Self.yin(frame, window: window, minPeriod: minPeriod,
                                                                 maxPeriod: maxPeriod, threshold: c.threshold,
                                                                 difference: &difference)
                                periodOut[t] = period
                                periodicityOut[t] = quality
                            }
                        }
                    }
                }
            }
        }
        let loudest = energy.max() ?? -120
        let audible = (0..<frames).map { periods[$0] > 0 && energy[$0] >= loudest + c.silenceDecibels }
        var voiced = (0..<frames).map { audible[$0] && periodicity[$0] >= c.voicedPeriodicity }
        Self.extendRuns(&voiced) { audible[$0] && periodicity[$0] >= c.extendPeriodicity }
        var frequencies = (0..<frames).map { voiced[$0] ? Float(c.sampleRate) / periods[$0] : 0 }
        Self.correctOctaveJumps(&frequencies, voiced: voiced)
        Self.dropShortRuns(&voiced, minimum: c.minimumVoicedRun)
        for t in 0..<frames where !voiced[t] { frequencies[t] = 0 }
        return Track(frequencies: frequencies, voiced: voiced, periodicity: periodicity, energyDecibels: energy,
                     hopSeconds: Double(c.hopLength) / Double(c.sampleRate))
    }

    static func rmsDecibels(_ frame: UnsafePointer<Float>, _ length: Int) -> Float {
        var sum: Float = 0
        for i in 0..<length { sum += frame[i] * frame[i] }
        return 10 * log10f(max(sum / Float(length), 1e-12))
    }

    /// YIN on one frame: returns (period in samples with parabolic refinement, 1 − normalised difference), or
    /// (0, quality) when no period is found.
    static func yin(_ frame: UnsafePointer<Float>, window: Int, minPeriod: Int, maxPeriod: Int, threshold: Float,
                    difference d: inout [Float]) -> (Float, Float) {
        typealias V = SIMD8<Float>
        // d(τ) = Σ_{j<W} (x_j − x_{j+τ})²
        for tau in 1...maxPeriod {
            var acc = V(repeating: 0)
            var j = 0
            while j + 8 <= window {
                let diff = UnsafeRawPointer(frame + j).loadUnaligned(as: V.self)
                    - UnsafeRawPointer(frame + j + tau).loadUnaligned(as: V.self)
                acc += diff * diff
                j += 8
            }
            var sum = acc.sum()
            while j < window { let diff = frame[j] - frame[j + tau]; sum += diff * diff; j += 1 }
            d[tau] = sum
        }
        // Cumulative mean normalised difference.
        var running: Float = 0
        d[0] = 1
        for tau in 1...maxPeriod {
            running += d[tau]
            d[tau] = running > 0 ? d[tau] * Float(tau) / running : 1
        }
        var chosen = -1
        var tau = minPeriod
        while tau <= maxPeriod {
            if d[tau] < threshold {
                while tau + 1 <= maxPeriod && d[tau + 1] < d[tau] { tau += 1 }
                chosen = tau
                break
            }
            tau += 1
        }
        if chosen < 0 {
            // No dip below the threshold: take the global minimum; voicing decides later.
            chosen = (minPeriod...maxPeriod).min { d[$0] < d[$1] } ?? minPeriod
        }
        let quality = 1 - d[chosen]
        var refined = Float(chosen)
        if chosen > minPeriod && chosen < maxPeriod {
            let a = d[chosen - 1], b = d[chosen], c = d[chosen + 1]
            let denominator = a - 2 * b + c
            if denominator > 0 { refined += 0.5 * (a - c) / denominator }
        }
        return (refined, quality)
    }

    /// Replaces a voiced frame's F0 by half or double when that lands within 20% of the median of its voiced
    /// neighbours (±5 frames) and the frame itself is an octave away from it.
    static func correctOctaveJumps(_ f: inout [Float], voiced: [Bool]) {
        let original = f
        for t in f.indices where voiced[t] {
            let neighbours = (max(0, t - 5)...min(f.count - 1, t + 5)).filter { $0 != t && voiced[$0] }.map { original[$0] }
            guard neighbours.count >= 4 else { continue }
            let median = neighbours.sorted()[neighbours.count / 2]
            let ratio = original[t] / median
            if ratio > 1.7 && ratio < 2.3 { f[t] = original[t] / 2 } else if ratio > 0.43 && ratio < 0.59 { f[t] = original[t] * 2 }
        }
    }

    /// Grows every voiced run into neighbouring frames that pass `weak`, in both directions.
    static func extendRuns(_ voiced: inout [Bool], weak: (Int) -> Bool) {
        for t in 1..<max(voiced.count, 1) where voiced[t - 1] && !voiced[t] && weak(t) { voiced[t] = true }
        for t in stride(from: voiced.count - 2, through: 0, by: -1) where voiced[t + 1] && !voiced[t] && weak(t) {
            voiced[t] = true
        }
    }

    static func dropShortRuns(_ voiced: inout [Bool], minimum: Int) {
        var t = 0
        while t < voiced.count {
            guard voiced[t] else { t += 1; continue }
            var end = t
            while end < voiced.count && voiced[end] { end += 1 }
            if end - t < minimum { for i in t..<end { voiced[i] = false } }
            t = end
        }
    }
}
