#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IndexTTSTensor

/// Band-limited resampling with a Hann-windowed sinc kernel, as `torchaudio.transforms.Resample` (defaults:
/// `sinc_interp_hann`, lowpass filter width 6, rolloff 0.99). IndexTTS2 uses it for 22 050 → 16 000 Hz before
/// w2v-BERT and CAMPPlus. The kernel is computed in float64 and stored as fp32, and applied as a strided
/// convolution through the tensor core's GEMM.
public struct SincResampler: Sendable {
    public let sourceRate: Int
    public let targetRate: Int
    /// Rates divided by their greatest common divisor.
    let step: Int, phases: Int
    let width: Int
    /// `[phases, 1, 2·width + step]`.
    let kernel: Tensor

    public init(from sourceRate: Int, to targetRate: Int, lowpassFilterWidth: Int = 6, rolloff: Double = 0.99) throws {
        guard sourceRate > 0, targetRate > 0, lowpassFilterWidth > 0, rolloff > 0, rolloff <= 1 else {
            throw AudioError.invalidParameter("resample \(sourceRate) → \(targetRate) Hz, width \(lowpassFilterWidth), rolloff \(rolloff)")
        }
        self.sourceRate = sourceRate
        self.targetRate = targetRate
        var a = sourceRate, b = targetRate
        while b != 0 { (a, b) = (b, a % b) }
        step = sourceRate / a
        phases = targetRate / a
        let baseFrequency = Double(min(step, phases)) * rolloff
        let lw = Double(lowpassFilterWidth)
        width = Int((lw * Double(step) / baseFrequency).rounded(.up))
        let taps = 2 * width + step
        var values = [Float](repeating: 0, count: phases * taps)
        let scale = baseFrequency / Double(step)
        for p in 0..<phases {
            for j in 0..<taps {
                var t = (-Double(p) / Double(phases) + Double(j - width) / Double(step)) * baseFrequency
                t = min(max(t, -lw), lw)
                let window = pow(cos(t * Double.pi / lw / 2), 2)
                let x = t * Double.pi
                let sinc = x == 0 ? 1 : sin(x) / x
                values[p * taps + j] = Float(sinc * window * scale)
            }
        }
        kernel = try Tensor(shape: [phases, 1, taps], scalars: values)
    }

    /// Output length for `count` input samples: ⌈count · target / source⌉.
    public func outputCount(for count: Int) -> Int {
        (count * phases + step - 1) / step
    }

    /// Resamples mono `samples`.
    public func callAsFunction(_ samples: [Float]) throws -> [Float] {
        if sourceRate == targetRate || samples.isEmpty { return samples }
        let x = try Tensor(shape: [1, 1, samples.count], scalars: samples)
            .padded(left: width, right: width + step)
        // [1, phases, blocks] → interleave phases: output n = block·phases + phase.
        let blocks = try x.conv1d(weight: kernel, stride: step)
        let interleaved = try blocks.transposed(1, 2).contiguous().scalars
        return Array(interleaved.prefix(outputCount(for: samples.count)))
    }
}
