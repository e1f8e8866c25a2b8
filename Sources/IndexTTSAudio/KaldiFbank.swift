#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
}
