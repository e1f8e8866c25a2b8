#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// Fuses a weight-normalised parameter: `w = g · v / ‖v‖`, the norm taken over every axis but 0 (PyTorch's
    /// `weight_norm(dim=0)`, used by BigVGAN, the MaskGCT codec and the S2M DiT).
    /// - Parameters:
    ///   - g: magnitudes, `[out, 1, …]` (any shape with `out` elements).
    ///   - v: directions, `[out, …]`.
    public static func weightNorm(g: Tensor, v: Tensor) throws -> Tensor {
        guard v.rank >= 1, g.count == v.shape[0] else {
            throw TensorError.shapeMismatch(operation: "weightNorm", message: "g \(g.shape) for v \(v.shape)")
        }
        let rows = v.shape[0]
        let inner = rows == 0 ? 0 : v.count / rows
        let dense = v.contiguous(), magnitudes = g.scalars
        return Tensor.make(v.shape) { out in
            let src = UnsafePointer(dense.basePointer), dst = out.baseAddress!
            for r in 0..<rows {
                let row = src + r * inner
                var sumSquares: Double = 0
                for i in 0..<inner { sumSquares += Double(row[i]) * Double(row[i]) }
                let scale = magnitudes[r] / Float(sumSquares.squareRoot())
                Elementwise.mapDense(row, dst + r * inner, count: inner) { $0 * scale }
            }
        }
    }
}
