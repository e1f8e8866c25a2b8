/// Activation functions (element-wise, SIMD, multi-core). Formulas follow `torch.nn.functional`.
extension Tensor {
    /// Which GELU formula to use (`torch.nn.functional.gelu(approximate:)`).
    public enum GELUApproximation: String, Sendable, Codable {
        /// 0.5·x·(1 + erf(x/√2)).
        case none
        /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); HF `gelu_new`.
        case tanh
    }

    /// max(x, 0).
    public func relu() -> Tensor { Elementwise.map(self) { $0.replacing(with: 0, where: $0 .< 0) } }

    /// x for x ≥ 0, slope·x below (`LeakyReLU`).
    public func leakyRelu(slope: Float) -> Tensor {
        Elementwise.map(self) { $0.replacing(with: $0 * slope, where: $0 .< 0) }
    }

    /// Logistic sigmoid.
    public func sigmoid() -> Tensor { Elementwise.map(self) { VectorMath.sigmoid($0) } }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor { Elementwise.map(self) { VectorMath.tanh($0) } }

    /// x·sigmoid(x) (a.k.a. swish).
    public func silu() -> Tensor { Elementwise.map(self) { $0 * VectorMath.sigmoid($0) } }

    /// `silu(self) ⊙ other` in one pass (SwiGLU's gate), bit-identical to `silu().multiplying(other)`.
    public func siluMultiplying(_ other: Tensor) throws -> Tensor {
        try Elementwise.zip(self, other, operation: "silu_mul") { ($0 * VectorMath.sigmoid($0)) * $1 }
    }

    /// x·tanh(softplus(x)), with softplus's threshold of 20 (identity above it) as in PyTorch.
    public func mish() -> Tensor {
        Elementwise.map(self) { x in
            // tanh(log(1 + e^x)) = n / (n + 2) with n = e^x·(e^x + 2).
            let e = VectorMath.exp(x)
            let n = e * (e + 2)
            let result = x * n / (n + 2)
            return result.replacing(with: x, where: x .> 20)
        }
    }

    /// Gaussian error linear unit.
    public func gelu(approximation: GELUApproximation = .none) -> Tensor {
        switch approximation {
        case .none:
            return Elementwise.map(self) { x in 0.5 * x * (1 + VectorMath.erf(x * 0.707_106_781_186_547_5)) }
        case .tanh:
            return Elementwise.map(self) { x in
                let inner = 0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)
                return 0.5 * x * (1 + VectorMath.tanh(inner))
            }
        }
    }

    /// Gated linear unit: splits `axis` in halves `a`, `b` and returns `a·sigmoid(b)`.
    public func glu(axis: Int = -1) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "glu")
        guard shape[axis] % 2 == 0 else {
            throw TensorError.invalidArgument(operation: "glu", message: "axis \(axis) extent \(shape[axis]) is odd")
        }
        let halves = try split(sizes: [shape[axis] / 2, shape[axis] / 2], axis: axis)
        return try Elementwise.zip(halves[0], halves[1], operation: "glu") { a, b in a * VectorMath.sigmoid(b) }
    }

    /// Snake activation x + 1/(α + 1e-9)·sin²(α·x) over `[batch, channels, time]` with per-channel `alpha` `[channels]`.
    /// With `logScale` the parameter holds log α (BigVGAN's `alpha_logscale`).
    public func snake(alpha: Tensor, logScale: Bool) throws -> Tensor {
        try snakeBeta(alpha: alpha, beta: alpha, logScale: logScale, operation: "snake")
    }

    /// SnakeBeta activation x + 1/(β + 1e-9)·sin²(α·x) over `[batch, channels, time]`; `alpha`, `beta` are `[channels]`.
    public func snakeBeta(alpha: Tensor, beta: Tensor, logScale: Bool) throws -> Tensor {
        try snakeBeta(alpha: alpha, beta: beta, logScale: logScale, operation: "snakeBeta")
    }

    private func snakeBeta(alpha: Tensor, beta: Tensor, logScale: Bool, operation: String) throws -> Tensor {
        guard rank == 3, alpha.count == shape[1], beta.count == shape[1] else {
            throw TensorError.shapeMismatch(
                operation: operation, message: "input \(shape) (expects [B, C, T]), alpha \(alpha.shape), beta \(beta.shape)")
        }
        let a = alpha.scalars.map { logScale ? scalarExp($0) : $0 }
        let b = beta.scalars.map { 1 / ((logScale ? scalarExp($0) : $0) + 1e-9) }
        let x = contiguous()
        let (batch, channels, time) = (shape[0], shape[1], shape[2])
        return Tensor.make(shape) { out in
            let src = UnsafePointer(x.basePointer), dst = out.baseAddress!
            Parallel.forEachChunk(count: batch * channels, minimumChunk: max(1, Elementwise.parallelThreshold / max(time, 1))) { rows in
                for row in rows {
                    let c = row % channels
                    let av = a[c], inv = b[c]
                    Elementwise.mapDense(src + row * time, dst + row * time, count: time) { v in
                        v + inv * VectorMath.sinSquared(v * av)
                    }
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func scalarExp(_ x: Float) -> Float { expf(x) }
