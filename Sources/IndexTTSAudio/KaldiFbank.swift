#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import IndexTTSTensor

/// Log mel filterbank energies as `torchaudio.compliance.kaldi.fbank` computes them with its defaults
/// (snip edges, DC removal, pre-emphasis, povey window, power spectrum, no dither, no energy term), which is what
/// CAMPPlus consumes in IndexTTS2.
public struct KaldiFbank: Sendable {
    public struct Configuration: Codable, Sendable, Equatable {
        public var sampleRate = 16_000
        public var melCount = 80
        /// Frame length and shift in milliseconds.
        public var frameLengthMilliseconds: Double = 25
        public var frameShiftMilliseconds: Double = 10
        public var preemphasis: Float = 0.97
        public var lowFrequency: Double = 20
        /// ≤ 0: offset from Nyquist.
        public var highFrequency: Double = 0
        public var removeDCOffset = true
        /// Samples are multiplied by this before analysis (2¹⁵ for the w2v-BERT features).
        public var inputScale: Float = 1
        /// Precision of the reference's filter computation.
        public var filterArithmetic: MelFilterbank.Arithmetic = .float32
        /// Precision of framing, FFT, power and filtering: torchaudio works in float32; transformers'
        /// `audio_utils.spectrogram` (SeamlessM4T, w2v-BERT's features) promotes to float64. Bins far below a frame's
        /// energy differ by up to ~1e-3 in log between the two, which the features' per-bin normalisation amplifies.
        public var spectrumArithmetic: MelFilterbank.Arithmetic = .float32
        public init() {}
    }

    public let configuration: Configuration
    public let windowLength: Int
    public let windowShift: Int
    let window: [Float]
    let filters: MelFilterbank
    let fft: RealFFT

    public init(_ configuration: Configuration = Configuration()) throws {
        let c = configuration
        windowLength = Int(Double(c.sampleRate) * c.frameLengthMilliseconds * 0.001)
        windowShift = Int(Double(c.sampleRate) * c.frameShiftMilliseconds * 0.001)
        guard windowLength >= 2, windowShift >= 1 else {
            throw AudioError.invalidParameter("fbank: window \(windowLength), shift \(windowShift) samples")
        }
        var padded = 1
        while padded < windowLength { padded *= 2 }
        self.configuration = c
        window = Window.povey(windowLength)
        fft = try RealFFT(size: padded)
        filters = try MelFilterbank.kaldi(sampleRate: c.sampleRate, paddedWindowSize: padded, melCount: c.melCount,
                                          lowFrequency: c.lowFrequency, highFrequency: c.highFrequency,
                                          arithmetic: c.filterArithmetic)
    }

    /// Frames for `sampleCount` samples (snip edges: only whole windows).
    public func frameCount(sampleCount: Int) -> Int {
        sampleCount < windowLength ? 0 : 1 + (sampleCount - windowLength) / windowShift
    }

    /// Log filterbank energies `[frames, mels]` (log of max(energy, fp32 ε)).
    public func callAsFunction(_ samples: [Float]) throws -> Tensor {
        let frames = frameCount(sampleCount: samples.count)
        guard frames > 0 else {
            throw AudioError.invalidParameter("fbank: \(samples.count) samples is shorter than one \(windowLength)-sample frame")
        }
        let c = configuration, length = windowLength, fftSize = fft.size
        if c.spectrumArithmetic == .float64 { return try float64Spectrum(samples, frames: frames) }
        let power = samples.withUnsafeBufferPointer { signal in
            Spectra.compute(signal: signal.baseAddress!, frames: frames, hop: windowShift, fft: fft) { frame, out in
                let scale = c.inputScale
                var mean: Float = 0
                if c.removeDCOffset {
                    for i in 0..<length { mean += frame[i] * scale }
                    mean /= Float(length)
                }
                // Pre-emphasis against the previous sample, the first sample against itself (replicate padding).
                var previous = frame[0] * scale - mean
                for i in 0..<length {
                    let value = frame[i] * scale - mean
                    out[i] = (value - c.preemphasis * previous) * window[i]
                    previous = value
                }
                for i in length..<fftSize { out[i] = 0 }
            } postprocess: { re, im in
                re * re + im * im
            }
        }
        return try filters.apply(power).logClamped(floor: Float.ulpOfOne)
    }

    /// `audio_utils.spectrogram` in float64: frame, DC removal, pre-emphasis (`buffer[0] *= 1 − k`), window, FFT,
    /// |X|², filters, `max(floor, ·)`, log, then float32.
    func float64Spectrum(_ samples: [Float], frames: Int) throws -> Tensor {
        let c = configuration, length = windowLength, fftSize = fft.size, bins = fftSize / 2 + 1
        let mels = filters.melCount
        let weights = filters.weights.scalars.map(Double.init)
        // Povey window (symmetric Hann^0.85) in float64, as transformers' window_function.
        let window = (0..<length).map { n in
            Foundation.pow(0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double(n) / Double(length - 1)), 0.85)
        }
        let preemphasis = Double(c.preemphasis), scale = Double(c.inputScale)
        let floor = Double(Float.ulpOfOne)
        var output = [Float](repeating: 0, count: frames * mels)
        var re = [Double](repeating: 0, count: fftSize), im = [Double](repeating: 0, count: fftSize)
        var power = [Double](repeating: 0, count: bins)
        for f in 0..<frames {
            let start = f * windowShift
            for i in 0..<length { re[i] = Double(Float(samples[start + i]) * Float(scale)) }
            for i in length..<fftSize { re[i] = 0 }
            if c.removeDCOffset {
                var mean = 0.0
                for i in 0..<length { mean += re[i] }
                mean /= Double(length)
                for i in 0..<length { re[i] -= mean }
            }
            for i in stride(from: length - 1, through: 1, by: -1) { re[i] -= preemphasis * re[i - 1] }
            re[0] *= 1 - preemphasis
            for i in 0..<length { re[i] *= window[i] }
            for i in 0..<fftSize { im[i] = 0 }
            Self.complexFFT(&re, &im)
            for k in 0..<bins { power[k] = re[k] * re[k] + im[k] * im[k] }
            for m in 0..<mels {
                var sum = 0.0
                for k in 0..<bins { sum += weights[m * bins + k] * power[k] }
                output[f * mels + m] = Float(Foundation.log(Swift.max(floor, sum)))
            }
        }
        return try Tensor(shape: [frames, mels], scalars: output)
    }

    /// In-place iterative radix-2 FFT (size a power of two), float64.
    static func complexFFT(_ re: inout [Double], _ im: inout [Double]) {
        let n = re.count
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { re.swapAt(i, j); im.swapAt(i, j) }
        }
        var size = 2
        while size <= n {
            let angle = -2 * Double.pi / Double(size)
            let half = size / 2
            for start in stride(from: 0, to: n, by: size) {
                for k in 0..<half {
                    let wr = Foundation.cos(angle * Double(k)), wi = Foundation.sin(angle * Double(k))
                    let a = start + k, b = a + half
                    let tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                }
            }
            size <<= 1
        }
    }
}
