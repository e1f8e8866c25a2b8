import IndexTTSNN
import IndexTTSTensor

/// A 1-D convolution over time-major features `[T, in]` → `[T, out]` with TF's SAME padding (odd kernels:
/// (k − 1)/2 zeros each side), computed as im2col + one GEMM against the filter laid out `[out, k·in]`.
struct TimeConvolution: Sendable {
    /// `[out, kernel·in]`.
    let weight: Tensor
    let bias: Tensor
    let kernel: Int

    init(_ parts: (weight: Tensor, bias: Tensor, kernel: Int)) {
        weight = parts.weight
        bias = parts.bias
        kernel = parts.kernel
    }

    var inChannels: Int { weight.shape[1] / kernel }
    var outChannels: Int { weight.shape[0] }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 2, x.shape[1] == inChannels else {
            throw ModelError.invalidInput(component: "TimeConvolution", reason: "input \(x.shape), expected [T, \(inChannels)]")
        }
        let (time, channels, half) = (x.shape[0], inChannels, (kernel - 1) / 2)
        if kernel == 1 { return try x.linear(weight: weight, bias: bias) }
        let source = x.contiguous()
        let columns = Tensor.make([time, kernel * channels]) { out in
            out.update(repeating: 0)
            source.withUnsafeBufferPointer { src in
                for t in 0..<time {
                    for j in 0..<kernel {
                        let s = t + j - half
                        guard s >= 0 && s < time else { continue }
                        let destination = out.baseAddress! + (t * kernel + j) * channels
                        destination.update(from: src.baseAddress! + s * channels, count: channels)
                    }
                }
            }
        }
        return try columns.linear(weight: weight, bias: bias)
    }
}

/// LayerNorm over the last axis with TF's parameters (γ from `…/batchnorm/mul`, β from `…/batchnorm/sub`).
struct TFLayerNorm: Sendable {
    let gamma: Tensor
    let beta: Tensor
    let eps: Float

    init(_ parts: (gamma: Tensor, beta: Tensor, eps: Float)) {
        gamma = parts.gamma
        beta = parts.beta
        eps = parts.eps
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try x.layerNorm(weight: gamma, bias: beta, eps: eps) }
}
