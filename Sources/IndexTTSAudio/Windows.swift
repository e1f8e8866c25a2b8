#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Analysis windows, computed in float64 and stored as fp32.
public enum Window {
    /// Hann window; `periodic` matches `torch.hann_window(n)` (the default), symmetric matches `periodic=False`.
    public static func hann(_ length: Int, periodic: Bool = true) -> [Float] {
        let denominator = Double(periodic ? length : length - 1)
        guard denominator > 0 else { return [Float](repeating: 1, count: length) }
        return (0..<length).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / denominator)) }
    }

    /// Kaldi's "povey" window: a symmetric Hann window raised to the power 0.85.
    public static func povey(_ length: Int) -> [Float] {
        hann(length, periodic: false).map { Float(pow(Double($0), 0.85)) }
    }
}
