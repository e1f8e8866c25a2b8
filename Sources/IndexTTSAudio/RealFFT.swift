#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Forward FFT of real fp32 frames whose length is a power of two, for the STFT-based features.
///
/// Why our own FFT and not FFTW: FFTW is GPL-2+, which would bind the whole binary, and this one is fast enough —
/// the features here use 512- and 1024-point transforms, a few microseconds each, so 15 s of audio costs a few
/// milliseconds (see `indextts bench audio`). Algorithm: the N real samples are packed into N/2 complex values,
/// transformed by an iterative radix-2 decimation-in-time FFT with twiddles computed in Float64, and unpacked into
/// the N/2 + 1 one-sided bins.
///
/// Thread safety: immutable after init; ``transform(_:real:imaginary:scratch:)`` writes only caller-owned buffers.
public final class RealFFT: Sendable {
    /// Transform length (a power of two, at least 4).
    public let size: Int
    private let half: Int
    private let bitReversed: [Int32]
    /// Twiddles e^{−2πi·k/half} for the complex stage, k < half/2.
    private let twiddleReal: [Float], twiddleImaginary: [Float]
    /// Unpacking twiddles e^{−2πi·k/size}, k ≤ half.
    private let unpackReal: [Float], unpackImaginary: [Float]

    public init(size: Int) throws {
        guard size >= 4, size & (size - 1) == 0 else {
            throw AudioError.invalidParameter("FFT size \(size) is not a power of two ≥ 4")
        }
        self.size = size
        half = size / 2
        var bits = 0
        while (1 << bits) < half { bits += 1 }
        bitReversed = (0..<half).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return Int32(r)
        }
        twiddleReal = (0..<(half / 2)).map { Float(cos(-2 * Double.pi * Double($0) / Double(size / 2))) }
        twiddleImaginary = (0..<(half / 2)).map { Float(sin(-2 * Double.pi * Double($0) / Double(size / 2))) }
        unpackReal = (0...half).map { Float(cos(-2 * Double.pi * Double($0) / Double(size))) }
        unpackImaginary = (0...half).map { Float(sin(-2 * Double.pi * Double($0) / Double(size))) }
    }

    /// Scratch space one transform needs (2·size/2 floats); allocate once per thread and reuse.
    public var scratchCount: Int { size }

    /// One-sided spectrum of `input` (`size` samples): bins 0…size/2 into `real` and `imaginary` (size/2 + 1 each).
    public func transform(_ input: UnsafePointer<Float>, real: UnsafeMutablePointer<Float>,
                          imaginary: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let zr = scratch, zi = scratch + half
        // Pack x[2k] + i·x[2k+1] in bit-reversed order.
        for k in 0..<half {
            let j = Int(bitReversed[k])
            zr[j] = input[2 * k]
            zi[j] = input[2 * k + 1]
        }
        // Radix-2 butterflies.
        var span = 1
        while span < half {
            let step = half / (2 * span)
            var start = 0
            while start < half {
                for j in 0..<span {
                    let wr = twiddleReal[j * step], wi = twiddleImaginary[j * step]
                    let a = start + j, b = a + span
                    let tr = zr[b] * wr - zi[b] * wi
                    let ti = zr[b] * wi + zi[b] * wr
                    zr[b] = zr[a] - tr
                    zi[b] = zi[a] - ti
                    zr[a] += tr
                    zi[a] += ti
                }
                start += 2 * span
            }
            span *= 2
        }
        // Unpack: X[k] = E[k] + W^k·O[k], with E, O the spectra of the even and odd samples.
        real[0] = zr[0] + zi[0]
        imaginary[0] = 0
        real[half] = zr[0] - zi[0]
        imaginary[half] = 0
        for k in 1..<half {
            let ar = zr[k], ai = zi[k]
            let br = zr[half - k], bi = -zi[half - k]
            let er = 0.5 * (ar + br), ei = 0.5 * (ai + bi)
            // O[k] = (Z[k] − conj(Z[N/2−k])) / (2i)
            let or = 0.5 * (ai - bi), oi = -0.5 * (ar - br)
            let wr = unpackReal[k], wi = unpackImaginary[k]
            real[k] = er + or * wr - oi * wi
            imaginary[k] = ei + or * wi + oi * wr
        }
    }
}
