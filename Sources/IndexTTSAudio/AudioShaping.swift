#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Joining segments and setting levels on the way out of the engine.
public enum AudioShaping {
    /// `seconds` of silence.
    public static func silence(seconds: Double, sampleRate: Int) -> [Float] {
        [Float](repeating: 0, count: max(0, Int((seconds * Double(sampleRate)).rounded())))
    }

    /// Joins segments with `gap` seconds of silence between them, or — when `crossfade` > 0 and no gap is asked
    /// for — overlaps neighbours by that long with equal-power (sine/cosine) fades. A crossfade longer than either
    /// neighbour is shortened to fit.
    public static func join(_ segments: [[Float]], sampleRate: Int, gap: Double = 0, crossfade: Double = 0) -> [Float] {
        guard var output = segments.first else { return [] }
        let pause = silence(seconds: gap, sampleRate: sampleRate)
        for segment in segments.dropFirst() {
            let overlap = pause.isEmpty ? min(Int(crossfade * Double(sampleRate)), output.count, segment.count) : 0
            if overlap > 0 {
                let start = output.count - overlap
                for i in 0..<overlap {
                    let t = (Double(i) + 0.5) / Double(overlap) * Double.pi / 2
                    output[start + i] = output[start + i] * Float(cos(t)) + segment[i] * Float(sin(t))
                }
                output += segment[overlap...]
            } else {
                output += pause
                output += segment
            }
        }
        return output
    }

    /// Scales so that the peak sits at `targetDBFS`; silence is returned unchanged.
    public static func normalizePeak(_ samples: [Float], targetDBFS: Double = -1) -> [Float] {
        let peak = samples.reduce(0) { max($0, abs($1)) }
        guard peak > AudioDecoder.silenceThreshold else { return samples }
        let gain = Float(pow(10, targetDBFS / 20)) / peak
        return samples.map { $0 * gain }
    }

    /// Scales to `targetLUFS` integrated loudness (BS.1770), but never so far that the peak exceeds
    /// `peakCeilingDBFS` (no clipping). Silence and clips shorter than 400 ms are returned unchanged.
    public static func normalizeLoudness(_ samples: [Float], sampleRate: Int, targetLUFS: Double = -16,
                                         peakCeilingDBFS: Double = -1) -> [Float] {
        let loudness = Loudness.integrated(samples, sampleRate: sampleRate)
        guard loudness.isFinite else { return samples }
        let peak = Double(samples.reduce(0) { max($0, abs($1)) })
        var gain = pow(10, (targetLUFS - loudness) / 20)
        gain = min(gain, pow(10, peakCeilingDBFS / 20) / max(peak, 1e-9))
        return samples.map { $0 * Float(gain) }
    }
}
