import CIndexTTSDNNL
import COpenBLAS
import Foundation

/// Which library runs the fp32 matrix products that are large enough to matter (``Tensor/gemm``): OpenBLAS's SGEMM,
/// or oneDNN's fp32 matmul (`brg:avx512_core`) on the same plain operands. On 2 Zen 4 cores (OpenBLAS 0.3.21's
/// Cooperlake kernels) oneDNN ran the models' shapes at 194–218 GFLOP/s against OpenBLAS's 152–197 (docs/BENCHMARKS.md,
/// round 8); below ≈ 2²⁵ multiply-adds, or with a shallow inner dimension (attention scores: 64), OpenBLAS was faster.
public enum Float32GEMMEngine: String, Sendable {
    case openBLAS = "openblas"
    case oneDNN = "onednn"

    /// `INDEXTTS_SGEMM`: `openblas`, `onednn`, or `auto` (the default; also any other value).
    public static let environmentVariable = "INDEXTTS_SGEMM"

    /// The engine of large products: `auto` takes oneDNN where it works and the CPU has AVX-512 (F, DQ, CD, BW, VL:
    /// oneDNN's fp32 `brg:avx512_core` kernels; on AVX2 alone it runs a generic JIT GEMM that measured no faster than
    /// OpenBLAS's Haswell kernels), else OpenBLAS. Asking for oneDNN where it does not work gives OpenBLAS.
    public static let current: Float32GEMMEngine = {
        let asked = getenv(environmentVariable).map { String(cString: $0).lowercased() } ?? "auto"
        guard asked != "openblas", OneDNN.ready else { return .openBLAS }
        if asked == "onednn" { return .oneDNN }
        return CPUIdentity.current.instructionSets.isSuperset(of: .avx512Core) ? .oneDNN : .openBLAS
    }()

    /// Products of at least this many multiply-adds (m·n·k) go to oneDNN when it is ``current``...
    public static let minimumWork = 1 << 25
    /// ...and an inner dimension k of at least this.
    public static let minimumDepth = 256

    /// The engine a product of these sizes runs on (products that add to what C holds, beta ≠ 0, stay on OpenBLAS:
    /// a failed oneDNN product can then always be written again by SGEMM).
    static func engine(m: Int, n: Int, k: Int, beta: Float = 0) -> Float32GEMMEngine {
        current == .oneDNN && beta == 0 && k >= minimumDepth && m * n * k >= minimumWork ? .oneDNN : .openBLAS
    }

    /// One line for `indextts system` and benchmark headers.
    public static var description: String {
        current == .oneDNN
            ? "oneDNN \(ComputePrecision.oneDNNVersion) from 2^\(minimumWork.trailingZeroBitCount) multiply-adds "
                + "(k ≥ \(minimumDepth)), OpenBLAS below"
            : "OpenBLAS"
    }
}

/// oneDNN set up once for every product that uses it (matrix products, convolutions, bfloat16): true when its CPU
/// engine works, with its products' thread count set to ``Parallel/workerCount`` (``indextts_dnnl_set_threads``).
enum OneDNN {
    static let ready: Bool = {
        guard indextts_dnnl_available() != 0 else { return false }
        indextts_dnnl_set_threads(Int32(Parallel.workerCount))
        return true
    }()
}

/// Matrix products on OpenBLAS (and oneDNN for large fp32 ones: ``Float32GEMMEngine``). Matrix-vector products use
/// `cblas_sgemv` (an `sgemm` with M = 1 is 2–3× slower).
extension Tensor {
    /// How a weight matrix is stored.
    public enum WeightLayout: Sendable {
        /// `[out, in]`, as `torch.nn.Linear`.
        case outIn
        /// `[in, out]`, as Hugging Face's GPT-2 `Conv1D`.
        case inOut
    }

    /// A view of the last two axes usable by BLAS without copying: row-major (`transposed == false`) or
    /// column-major (`transposed == true`) with leading dimension `ld`.
    struct MatrixOperand {
        let tensor: Tensor
        let transposed: Bool
        let ld: Int
    }

    /// The BLAS view of the last two axes, or nil when they are neither row- nor column-major.
    func matrixOperand() -> MatrixOperand? {
        let r = rank
        let rows = shape[r - 2], cols = shape[r - 1]
        if strides[r - 1] == 1 && (rows <= 1 || strides[r - 2] >= cols) {
            return MatrixOperand(tensor: self, transposed: false, ld: max(rows <= 1 ? cols : strides[r - 2], 1))
        }
        if strides[r - 2] == 1 && (cols <= 1 || strides[r - 1] >= rows) {
            return MatrixOperand(tensor: self, transposed: true, ld: max(cols <= 1 ? rows : strides[r - 1], 1))
        }
        return nil
    }

    /// Matrix product over the last two axes, `[…, M, K] × […, K, N] → […, M, N]`; leading (batch) axes broadcast.
    /// Transposed views are passed to BLAS without copying.
    public func matmul(_ other: Tensor) throws -> Tensor {
        guard rank >= 2, other.rank >= 2, shape[rank - 1] == other.shape[other.rank - 2] else {
            throw TensorError.shapeMismatch(operation: "matmul", message: "\(shape) × \(other.shape)")
        }
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        let batchShape = try Elementwise.broadcastShape(Array(shape.dropLast(2)), Array(other.shape.dropLast(2)),
                                                        operation: "matmul")
        // Operands whose matrices BLAS cannot address by a leading dimension are made dense first (before
        // broadcasting, so broadcast batch axes stay zero-strided views).
        let lhs = sliceMatrixTemplate().matrixOperand() == nil ? contiguous() : self
        let rhs = other.sliceMatrixTemplate().matrixOperand() == nil ? other.contiguous() : other
        let a = try lhs.expanded(to: batchShape + [m, k]), b = try rhs.expanded(to: batchShape + [k, n])
        let batches = Tensor.elementCount(batchShape)
        let outShape = batchShape + [m, n]
        // Each batch item is a separate GEMM; offsets come from the (possibly zero) batch strides.
        let batchStridesA = Array(a.strides.dropLast(2)), batchStridesB = Array(b.strides.dropLast(2))
        let lastA = a.sliceMatrixTemplate(), lastB = b.sliceMatrixTemplate()
        guard let opA = lastA.matrixOperand(), let opB = lastB.matrixOperand() else {
            throw TensorError.invalidArgument(operation: "matmul", message: "operand layout not addressable by BLAS")
        }
        return Tensor.make(outShape) { out in
            let dst = out.baseAddress!
            if k == 0 {
                dst.update(repeating: 0, count: out.count)
                return
            }
            // Walk the batch axes as "rows" of batchShape + [1]; each row is one GEMM.
            RowWalker.walk(shape: batchShape + [1], strides: [batchStridesA + [0], batchStridesB + [0]],
                           rows: 0..<batches) { batch, offsets in
                Tensor.gemm(m: m, n: n, k: k,
                            a: opA.tensor.basePointer + offsets[0], transA: opA.transposed, lda: opA.ld,
                            b: opB.tensor.basePointer + offsets[1], transB: opB.transposed, ldb: opB.ld,
                            c: dst + batch * m * n, ldc: n, beta: 0)
            }
        }
    }

    /// The last-two-axes matrix at batch index 0 (keeps strides), used to decide the BLAS layout once per call.
    private func sliceMatrixTemplate() -> Tensor {
        Tensor(shape: Array(shape.suffix(2)), strides: Array(strides.suffix(2)), offset: offset, storage: storage)
    }

    /// Affine map of the last axis: `[…, in] → […, out]`, `y = x·Wᵀ + b` for `.outIn` weights.
    /// A single row runs as GEMV, up to eight rows through ``SmallBatchLinear`` (large weights; up to 24 for the
    /// Conv1D layout on the C kernels), more as one GEMM.
    public func linear(weight: Tensor, bias: Tensor? = nil, layout: WeightLayout = .outIn) throws -> Tensor {
        guard weight.rank == 2 else {
            throw TensorError.shapeMismatch(operation: "linear", message: "weight \(weight.shape) is not a matrix")
        }
        let (outFeatures, inFeatures) = layout == .outIn ? (weight.shape[0], weight.shape[1]) : (weight.shape[1], weight.shape[0])
        guard rank >= 1, shape[rank - 1] == inFeatures else {
            throw TensorError.shapeMismatch(operation: "linear", message: "input \(shape) with weight \(weight.shape) (\(layout))")
        }
        if let bias, bias.count != outFeatures {
            throw TensorError.shapeMismatch(operation: "linear", message: "bias \(bias.shape) for \(outFeatures) outputs")
        }
        let x = contiguous(), w = weight.contiguous()
        let rows = x.count / max(inFeatures, 1)
        let biasValues = bias?.contiguous()
        return Tensor.make(Array(shape.dropLast()) + [outFeatures]) { out in
            let dst = out.baseAddress!
            if Self.linearRunsAsGEMM(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout) {
                // The bias goes into the product (oneDNN adds it; OpenBLAS starts from it).
                Tensor.gemm(m: rows, n: outFeatures, k: inFeatures,
                            a: x.basePointer, transA: false, lda: inFeatures,
                            b: w.basePointer, transB: layout == .outIn, ldb: w.shape[1],
                            c: dst, ldc: outFeatures, beta: 0, bias: biasValues?.basePointer)
                return
            }
            if let biasValues {
                for r in 0..<rows { (dst + r * outFeatures).update(from: biasValues.basePointer, count: outFeatures) }
            }
            let beta: Float = biasValues == nil ? 0 : 1
            if inFeatures == 0 {
                if biasValues == nil { dst.update(repeating: 0, count: out.count) }
                return
            }
            if rows == 1 {
                Tensor.gemv(weight: w.basePointer, rows: w.shape[0], columns: w.shape[1],
                            transposed: layout == .inOut, x: x.basePointer, y: dst, beta: beta)
            } else {
                if biasValues == nil { dst.update(repeating: 0, count: rows * outFeatures) }
                if layout == .inOut {
                    SmallBatchLinear.inOut(weight: w.basePointer, k: inFeatures, n: outFeatures, x: x.basePointer,
                                           rows: rows, y: dst)
                } else {
                    SmallBatchLinear.outIn(weight: w.basePointer, k: inFeatures, n: outFeatures, x: x.basePointer,
                                           rows: rows, y: dst)
                }
            }
        }
    }

    /// Whether ``linear(weight:bias:layout:)`` multiplies `rows` rows as one GEMM: not a single row (GEMV), not the
    /// beams decoding together (2…8 rows, large weights: ``SmallBatchLinear`` streams the weights once instead of a
    /// thin GEMM), not requests decoding together (9…24 rows, Conv1D layout: the C kernels' register tiles).
    static func linearRunsAsGEMM(rows: Int, inFeatures: Int, outFeatures: Int, layout: WeightLayout) -> Bool {
        let tileRows = layout == .inOut && SmallBatchLinear.defaultKernels != .swift ? SmallBatchLinear.maximumTileRows
            : SmallBatchLinear.maximumRows
        let smallBatch = rows >= 2 && rows <= tileRows && inFeatures * outFeatures >= 1 << 16
        return inFeatures > 0 && rows != 1 && !smallBatch
    }

    /// Whether ``linear(weight:bias:layout:adding:)`` accumulates the product onto the residual: one SGEMM on
    /// OpenBLAS (not oneDNN, which writes its output whole).
    static func linearAccumulatesOntoResidual(rows: Int, inFeatures: Int, outFeatures: Int, layout: WeightLayout) -> Bool {
        linearRunsAsGEMM(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, layout: layout)
            && Float32GEMMEngine.engine(m: rows, n: outFeatures, k: inFeatures) == .openBLAS
    }

    /// `residual + x·Wᵀ + b` (``linear(weight:bias:layout:)`` added to `residual`, which has the output's shape `[…,
    /// out]`): where the product runs on OpenBLAS's SGEMM it accumulates onto a copy of `residual` (beta 1), so the
    /// output is written once instead of being zeroed by SGEMM (its beta pass), written by the product and then read
    /// again by an addition — how a transformer block's output projections join the residual stream. Elsewhere
    /// (GEMV, small batches, products on oneDNN: the AVX-512 machines' large fp32 products) the product, then the
    /// addition; so does a residual of another (broadcastable) shape. The same sum up to fp32 rounding (the residual
    /// enters the accumulation first).
    public func linear(weight: Tensor, bias: Tensor? = nil, layout: WeightLayout = .outIn, adding residual: Tensor) throws -> Tensor {
        guard weight.rank == 2, rank >= 1 else { return try linear(weight: weight, bias: bias, layout: layout).adding(residual) }
        let (outFeatures, inFeatures) = layout == .outIn ? (weight.shape[0], weight.shape[1]) : (weight.shape[1], weight.shape[0])
        let rows = count / max(inFeatures, 1)
        guard shape[rank - 1] == inFeatures, residual.shape == Array(shape.dropLast()) + [outFeatures],
              bias.map({ $0.count == outFeatures }) ?? true,
              Self.linearAccumulatesOntoResidual(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                                 layout: layout) else {
            return try linear(weight: weight, bias: bias, layout: layout).adding(residual)
        }
        let x = contiguous(), w = weight.contiguous()
        let biasValues = bias?.contiguous()
        return Tensor.make(residual.shape) { out in
            let dst = out.baseAddress!
            // The residual (plus the bias) is the product's starting value.
            StridedCopy.gather(from: residual, into: dst)
            if let biasValues {
                let b = UnsafePointer(biasValues.basePointer)
                Parallel.forEachChunk(count: rows, minimumChunk: max(1, Elementwise.parallelThreshold / max(outFeatures, 1))) { range in
                    for r in range {
                        Elementwise.zipDense(UnsafePointer(dst + r * outFeatures), 1, b, 1, dst + r * outFeatures,
                                             count: outFeatures) { $0 + $1 }
                    }
                }
            }
            Tensor.gemm(m: rows, n: outFeatures, k: inFeatures, a: x.basePointer, transA: false, lda: inFeatures,
                        b: w.basePointer, transB: layout == .outIn, ldb: w.shape[1], c: dst, ldc: outFeatures, beta: 1)
        }
    }

    /// C = op(A)·op(B) + beta·C (+ `bias`, `n` values added to every row; only with beta = 0), row-major, fp32: on
    /// oneDNN where ``Float32GEMMEngine/engine(m:n:k:beta:)`` says so (`engine` forces one; oneDNN only with beta = 0),
    /// else — or when oneDNN fails, C then being written again from the start — OpenBLAS's SGEMM.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, transA: Bool, lda: Int,
                     b: UnsafePointer<Float>, transB: Bool, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, bias: UnsafePointer<Float>? = nil,
                     engine: Float32GEMMEngine? = nil) {
        precondition(bias == nil || beta == 0, "gemm: a bias only with beta = 0")
        if beta == 0, (engine ?? Float32GEMMEngine.engine(m: m, n: n, k: k)) == .oneDNN,
           indextts_dnnl_sgemm(m, n, k, a, transA ? 1 : 0, lda, b, transB ? 1 : 0, ldb, bias, c, ldc) == 0 {
            return
        }
        var beta = beta
        if let bias {
            for r in 0..<m { (c + r * ldc).update(from: bias, count: n) }
            beta = 1
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y = W·x + beta·y for a row-major `[rows, columns]` W, or Wᵀ·x when `transposed`.
    @inline(__always)
    static func gemv(weight: UnsafePointer<Float>, rows: Int, columns: Int, transposed: Bool,
                     x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, beta: Float, ld: Int? = nil) {
        cblas_sgemv(CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, blasint(rows), blasint(columns), 1,
                    weight, blasint(ld ?? columns), x, 1, beta, y, 1)
    }
}
