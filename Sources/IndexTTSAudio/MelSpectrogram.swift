#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IndexTTSTensor

/// The log-mel spectrogram of BigVGAN and IndexTTS2's S2M (`indextts/s2mel/modules/audio.py::mel_spectrogram`):
/// reflect-pad (n_fft − hop)/2 on both sides, STFT with a periodic Hann window and `center=False`, magnitude
/// √(re² + im² + 1e-9), Slaney mel filters, natural log of max(x, 1e-5).
public struct MelSpectrogram: Sendable {
    /// Parameters, with IndexTTS2's `s2mel.preprocess_params` as defaults.
    public struct Configuration: Codable, Sendable, Equatable {
        public var sampleRate = 22_050
        public var fftSize = 1024
        public var windowLength = 1024
        public var hopLength = 256
        public var melCount = 80
        public var minimumFrequency: Double = 0
        /// nil: Nyquist.
        public var maximumFrequency: Double?
        public init() {}
    }

    public let configuration: Configuration
    let window: [Float]
    let filters: MelFilterbank
    let fft: RealFFT

    public init(_ configuration: Configuration = Configuration()) throws {
        let c = configuration
        guard c.windowLength <= c.fftSize, c.hopLength > 0, c.hopLength <= c.fftSize else {
            throw AudioError.invalidParameter("mel: window \(c.windowLength), FFT \(c.fftSize), hop \(c.hopLength)")
        }
        self.configuration = c
        // torch.stft centres a shorter window inside the FFT frame.
        var padded = [Float](repeating: 0, count: c.fftSize)
        let offset = (c.fftSize - c.windowLength) / 2
        for (i, w) in Window.hann(c.windowLength).enumerated() { padded[offset + i] = w }
        window = padded
        filters = try MelFilterbank.slaney(sampleRate: c.sampleRate, fftSize: c.fftSize, melCount: c.melCount,
                                           minimumFrequency: c.minimumFrequency, maximumFrequency: c.maximumFrequency)
        fft = try RealFFT(size: c.fftSize)
    }

    /// Number of frames for `sampleCount` samples.
    public func frameCount(sampleCount: Int) -> Int {
        let padded = sampleCount + 2 * ((configuration.fftSize - configuration.hopLength) / 2)
        return padded < configuration.fftSize ? 0 : (padded - configuration.fftSize) / configuration.hopLength + 1
    }

    /// Log-mel spectrogram `[mels, frames]` of mono `samples` at ``Configuration/sampleRate``.
    /// - Throws: when the signal is too short for reflect padding (fewer than (n_fft − hop)/2 + 1 samples).
    public func callAsFunction(_ samples: [Float]) throws -> Tensor {
        let c = configuration
        let pad = (c.fftSize - c.hopLength) / 2
        guard samples.count > pad else {
            throw AudioError.invalidParameter("mel: \(samples.count) samples is too short (needs more than \(pad))")
        }
        let signal = try Tensor(shape: [1, samples.count], scalars: samples).padded(left: pad, right: pad, mode: .reflect)
        let frames = frameCount(sampleCount: samples.count)
        let magnitudes = Spectra.compute(signal: signal.basePointer, frames: frames, hop: c.hopLength, fft: fft) {
            frame, scratch in
            for i in 0..<c.fftSize { scratch[i] = frame[i] * window[i] }
        } postprocess: { re, im in
            (re * re + im * im + 1e-9).squareRoot()
        }
        // [frames, mels] → log → [mels, frames]
        return try filters.apply(magnitudes).logClamped(floor: 1e-5).transposed(0, 1).contiguous()
    }
}

extension Tensor {
    /// Natural log of max(x, floor), element-wise.
    func logClamped(floor: Float) -> Tensor {
        Tensor.make(shape) { out in
            withUnsafeBufferPointer { src in
                for i in 0..<src.count { out[i] = logf(Swift.max(src[i], floor)) }
            }
        }
    }
}

/// Frame-by-frame one-sided spectra, parallel over frames.
enum Spectra {
    /// `[frames, fft.size/2 + 1]` of `postprocess(re, im)` for frames starting every `hop` samples of `signal`.
    /// `prepare(frame, scratch)` fills `scratch` (fft.size floats) from the frame's first sample.
    static func compute(signal: UnsafePointer<Float>, frames: Int, hop: Int, fft: RealFFT,
                        prepare: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                        postprocess: (Float, Float) -> Float) -> Tensor {
        let n = fft.size, bins = n / 2 + 1
        return Tensor.make([frames, bins]) { out in
            let dst = out.baseAddress!
            Parallel.forEachChunk(count: frames, minimumChunk: 16) { range in
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n + fft.scratchCount + 2 * bins)
                defer { buffer.deallocate() }
                let input = buffer, scratch = buffer + n, re = scratch + fft.scratchCount, im = re + bins
                for f in range {
                    prepare(signal + f * hop, input)
                    fft.transform(input, real: re, imaginary: im, scratch: scratch)
                    let row = dst + f * bins
                    for k in 0..<bins { row[k] = postprocess(re[k], im[k]) }
                }
            }
        }
    }
}
