#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding applied to the first ``dimensions`` features of `[…, sequence, headDim]`.
public struct RotaryEmbedding: Sendable, Codable {
    /// How feature pairs are formed.
    public enum PairStyle: String, Sendable, Codable {
        /// Feature `i` pairs with `i + d/2` (`rotate_half`, GPT-NeoX / Llama / Qwen).
        case halves
        /// Feature `2i` pairs with `2i + 1` (GPT-J, gpt-fast style `apply_rotary_emb`).
        case interleaved
    }

    public var dimensions: Int
    public var base: Float
    public var style: PairStyle

    public init(dimensions: Int, base: Float = 10_000, style: PairStyle = .halves) {
        self.dimensions = dimensions
        self.base = base
        self.style = style
    }

    /// Angle θ(p, i) = p·base^(−2i/dimensions), computed in fp32 as PyTorch does.
    func angles(positions: [Int]) -> [Float] {
        let half = dimensions / 2
        var inverse = [Float](repeating: 0, count: half)
        for i in 0..<half { inverse[i] = 1 / powf(base, Float(2 * i) / Float(dimensions)) }
        var result = [Float](repeating: 0, count: positions.count * half)
        for (row, p) in positions.enumerated() {
            for i in 0..<half { result[row * half + i] = Float(p) * inverse[i] }
        }
        return result
    }

    /// Rotates `x` `[…, sequence, headDim]`; `positions` gives each sequence index's absolute position.
    public func apply(_ x: Tensor, positions: [Int]) throws -> Tensor {
        guard x.rank >= 2, x.shape[x.rank - 2] == positions.count, dimensions % 2 == 0,
              dimensions <= x.shape[x.rank - 1], dimensions > 0 else {
            throw TensorError.shapeMismatch(
                operation: "rotary", message: "input \(x.shape), \(positions.count) positions, rotary dimensions \(dimensions)")
        }
        let theta = angles(positions: positions)
        let half = dimensions / 2
        let cosines = theta.map { cosf($0) }, sines = theta.map { sinf($0) }
        let seq = positions.count, headDim = x.shape[x.rank - 1]
        let dense = x.contiguous()
        let rows = dense.count / headDim
        let style = self.style
        return Tensor.make(x.shape) { out in
            let src = UnsafePointer(dense.basePointer), dst = out.baseAddress!
            dst.update(from: src, count: dense.count)
            Parallel.forEachChunk(count: rows, minimumChunk: 512) { range in
                for r in range {
                    let t = r % seq
                    let s = src + r * headDim, d = dst + r * headDim
                    let c = cosines.withUnsafeBufferPointer { $0.baseAddress! + t * half }
                    let n = sines.withUnsafeBufferPointer { $0.baseAddress! + t * half }
                    for i in 0..<half {
                        let (a, b) = style == .halves ? (i, i + half) : (2 * i, 2 * i + 1)
                        let x0 = s[a], x1 = s[b]
                        d[a] = x0 * c[i] - x1 * n[i]
                        d[b] = x1 * c[i] + x0 * n[i]
                    }
                }
            }
        }
    }
}
