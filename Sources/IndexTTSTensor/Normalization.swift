import CIndexTTSDNNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Normalisation layers' math (`torch.nn.functional` semantics; variance is biased, two-pass for accuracy).
extension Tensor {
    /// Layer norm over the last `normalizedAxes` axes (default 1): (x − mean)/√(var + eps)·weight + bias.
    /// `weight`/`bias` have the normalised shape (or are nil).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5, normalizedAxes: Int = 1) throws -> Tensor {
        guard normalizedAxes >= 1, normalizedAxes <= rank else {
            throw TensorError.invalidArgument(operation: "layerNorm", message: "normalizedAxes \(normalizedAxes) for \(shape)")
        }
        let n = shape.suffix(normalizedAxes).reduce(1, *)
        try Tensor.checkAffine(weight, bias, count: n, operation: "layerNorm", input: shape)
        return Tensor.normalizeRows(self, rowLength: n, weight: weight, bias: bias, subtractMean: true, eps: eps)
    }

    /// RMS norm over the last axis: x / √(mean(x²) + eps)·weight.
    public func rmsNorm(weight: Tensor?, eps: Float = 1e-6) throws -> Tensor {
        let n = shape.last ?? 1
        try Tensor.checkAffine(weight, nil, count: n, operation: "rmsNorm", input: shape)
        return Tensor.normalizeRows(self, rowLength: n, weight: weight, bias: nil, subtractMean: false, eps: eps)
    }

    /// RMS norm over the last axis followed by a per-item modulation (adaptive norms, e.g. the S2M DiT's
    /// AdaLN-RMSNorm): for `self` `[batch, time, dim]`, `(x / √(mean(x²) + eps)·weight)·scale[b] + shift[b]`, where
    /// item b's `scale` is `scale[b, scaleOffset ..< scaleOffset + dim]` and its `shift` likewise (`scale` and `shift`
    /// `[batch, ≥ offset + dim]`, e.g. both halves of one projection). Each row is read once and finished while it is in
    /// cache, rows split across cores; the same operations in the same order as `rmsNorm` then `x·scale + shift`.
    public func rmsNormModulated(weight: Tensor?, eps: Float = 1e-6, scale: Tensor, scaleOffset: Int = 0,
                                 shift: Tensor, shiftOffset: Int = 0) throws -> Tensor {
        let (dense, w, sc, sh) = try rmsNormModulatedOperands(weight: weight, scale: scale, scaleOffset: scaleOffset,
                                                              shift: shift, shiftOffset: shiftOffset)
        let n = shape[2], time = shape[1]
        let rows = n == 0 ? 0 : dense.count / n
        return Tensor.make(shape) { out in
            let src = UnsafePointer(dense.basePointer), dst = out.baseAddress!
            Parallel.forEachChunk(count: rows, minimumChunk: max(1, 8192 / max(n, 1))) { range in
                for r in range {
                    Self.rmsNormModulatedRow(src + r * n, into: dst + r * n, n: n, eps: eps, weight: w,
                                             scale: sc.basePointer + r / max(time, 1) * sc.shape[1] + scaleOffset,
                                             shift: sh.basePointer + r / max(time, 1) * sh.shape[1] + shiftOffset)
                }
            }
        }
    }

    /// ``rmsNormModulated(weight:eps:scale:scaleOffset:shift:shiftOffset:)`` rounded to bfloat16 as each row is
    /// written (for a bfloat16 product next): the same values, rounded to nearest even.
    public func rmsNormModulated(bfloat16 weight: Tensor?, eps: Float = 1e-6, scale: Tensor, scaleOffset: Int = 0,
                                 shift: Tensor, shiftOffset: Int = 0) throws -> BFloat16Rows {
        let (dense, w, sc, sh) = try rmsNormModulatedOperands(weight: weight, scale: scale, scaleOffset: scaleOffset,
                                                              shift: shift, shiftOffset: shiftOffset)
        let n = shape[2], time = shape[1]
        return withExtendedLifetime((dense, w, sc, sh)) {
            BFloat16Rows.make(shape) { range, bits in
                // Each row through an fp32 row in L1, rounded as a whole.
                let row = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
                defer { row.deallocate() }
                for (i, r) in range.enumerated() {
                    Self.rmsNormModulatedRow(UnsafePointer(dense.basePointer + r * n), into: row, n: n, eps: eps, weight: w,
                                             scale: sc.basePointer + r / max(time, 1) * sc.shape[1] + scaleOffset,
                                             shift: sh.basePointer + r / max(time, 1) * sh.shape[1] + shiftOffset)
                    indextts_to_bf16(row, bits + i * n, n)
                }
            }
        }
    }

    private func rmsNormModulatedOperands(weight: Tensor?, scale: Tensor, scaleOffset: Int, shift: Tensor,
                                          shiftOffset: Int) throws -> (Tensor, Tensor?, Tensor, Tensor) {
        guard rank == 3, scale.rank == 2, shift.rank == 2, scale.shape[0] == shape[0], shift.shape[0] == shape[0],
              scaleOffset >= 0, shiftOffset >= 0, scale.shape[1] >= scaleOffset + shape[2],
              shift.shape[1] >= shiftOffset + shape[2] else {
            throw TensorError.shapeMismatch(operation: "rmsNormModulated",
                                            message: "input \(shape), scale \(scale.shape) at \(scaleOffset), shift \(shift.shape) at \(shiftOffset)")
        }
        try Tensor.checkAffine(weight, nil, count: shape[2], operation: "rmsNormModulated", input: shape)
        return (contiguous(), weight?.contiguous(), scale.contiguous(), shift.contiguous())
    }

    /// One row: `((x / rms(x)) · w) · scale + shift`, in that order.
    @inline(__always)
    private static func rmsNormModulatedRow(_ row: UnsafePointer<Float>, into o: UnsafeMutablePointer<Float>, n: Int,
                                            eps: Float, weight w: Tensor?, scale s: UnsafePointer<Float>,
                                            shift b: UnsafePointer<Float>) {
        typealias V = SIMD8<Float>
        var acc = V(repeating: 0)
        var i = 0
        while i + 8 <= n {
            let d = UnsafeRawPointer(row + i).loadUnaligned(as: V.self)
            acc += d * d
            i += 8
        }
        var sq = acc.sum()
        while i < n { sq += row[i] * row[i]; i += 1 }
        let inv = 1 / sqrtf(sq / Float(n) + eps)
        Elementwise.mapDense(row, o, count: n) { $0 * inv }
        if let w {
            Elementwise.zipDense(UnsafePointer(o), 1, UnsafePointer(w.basePointer), 1, o, count: n) { $0 * $1 }
        }
        Elementwise.zipDense(UnsafePointer(o), 1, s, 1, o, count: n) { $0 * $1 }
        Elementwise.zipDense(UnsafePointer(o), 1, b, 1, o, count: n) { $0 + $1 }
    }

    /// Group norm over `[batch, channels, *]`: statistics per (batch, group); affine per channel.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard rank >= 2, groups > 0, shape[1] % groups == 0 else {
            throw TensorError.invalidArgument(operation: "groupNorm", message: "\(groups) groups for input \(shape)")
        }
        let channels = shape[1]
        try Tensor.checkAffine(weight, bias, count: channels, operation: "groupNorm", input: shape)
        let spatial = shape.dropFirst(2).reduce(1, *)
        let perGroup = channels / groups * spatial
        let normalized = Tensor.normalizeRows(self, rowLength: perGroup, weight: nil, bias: nil, subtractMean: true, eps: eps)
        return try Tensor.channelAffine(normalized, scale: weight, shift: bias)
    }

    /// Batch norm in inference mode over `[batch, channels, *]` with running statistics.
    public func batchNorm(runningMean: Tensor, runningVariance: Tensor, weight: Tensor?, bias: Tensor?,
                          eps: Float = 1e-5) throws -> Tensor {
        guard rank >= 2 else {
            throw TensorError.invalidArgument(operation: "batchNorm", message: "input \(shape) needs [batch, channels, …]")
        }
        let channels = shape[1]
        try Tensor.checkAffine(weight, bias, count: channels, operation: "batchNorm", input: shape)
        try Tensor.checkAffine(runningMean, runningVariance, count: channels, operation: "batchNorm", input: shape)
        let mean = runningMean.scalars, variance = runningVariance.scalars
        let w = weight?.scalars, b = bias?.scalars
        var scale = [Float](repeating: 1, count: channels), shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let inv = 1 / sqrtf(variance[c] + eps)
            scale[c] = inv * (w?[c] ?? 1)
            shift[c] = (b?[c] ?? 0) - mean[c] * scale[c]
        }
        return try Tensor.channelAffine(self, scale: Tensor(shape: [channels], scalars: scale),
                                        shift: Tensor(shape: [channels], scalars: shift))
    }

    static func checkAffine(_ weight: Tensor?, _ bias: Tensor?, count: Int, operation: String, input: [Int]) throws {
        for (name, t) in [("weight", weight), ("bias", bias)] {
            if let t, t.count != count {
                throw TensorError.shapeMismatch(
                    operation: operation, message: "\(name) \(t.shape) for input \(input) (needs \(count) elements)")
            }
        }
    }

    /// x·scale[c] + shift[c] over `[batch, channels, *]`.
    static func channelAffine(_ x: Tensor, scale: Tensor?, shift: Tensor?) throws -> Tensor {
        if scale == nil && shift == nil { return x }
        let channels = x.shape[1]
        let spatial = x.shape.dropFirst(2).reduce(1, *)
        let s = scale?.scalars ?? [Float](repeating: 1, count: channels)
        let t = shift?.scalars ?? [Float](repeating: 0, count: channels)
        let dense = x.contiguous()
        return Tensor.make(x.shape) { out in
            let src = UnsafePointer(dense.basePointer), dst = out.baseAddress!
            let rows = x.shape[0] * channels
            Parallel.forEachChunk(count: rows, minimumChunk: max(1, Elementwise.parallelThreshold / max(spatial, 1))) { range in
                for r in range {
                    let sc = s[r % channels], sh = t[r % channels]
                    Elementwise.mapDense(src + r * spatial, dst + r * spatial, count: spatial) { $0 * sc + sh }
                }
            }
        }
    }

    /// Normalises each contiguous row of `rowLength` elements, then applies an optional per-element affine.
    static func normalizeRows(_ x: Tensor, rowLength n: Int, weight: Tensor?, bias: Tensor?, subtractMean: Bool,
                              eps: Float) -> Tensor {
        typealias V = SIMD8<Float>
        let dense = x.contiguous()
        let rows = n == 0 ? 0 : dense.count / n
        let w = weight?.contiguous(), b = bias?.contiguous()
        return Tensor.make(x.shape) { out in
            let src = UnsafePointer(dense.basePointer), dst = out.baseAddress!
            Parallel.forEachChunk(count: rows, minimumChunk: max(1, 8192 / max(n, 1))) { range in
                for r in range {
                    let row = src + r * n, o = dst + r * n
                    let mean = subtractMean ? RowKernels.sum(row, n) / Float(n) : 0
                    var acc = V(repeating: 0)
                    var i = 0
                    let m = V(repeating: mean)
                    while i + 8 <= n {
                        let d = UnsafeRawPointer(row + i).loadUnaligned(as: V.self) - m
                        acc += d * d
                        i += 8
                    }
                    var sq = acc.sum()
                    while i < n { let d = row[i] - mean; sq += d * d; i += 1 }
                    let inv = 1 / sqrtf(sq / Float(n) + eps)
                    Elementwise.mapDense(row, o, count: n) { ($0 - m) * inv }
                    if let w {
                        Elementwise.zipDense(UnsafePointer(o), 1, UnsafePointer(w.basePointer), 1, o, count: n) { $0 * $1 }
                    }
                    if let b {
                        Elementwise.zipDense(UnsafePointer(o), 1, UnsafePointer(b.basePointer), 1, o, count: n) { $0 + $1 }
                    }
                }
            }
        }
    }
}
