import CIndexTTSKernels
import COpenBLAS

/// A weight matrix `[rows, columns]` (PyTorch `Linear` layout, one output per row) stored as IEEE fp16: half the
/// bytes of fp32, which is what bounds memory-bound decoding (one input row against every weight). Products are
/// computed in fp32 by C kernels chosen per instruction set (``KernelSet``): 1–4 rows (a request's beams) by a SIMD
/// GEMV that widens each weight once and dots it with every row, output rows split across cores (2–4 rows too wide
/// to stay in L1 beside the weights by the register tiles instead, ``gemvInputBytes``); 5–512 rows
/// (several requests decoding together, a prompt) by register tiles over cache-resident blocks of weights; more rows
/// by widening blocks of weights and calling `cblas_sgemm`. The portable path (``KernelSet/swift``) has Swift
/// versions of the GEMV for 1–8 rows.
///
/// Rounding to fp16 changes each weight by at most 2⁻¹¹ relative (values beyond ±65504 are rejected), so a product
/// changes by at most about 5·10⁻⁴ of Σ|wᵢ·xᵢ|.
public struct HalfMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    let storage: HalfStorage

    /// Thread safety: written once in `HalfMatrix.init`, read-only afterwards.
    final class HalfStorage: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Float16>
        init(count: Int) {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 2, alignment: 64)
                .bindMemory(to: Float16.self, capacity: max(count, 1))
        }
        deinit { UnsafeMutableRawPointer(pointer).deallocate() }
    }

    /// Rounds `weight` to fp16. `layout` says how `weight` is stored; the half matrix is always `[out, in]`.
    /// - Throws: when a weight is outside the fp16 range (it would become infinite).
    public init(_ weight: Tensor, layout: Tensor.WeightLayout = .outIn) throws {
        guard weight.rank == 2 else {
            throw TensorError.shapeMismatch(operation: "HalfMatrix", message: "weight \(weight.shape) is not a matrix")
        }
        let w = layout == .outIn ? weight.contiguous() : try weight.transposed(0, 1).contiguous()
        rows = w.shape[0]
        columns = w.shape[1]
        storage = HalfStorage(count: rows * columns)
        let source = UnsafePointer(w.basePointer), target = storage.pointer
        let count = rows * columns
        var largest: Float = 0
        for i in 0..<count { largest = Swift.max(largest, abs(source[i])) }
        guard largest <= 65_504 else {
            throw TensorError.invalidArgument(operation: "HalfMatrix", message: "weight magnitude \(largest) exceeds the fp16 range")
        }
        Parallel.forEachChunk(count: count, minimumChunk: 1 << 16) { range in
            for i in range { target[i] = Float16(source[i]) }
        }
    }

    /// Bytes the weights occupy.
    public var byteCount: Int { rows * columns * 2 }

    /// The kernel set for 1–8 rows unless `INDEXTTS_KERNELS` forces one: AVX2 where the CPU has it. Decoding-shaped
    /// products are bound by the weights' read bandwidth; on Zen 4 (2 cores, `indextts bench ops`) the AVX2 kernel
    /// reads 28.7–30.1 GB/s for 3 rows against 26.9–27.9 GB/s for the 512-bit one and 21–22 GB/s for the portable
    /// Swift loop, and all three read 33–34 GB/s for one row (docs/BENCHMARKS.md).
    public static let defaultKernels: KernelSet = KernelSet.forced ?? Swift.min(.avx2, KernelSet.supported)

    /// The kernel set of the register tiles when 2–4 rows are too wide for the GEMV (``gemvInputBytes``), unless
    /// `INDEXTTS_KERNELS` forces one: the widest the CPU has. On Zen 4 (2 cores, 24 matrices 1280×5120 as in the
    /// GPT's MLP output, 3 rows, best of 12): AVX-512 tiles of 4 weight rows 10.6–10.9 ms, AVX2 tiles of 3 rows
    /// 12.5–12.6 ms, the AVX2 GEMV 18.9–19.5 ms.
    public static let tileKernels: KernelSet = KernelSet.forced ?? KernelSet.supported

    /// Above this many bytes of fp32 input rows (`count × columns × 4`), 2–4 rows run through the register tiles
    /// instead of the GEMV. The GEMV walks one weight row at a time (one sequential stream over the whole matrix) and
    /// dots it with every input row, so its input rows must stay in L1 (32 KB per core on Zen 4): 3 beams × 5,120
    /// columns (60 KB) come from L2 for every weight row and took the GPT's MLP output product from the 1-row time
    /// (≈ 10 ms for 24 layers) to 19 ms. The tiles reuse each loaded input vector for 4 weight rows, at the cost of 4
    /// shorter streams — slower where the rows are short (24 matrices 5120×1280, 3 rows: GEMV 9.2 ms, tiles 15 ms).
    public static let gemvInputBytes = 24 * 1024

    /// `x·Wᵀ (+ bias)`: `[…, columns] → […, rows]`.
    /// - Parameter kernels: the kernel set for up to ``blockedKernelRows`` rows (default: each path's measured
    ///   choice, ``tileKernels`` for 2–4 rows too wide for the GEMV, ``defaultKernels`` for the rest; one the CPU lacks falls back to
    ///   ``KernelSet/supported``) — tests run every path on one machine.
    public func multiply(_ x: Tensor, bias: Tensor? = nil, kernels requested: KernelSet? = nil) throws -> Tensor {
        let kernels = Swift.min(requested ?? Self.defaultKernels, KernelSet.supported)
        let tiles = Swift.min(requested ?? Self.tileKernels, KernelSet.supported)
        guard x.rank >= 1, x.shape[x.rank - 1] == columns else {
            throw TensorError.shapeMismatch(operation: "HalfMatrix.multiply", message: "input \(x.shape) for [\(rows), \(columns)] weights")
        }
        if let bias, bias.count != rows {
            throw TensorError.shapeMismatch(operation: "HalfMatrix.multiply", message: "bias \(bias.shape) for \(rows) outputs")
        }
        let input = x.contiguous()
        let batch = input.count / max(columns, 1)
        let biasValues = bias?.contiguous()
        return Tensor.make(Array(x.shape.dropLast()) + [rows]) { out in
            let dst = out.baseAddress!, src = UnsafePointer(input.basePointer)
            if batch == 0 {
                // No rows: nothing to multiply (and nothing for a kernel to write).
            } else if batch <= 4, batch >= 2, batch * columns * 4 > Self.gemvInputBytes, tiles != .swift {
                // Decoding beams whose input rows do not fit L1 beside the weights: one pass of the weights through
                // the register tiles (each input vector serves 4 or 3 weight rows).
                kernelRows(src, count: batch, dst, wide: tiles == .avx512, tiles: true)
            } else if batch <= 4, kernels != .swift {
                // One pass of the weights through the C GEMV kernel of this CPU's instruction set (decoding beams).
                kernelRows(src, count: batch, dst, wide: kernels == .avx512)
            } else if batch <= Self.blockedKernelRows, kernels != .swift {
                kernelBlocks(src, batch: batch, dst, wide: kernels == .avx512)
            } else if batch == 1 {
                gemv(src, dst)
            } else if batch <= SmallBatchLinear.maximumRows {
                // Beams decoding together: each fp16 weight is read and widened once for up to four rows.
                var start = 0
                while start < batch {
                    let count = Swift.min(4, batch - start)
                    gemvRows(src + start * columns, count: count, dst + start * rows)
                    start += count
                }
            } else {
                gemm(src, batch: batch, into: dst)
            }
            if let biasValues {
                for b in 0..<batch {
                    Elementwise.zipDense(UnsafePointer(dst + b * rows), 1, UnsafePointer(biasValues.basePointer), 1,
                                         dst + b * rows, count: rows) { $0 + $1 }
                }
            }
        }
    }

    /// One of the C kernels of `indextts_kernels.h` (same arguments for the GEMV and the register tiles).
    private typealias RowKernel = @convention(c) (UnsafePointer<UInt16>?, Int, Int, Int, UnsafePointer<Float>?, Int,
                                                  UnsafeMutablePointer<Float>?, Int) -> Void

    /// `y[b, r] = Σ_c W[r, c]·x[b, c]` for `count` (1–4) rows of x `[count, columns]` and y `[count, rows]` in one
    /// pass over the weights, output rows split across cores: through the GEMV (`indextts_f16_gemv_avx512`/`_avx2`,
    /// ``KernelSet``) or, with `tiles`, the register tiles (`indextts_f16_gemm_avx512`: 4 weight rows, `_avx2`: 3; all
    /// input rows are one group, so no weight block needs to stay in cache).
    private func kernelRows(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>, wide: Bool,
                            tiles: Bool = false) {
        let kernel: RowKernel
        switch (tiles, wide) {
        case (true, true): kernel = indextts_f16_gemm_avx512
        case (true, false): kernel = indextts_f16_gemm_avx2
        case (false, true): kernel = indextts_f16_gemv_avx512
        case (false, false): kernel = indextts_f16_gemv_avx2
        }
        let n = columns, outputs = rows
        let weights = UncheckedSendableBox(UnsafeRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self))
        let xs = UncheckedSendableBox(x), ys = UncheckedSendableBox(y)
        Parallel.forEachChunk(count: outputs, minimumChunk: 64) { range in
            kernel(weights.value, n, range.lowerBound, range.upperBound, xs.value, count, ys.value, outputs)
        }
    }

    /// Up to this many input rows (a prompt's prefill, several requests' beams decoding together) run through the C
    /// register-tile kernels in weight blocks that stay in cache while every group of four input rows passes over
    /// them (``kernelBlocks``); more rows widen blocks of weights to fp32 for SGEMM. Measured on Zen 4 (`bench gpt
    /// --precision f16 --prefill N`, GPT-2 24×1280): 128 positions 681–686 ms against SGEMM's 862–1,040 ms, 350
    /// positions 1,906 ms against 2,076 (a latent pass' length), 500 positions 175 positions/s against SGEMM's 169
    /// at 450; 4 requests × 3 beams (12 rows) 109–119 ms per step.
    static let blockedKernelRows = 512

    /// `y[b, r] = Σ_c W[r, c]·x[b, c]` for `batch` rows of x `[batch, columns]` and y `[batch, rows]`: output rows
    /// split across cores; each core walks its rows in blocks of 16 on AVX-512, 15 on AVX2 (whole tiles; ≤ 160 KB of
    /// fp16 weights at 5,120 columns) and runs the C register-tile kernel (`indextts_f16_gemm_*`: 4 or 3 weight rows ×
    /// 4 input rows) over the block once per group of four input rows, so that the weights are read from memory once
    /// and widened in registers, never copied or packed. (Before the tile, one weight row at a time: 12 rows took
    /// 153 ms, now 109–119; blocks of 15 instead of 16 on AVX2 took the 128-position prefill from 790–864 to 681–686 ms.)
    private func kernelBlocks(_ x: UnsafePointer<Float>, batch: Int, _ y: UnsafeMutablePointer<Float>, wide: Bool) {
        let n = columns, outputs = rows
        let weights = UncheckedSendableBox(UnsafeRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self))
        let xs = UncheckedSendableBox(x), ys = UncheckedSendableBox(y)
        Parallel.forEachChunk(count: outputs, minimumChunk: 64) { range in
            var start = range.lowerBound
            while start < range.upperBound {
                let end = Swift.min(start + (wide ? 16 : 15), range.upperBound)  // whole tiles: 4 rows (AVX-512), 3 (AVX2)
                var b = 0
                while b < batch {
                    let count = Swift.min(4, batch - b)
                    if wide {
                        indextts_f16_gemm_avx512(weights.value, n, start, end, xs.value + b * n, count, ys.value + b * outputs, outputs)
                    } else {
                        indextts_f16_gemm_avx2(weights.value, n, start, end, xs.value + b * n, count, ys.value + b * outputs, outputs)
                    }
                    b += count
                }
                start = end
            }
        }
    }

    /// `y[b, r] = Σ_c W[r, c]·x[b, c]` for `count` (1–4) rows of x `[count, columns]` and y `[count, rows]`: every
    /// weight row is widened once and dotted with all x rows (missing rows repeat the first; their sums are dropped).
    /// The portable path (``KernelSet/swift``).
    private func gemvRows(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        let n = columns, outputs = rows, weights = UnsafePointer(storage.pointer)
        let x0 = x, x1 = count > 1 ? x + n : x, x2 = count > 2 ? x + 2 * n : x, x3 = count > 3 ? x + 3 * n : x
        let full = n / 8 * 8
        Parallel.forEachChunk(count: outputs, minimumChunk: 32) { range in
            for r in range {
                let row = weights + r * n
                var a0 = V(repeating: 0), a1 = V(repeating: 0), a2 = V(repeating: 0), a3 = V(repeating: 0)
                var j = 0
                while j < full {
                    let w = V(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float16>.self))
                    a0.addProduct(w, UnsafeRawPointer(x0 + j).loadUnaligned(as: V.self))
                    a1.addProduct(w, UnsafeRawPointer(x1 + j).loadUnaligned(as: V.self))
                    a2.addProduct(w, UnsafeRawPointer(x2 + j).loadUnaligned(as: V.self))
                    a3.addProduct(w, UnsafeRawPointer(x3 + j).loadUnaligned(as: V.self))
                    j += 8
                }
                var sums = (a0.sum(), a1.sum(), a2.sum(), a3.sum())
                while j < n {
                    let w = Float(row[j])
                    sums.0 += w * x0[j]; sums.1 += w * x1[j]; sums.2 += w * x2[j]; sums.3 += w * x3[j]
                    j += 1
                }
                y[r] = sums.0
                if count > 1 { y[outputs + r] = sums.1 }
                if count > 2 { y[2 * outputs + r] = sums.2 }
                if count > 3 { y[3 * outputs + r] = sums.3 }
            }
        }
    }

    /// y[r] = Σ_c W[r, c]·x[c], rows split across cores.
    private func gemv(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        let n = columns, weights = UnsafePointer(storage.pointer)
        Parallel.forEachChunk(count: rows, minimumChunk: 64) { range in
            for r in range {
                let row = weights + r * n
                var a0 = V(repeating: 0), a1 = V(repeating: 0), a2 = V(repeating: 0), a3 = V(repeating: 0)
                var j = 0
                while j + 32 <= n {
                    a0.addProduct(V(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float16>.self)),
                                  UnsafeRawPointer(x + j).loadUnaligned(as: V.self))
                    a1.addProduct(V(UnsafeRawPointer(row + j + 8).loadUnaligned(as: SIMD8<Float16>.self)),
                                  UnsafeRawPointer(x + j + 8).loadUnaligned(as: V.self))
                    a2.addProduct(V(UnsafeRawPointer(row + j + 16).loadUnaligned(as: SIMD8<Float16>.self)),
                                  UnsafeRawPointer(x + j + 16).loadUnaligned(as: V.self))
                    a3.addProduct(V(UnsafeRawPointer(row + j + 24).loadUnaligned(as: SIMD8<Float16>.self)),
                                  UnsafeRawPointer(x + j + 24).loadUnaligned(as: V.self))
                    j += 32
                }
                var sum = ((a0 + a1) + (a2 + a3)).sum()
                while j < n { sum += Float(row[j]) * x[j]; j += 1 }
                y[r] = sum
            }
        }
    }

    /// Several input rows: widen blocks of 256 weight rows to fp32 and multiply with `cblas_sgemm`.
    private func gemm(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let block = 256
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * columns)
        defer { scratch.deallocate() }
        var start = 0
        while start < rows {
            let count = Swift.min(block, rows - start)
            DTypeConversion.toFloat32(UnsafeRawPointer(storage.pointer + start * columns), dtype: .float16,
                                      count: count * columns, into: scratch)
            // y[:, start..<start+count] = x · blockᵀ (ldc = rows)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(batch), blasint(count), blasint(columns), 1,
                        x, blasint(columns), scratch, blasint(columns), 0, y + start, blasint(rows))
            start += count
        }
    }
}
