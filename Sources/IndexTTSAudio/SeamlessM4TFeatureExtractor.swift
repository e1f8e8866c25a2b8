import IndexTTSTensor

/// The input features of w2v-BERT 2.0 (`transformers` `SeamlessM4TFeatureExtractor`, as IndexTTS2 calls it): the
/// 16 kHz waveform scaled by 2¹⁵, Kaldi-style log-mel filterbank (400/160/512, povey window, pre-emphasis 0.97, DC
/// removal, 80 mels over 20–8000 Hz, power spectrum, floor 1.192092955078125e-7), each mel bin normalised over time
/// to zero mean and unit variance (unbiased variance, + 1e-7), padded to an even frame count and stacked in pairs.
public struct SeamlessM4TFeatureExtractor: Sendable {
    /// Stacked features and the mask of which rows hold real frames.
    public struct Features: Sendable {
        /// `[frames/2, 160]`.
        public let inputFeatures: Tensor
        /// One entry per stacked row: 1 where its second frame is a real frame, 0 where it is padding.
        public let attentionMask: [Int32]
    }

    let fbank: KaldiFbank
    public let stride = 2

    public init() throws {
        var configuration = KaldiFbank.Configuration()
        configuration.sampleRate = 16_000
        configuration.melCount = 80
        configuration.highFrequency = 8000
        configuration.inputScale = 32_768
        configuration.filterArithmetic = .float64
        configuration.spectrumArithmetic = .float64
        fbank = try KaldiFbank(configuration)
    }

    /// Features of mono 16 kHz `samples` in [−1, 1].
    public func callAsFunction(_ samples: [Float]) throws -> Features {
        let logMel = try fbank(samples)
        let frames = logMel.shape[0], bins = logMel.shape[1]
        guard frames >= 2 else {
            throw AudioError.invalidParameter("w2v-BERT features need at least 2 frames (\(samples.count) samples given)")
        }
        // Per-bin normalisation over time (unbiased variance, as torch/transformers).
        var values = logMel.scalars
        for b in 0..<bins {
            var mean = 0.0
            for t in 0..<frames { mean += Double(values[t * bins + b]) }
            mean /= Double(frames)
            var variance = 0.0
            for t in 0..<frames {
                let d = Double(values[t * bins + b]) - mean
                variance += d * d
            }
            variance /= Double(frames - 1)
            let inv = 1 / (variance + 1e-7).squareRoot()
            for t in 0..<frames { values[t * bins + b] = Float((Double(values[t * bins + b]) - mean) * inv) }
        }
        // Pad to a multiple of the stride with zeros (mask 0), then stack consecutive frames.
        let padded = (frames + stride - 1) / stride * stride
        values += [Float](repeating: 0, count: (padded - frames) * bins)
        let mask = (0..<(padded / stride)).map { row in Int32(row * stride + stride - 1 < frames ? 1 : 0) }
        return Features(inputFeatures: try Tensor(shape: [padded / stride, stride * bins], scalars: values),
                        attentionMask: mask)
    }
}
