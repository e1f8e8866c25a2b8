#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Integrated loudness (ITU-R BS.1770-4, mono), matching `pyloudnorm.Meter(rate).integrated_loudness`: K-weighting
/// as two RBJ biquads (high shelf +4 dB at 1500 Hz, Q 1/√2; high pass at 38 Hz, Q 0.5), 400 ms blocks with 75%
/// overlap, an absolute gate at −70 LUFS and a relative gate 10 LU below the absolutely-gated mean.
public enum Loudness {
    struct Biquad {
        var b: (Double, Double, Double), a: (Double, Double)

        /// RBJ cookbook designs, normalised by a0.
        static func highShelf(gain: Double, q: Double, frequency: Double, rate: Double) -> Biquad {
            let A = pow(10, gain / 40), w0 = 2 * Double.pi * frequency / rate, alpha = sin(w0) / (2 * q)
            let c = cos(w0), s = 2 * A.squareRoot() * alpha
            let a0 = (A + 1) - (A - 1) * c + s
            return Biquad(b: (A * ((A + 1) + (A - 1) * c + s) / a0, -2 * A * ((A - 1) + (A + 1) * c) / a0,
                              A * ((A + 1) + (A - 1) * c - s) / a0),
                          a: (2 * ((A - 1) - (A + 1) * c) / a0, ((A + 1) - (A - 1) * c - s) / a0))
        }

        static func highPass(q: Double, frequency: Double, rate: Double) -> Biquad {
            let w0 = 2 * Double.pi * frequency / rate, alpha = sin(w0) / (2 * q), c = cos(w0)
            let a0 = 1 + alpha
            return Biquad(b: ((1 + c) / 2 / a0, -(1 + c) / a0, (1 + c) / 2 / a0), a: (-2 * c / a0, (1 - alpha) / a0))
        }

        /// Direct form I, as `scipy.signal.lfilter`.
        func apply(_ x: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: x.count)
            var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0
            for i in x.indices {
                let v = b.0 * x[i] + b.1 * x1 + b.2 * x2 - a.0 * y1 - a.1 * y2
                x2 = x1; x1 = x[i]; y2 = y1; y1 = v
                y[i] = v
            }
            return y
        }
    }

    /// Integrated loudness in LUFS; −∞ for silence or clips shorter than one 400 ms block.
    public static func integrated(_ samples: [Float], sampleRate: Int) -> Double {
        let rate = Double(sampleRate)
        let blockSeconds = 0.4, step = 0.25
        let duration = Double(samples.count) / rate
        guard duration >= blockSeconds else { return -.infinity }
        var weighted = samples.map(Double.init)
        weighted = Biquad.highShelf(gain: 4, q: 1 / 2.0.squareRoot(), frequency: 1500, rate: rate).apply(weighted)
        weighted = Biquad.highPass(q: 0.5, frequency: 38, rate: rate).apply(weighted)
        let blocks = Int(((duration - blockSeconds) / (blockSeconds * step)).rounded(.toNearestOrEven)) + 1
        var energies = [Double](repeating: 0, count: blocks)
        for j in 0..<blocks {
            let lower = Int(blockSeconds * (Double(j) * step) * rate)
            let upper = min(Int(blockSeconds * (Double(j) * step + 1) * rate), weighted.count)
            var sum = 0.0
            if lower < upper { for i in lower..<upper { sum += weighted[i] * weighted[i] } }
            energies[j] = sum / (blockSeconds * rate)
        }
        func loudness(_ z: Double) -> Double { -0.691 + 10 * log10(z) }
        let absolute = energies.filter { loudness($0) >= -70 }
        guard !absolute.isEmpty else { return -.infinity }
        let relativeGate = loudness(absolute.reduce(0, +) / Double(absolute.count)) - 10
        let gated = energies.filter { loudness($0) > relativeGate && loudness($0) > -70 }
        guard !gated.isEmpty else { return -.infinity }
        return loudness(gated.reduce(0, +) / Double(gated.count))
    }
}
