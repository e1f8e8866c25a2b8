import CIndexTTSKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Row kernels over the last axis: softmax, log-softmax and reductions.
enum RowKernels {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = V(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            m = VectorMath.maximum(m, UnsafeRawPointer(p + i).loadUnaligned(as: V.self))
            i += 8
        }
        var result = m.max()
        while i < n { result = Swift.max(result, p[i]); i += 1 }
        return result
    }

    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = V(repeating: 0), s1 = V(repeating: 0)
        var i = 0
        while i + 16 <= n {
            s0 += UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
            s1 += UnsafeRawPointer(p + i + 8).loadUnaligned(as: V.self)
            i += 16
        }
        var result = (s0 + s1).sum()
        while i < n { result += p[i]; i += 1 }
        return result
    }

    /// Writes e^(x − shift) to `dst` and returns the sum of what it wrote.
    @inline(__always)
    static func expShifted(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        let s = V(repeating: shift)
        while i + 8 <= n {
            let e = VectorMath.exp(UnsafeRawPointer(src + i).loadUnaligned(as: V.self) - s)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: e, as: V.self)
            acc += e
            i += 8
        }
        var total = acc.sum()
        while i < n {
            let e = VectorMath.exp(V(repeating: src[i] - shift))[0]
            dst[i] = e
            total += e
            i += 1
        }
        return total
    }

    /// The unnormalised softmax of `scale·row` for attention: `e^(scale·(x − max))` written over the row (or, when
    /// `bfloat16` is given, there as bfloat16, round to nearest even), returning 1/Σ to apply to the output row
    /// after the value product. A row that is entirely −∞ becomes zeros and returns 0. `scale` must be positive.
    /// Runs on the C kernels of ``softmaxKernels`` (the Swift loop below where the CPU or build has none).
    @inline(__always)
    static func unnormalisedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, scale: Float,
                                       bfloat16: UnsafeMutablePointer<UInt16>?,
                                       kernels: KernelSet = RowKernels.softmaxKernels) -> Float {
        switch kernels {
        case .avx512: return indextts_softmax_row_avx512(row, n, scale, bfloat16)
        case .avx2: return indextts_softmax_row_avx2(row, n, scale, bfloat16)
        case .swift: return unnormalisedSoftmaxRowSwift(row, n, scale: scale, bfloat16: bfloat16)
        }
    }

    /// Whether rows that become bfloat16 operands (attention probabilities, SwiGLU's gated activation) run on the
    /// AVX512-BF16 kernels (`indextts_softmax_row_bf16`, `indextts_silu_mul_bf16`: 2^t by a short polynomial and
    /// `vcvtne2ps2bf16`): where the CPU has AVX512-BF16 and `INDEXTTS_KERNELS` does not force a narrower set.
    /// Elsewhere the fp32 kernels compute the rows and round them.
    static let bfloat16RowKernels: Bool = KernelSet.supported == .avx512 && (KernelSet.forced ?? .avx512) == .avx512
        && CPUIdentity.current.instructionSets.contains(.avx512bf16)

    /// ``unnormalisedSoftmaxRow(_:_:scale:bfloat16:kernels:)`` into bfloat16 for a bfloat16 P·V product (`row` is
    /// left alone): on the AVX512-BF16 kernel where ``bfloat16RowKernels``, else the fp32 kernel's values rounded.
    @inline(__always)
    static func bfloat16SoftmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, scale: Float,
                                   into bits: UnsafeMutablePointer<UInt16>) -> Float {
        if bfloat16RowKernels { return indextts_softmax_row_bf16(row, n, scale, bits) }
        return unnormalisedSoftmaxRow(row, n, scale: scale, bfloat16: bits)
    }

    /// The kernel set of the attention softmax: ``KernelSet/forced`` or the best the CPU supports (the row is
    /// compute-bound, so 512-bit vectors help even where they are double-pumped).
    static let softmaxKernels: KernelSet = KernelSet.forced ?? KernelSet.supported

    @inline(__always)
    static func unnormalisedSoftmaxRowSwift(_ row: UnsafeMutablePointer<Float>, _ n: Int, scale: Float,
                                            bfloat16: UnsafeMutablePointer<UInt16>?) -> Float {
        let m = max(UnsafePointer(row), n)
        if m == -.infinity {
            if let bfloat16 { bfloat16.update(repeating: 0, count: n) } else { row.update(repeating: 0, count: n) }
            return 0
        }
        var acc = V(repeating: 0)
        let shift = V(repeating: m), factor = V(repeating: scale)
        var i = 0
        while i + 8 <= n {
            let e = VectorMath.exp((UnsafeRawPointer(row + i).loadUnaligned(as: V.self) - shift) * factor)
            acc += e
            if let bfloat16 {
                let bits = unsafeBitCast(e, to: SIMD8<UInt32>.self)
                let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
                UnsafeMutableRawPointer(bfloat16 + i).storeBytes(of: SIMD8<UInt16>(truncatingIfNeeded: rounded), as: SIMD8<UInt16>.self)
            } else {
                UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: V.self)
            }
            i += 8
        }
        var total = acc.sum()
        while i < n {
            let e = VectorMath.exp(V(repeating: (row[i] - m) * scale))[0]
            total += e
            if let bfloat16 {
                let bits = e.bitPattern
                bfloat16[i] = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
            } else {
                row[i] = e
            }
            i += 1
        }
        return 1 / total
    }

    /// In-place softmax of one row; a row that is entirely −∞ becomes all zeros (fully masked query).
    @inline(__always)
    static func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        let m = max(src, n)
        if m == -.infinity {
            dst.update(repeating: 0, count: n)
            return
        }
        let total = expShifted(src, dst, n, shift: m)
        let inv = 1 / total
        Elementwise.mapDense(UnsafePointer(dst), dst, count: n) { $0 * inv }
    }

    /// Applies `body(src, dst, n)` to every row of the last axis, in parallel.
    static func rows(_ x: Tensor, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let dense = x.contiguous()
        let n = Swift.max(dense.shape.last ?? 1, 1)
        let rowCount = dense.count / n
        return withExtendedLifetime(dense) {
            Tensor.make(dense.shape) { out in
                let src = UnsafePointer(dense.basePointer), dst = out.baseAddress!
                Parallel.forEachChunk(count: rowCount, minimumChunk: Swift.max(1, 8192 / n)) { range in
                    for r in range { body(src + r * n, dst + r * n, n) }
                }
            }
        }
    }
}

extension Tensor {
    /// Softmax along `axis` (default last). Rows that are entirely −∞ give zeros instead of NaN.
    public func softmax(axis: Int = -1) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "softmax")
        if axis == rank - 1 {
            return RowKernels.rows(self) { RowKernels.softmaxRow($0, $1, $2) }
        }
        return try transposed(axis, rank - 1).softmax(axis: -1).transposed(axis, rank - 1).contiguous()
    }

    /// log(softmax(x)) along `axis`, computed as x − max − log Σ e^(x − max).
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "logSoftmax")
        if axis == rank - 1 {
            return RowKernels.rows(self) { src, dst, n in
                let m = RowKernels.max(src, n)
                let total = RowKernels.expShifted(src, dst, n, shift: m)
                let shift = m + logf(total)
                Elementwise.mapDense(src, dst, count: n) { $0 - shift }
            }
        }
        return try transposed(axis, rank - 1).logSoftmax(axis: -1).transposed(axis, rank - 1).contiguous()
    }

    /// Sum along `axis`, removing it.
    public func sum(axis: Int) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "sum")
        // Move the reduced axis last; the remaining axes keep their order.
        let order = (0..<rank).filter { $0 != axis } + [axis]
        let moved = try permuted(order).contiguous()
        let n = shape[axis]
        var outShape = shape
        outShape.remove(at: axis)
        let rowCount = Tensor.elementCount(outShape)
        return Tensor.make(outShape) { out in
            let src = UnsafePointer(moved.basePointer)
            for r in 0..<rowCount { out[r] = n == 0 ? 0 : RowKernels.sum(src + r * n, n) }
        }
    }

    /// Mean along `axis`, removing it.
    public func mean(axis: Int) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "mean")
        return try sum(axis: axis).affine(scale: 1 / Float(shape[axis]))
    }
}
