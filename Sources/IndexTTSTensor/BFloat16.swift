import CIndexTTSDNNL
import CIndexTTSKernels

/// The arithmetic the heavy matrix products of a model run in.
///
/// - ``float32``: fp32 operands and accumulation (OpenBLAS SGEMM); the parity tests' precision.
/// - ``bfloat16``: operands rounded to bfloat16 (8-bit mantissa, relative rounding error ≤ 2⁻⁹), products
///   accumulated in fp32, fp32 results (oneDNN's `avx512_core_bf16`/AMX kernels): about twice SGEMM's rate on CPUs
///   with AVX512-BF16 (AMD Zen 4, Intel Cooper Lake / Sapphire Rapids and later). Each product's result differs from
///   fp32 by a few 1e-3 relative; what that does to a whole model is measured per model (docs/BENCHMARKS.md).
///   Element-wise work, norms and softmax stay fp32.
public enum ComputePrecision: String, Sendable, Codable, CaseIterable {
    case float32 = "fp32"
    case bfloat16 = "bf16"

    /// Whether this machine runs bfloat16 products natively (AVX512-BF16 or AMX-BF16) and oneDNN works. Without
    /// native support oneDNN would emulate them, slower than fp32, so ``bfloat16`` is refused there.
    public static let bfloat16Supported: Bool = unsupportedBFloat16Reason == nil

    /// Why ``bfloat16`` cannot be used here, or nil when it can.
    public static let unsupportedBFloat16Reason: String? = {
        let isa = CPUIdentity.current.instructionSets
        guard isa.contains(.avx512bf16) || isa.contains(.amxBF16) else {
            return "this CPU has neither AVX512-BF16 nor AMX-BF16 (bfloat16 products would be emulated, slower than fp32)"
        }
        guard OneDNN.ready else { return "oneDNN (libdnnl) could not create a CPU engine" }
        return nil
    }()

    /// oneDNN's version (`major.minor.patch`), or "unavailable".
    public static let oneDNNVersion: String = {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        guard indextts_dnnl_version(&major, &minor, &patch) == 0 else { return "unavailable" }
        return "\(major).\(minor).\(patch)"
    }()

    /// `auto`: bfloat16 where the CPU runs it natively, else fp32.
    public static var automatic: ComputePrecision { bfloat16Supported ? .bfloat16 : .float32 }

    /// Parses `fp32`, `bf16` or `auto` (also `float32`, `bfloat16`).
    public init?(choice: String) {
        switch choice.lowercased() {
        case "fp32", "float32": self = .float32
        case "bf16", "bfloat16": self = .bfloat16
        case "auto": self = ComputePrecision.automatic
        default: return nil
        }
    }

    /// Throws when this precision cannot run here.
    public func checkSupported() throws {
        if self == .bfloat16, let reason = Self.unsupportedBFloat16Reason {
            throw TensorError.invalidArgument(operation: "bfloat16 precision", message: reason)
        }
    }
}

/// A constant matrix held as bfloat16 (e.g. a weight prepared once at load), `[rows, columns]` row-major. Half the
/// memory of fp32; read by ``Tensor/bfloat16Product`` without conversion.
///
/// A matrix made with `packedAsTransposedRightOperand` (a Linear layer's weight `W`, used as `x·Wᵀ`) is held only
/// in the blocked layout oneDNN's bf16 matmul reads `Wᵀ` in (`indextts_dnnl_pack_b`), so that products skip
/// oneDNN's per-call copy of the weight into that layout (measured: 2582×512 · 512×1536, 10.5 → 9.7 ms on two Zen 4
/// cores); the plain layout is rebuilt on demand (``float32()``, fallback paths).
public final class BFloat16Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// The plain row-major bits; nil when the matrix is held packed only.
    let storage: UnsafeMutablePointer<UInt16>?
    /// `Wᵀ` (`columns × rows`) in oneDNN's blocked layout, or nil.
    let packedTranspose: OpaquePointer?

    /// Rounds `matrix` (rank 2; any layout) to bfloat16, nearest even.
    /// - Parameter packedAsTransposedRightOperand: hold it only as oneDNN's packed `Wᵀ` for products `x·Wᵀ`
    ///   (where bfloat16 runs natively and oneDNN can pack it; otherwise the plain layout is kept).
    public init(_ matrix: Tensor, packedAsTransposedRightOperand: Bool = false) throws {
        guard matrix.rank == 2 else {
            throw TensorError.shapeMismatch(operation: "bfloat16 matrix", message: "\(matrix.shape) is not a matrix")
        }
        rows = matrix.shape[0]
        columns = matrix.shape[1]
        let dense = matrix.contiguous()
        let plain = UnsafeMutablePointer<UInt16>.allocate(capacity: max(rows * columns, 1))
        indextts_to_bf16(dense.basePointer, plain, rows * columns)
        if packedAsTransposedRightOperand, rows > 0, columns > 0, ComputePrecision.bfloat16Supported,
           let packed = indextts_dnnl_pack_b(256, rows, columns, plain, 1, 1, columns) {
            plain.deallocate()
            storage = nil
            packedTranspose = packed
        } else {
            storage = plain
            packedTranspose = nil
        }
    }

    /// A plain matrix over `bits` (taken over: freed with the matrix).
    init(rows: Int, columns: Int, taking bits: UnsafeMutablePointer<UInt16>) {
        self.rows = rows
        self.columns = columns
        storage = bits
        packedTranspose = nil
    }

    deinit {
        storage?.deallocate()
        indextts_dnnl_packed_b_free(packedTranspose)
    }

    public var byteCount: Int {
        packedTranspose.map { indextts_dnnl_packed_b_bytes($0) } ?? rows * columns * 2
    }

    /// Whether the matrix is held in oneDNN's packed layout.
    public var isPacked: Bool { packedTranspose != nil }

    /// This matrix in the plain layout: itself, or a temporary copy unpacked from oneDNN's layout (a reorder of a
    /// layout oneDNN chose itself, which only fails when memory runs out: the copy is then NaN, never zeros that
    /// would pass for a result).
    func plain() -> BFloat16Matrix {
        guard storage == nil, let packedTranspose else { return self }
        let bits = UnsafeMutablePointer<UInt16>.allocate(capacity: max(rows * columns, 1))
        // Wᵀ (columns × rows) column-major with leading dimension `columns` is W row-major.
        if indextts_dnnl_unpack_b(packedTranspose, bits, 1, columns) != 0 {
            bits.update(repeating: 0x7FC0, count: rows * columns)  // NaN: never silently zero
        }
        return BFloat16Matrix(rows: rows, columns: columns, taking: bits)
    }

    /// The values widened back to fp32 (tests, inspection).
    public func float32() -> Tensor {
        let matrix = plain()
        return Tensor.make([rows, columns]) { out in
            let bits = matrix.storage!
            for i in 0..<out.count { out[i] = Float(bitPattern: UInt32(bits[i]) << 16) }
        }
    }
}


/// Activations already rounded to bfloat16 (nearest even) for the next product: `shape` `[…, columns]`, row-major.
/// Producers that round while they write (``Tensor/rmsNormModulated(bfloat16:eps:scale:scaleOffset:shift:shiftOffset:)``,
/// ``concatenated(_:)``) spare the consumer's product (``Tensor/linear(bfloat16Rows:weight:bias:)``, ``Tensor/swiGLU``)
/// oneDNN's fp32 → bf16 reorder of its left operand and the fp32 intermediate in memory; the product is the same bit
/// for bit (the same rounding).
public struct BFloat16Rows: @unchecked Sendable {
    public let shape: [Int]
    let matrix: BFloat16Matrix

    public var rows: Int { matrix.rows }
    public var columns: Int { matrix.columns }
    var bits: UnsafeMutablePointer<UInt16> { matrix.storage! }

    /// Rows of `shape` (rank ≥ 1) filled by `fill(rowRange, bits)`, called in parallel chunks with a pointer to the
    /// first row of the range (each chunk writes exactly its rows, `columns` bfloat16 values each).
    public static func make(_ shape: [Int], fill: (Range<Int>, UnsafeMutablePointer<UInt16>) -> Void) -> BFloat16Rows {
        let columns = shape.last ?? 0, rows = shape.dropLast().reduce(1, *)
        let bits = UnsafeMutablePointer<UInt16>.allocate(capacity: max(rows * columns, 1))
        let target = UncheckedSendableBox(bits)
        Parallel.forEachChunk(count: rows, minimumChunk: max(1, 16_384 / max(columns, 1))) { range in
            fill(range, target.value + range.lowerBound * columns)
        }
        return BFloat16Rows(shape: shape, matrix: BFloat16Matrix(rows: rows, columns: columns, taking: bits))
    }

    /// `x` rounded (tests, fallbacks).
    public init(_ x: Tensor) {
        let dense = x.contiguous()
        self = BFloat16Rows.make(x.shape) { range, bits in
            let columns = x.shape.last ?? 0
            indextts_to_bf16(dense.basePointer + range.lowerBound * columns, bits, range.count * columns)
        }
    }

    /// Rows of `shape` over `bits` (taken over: freed with the rows).
    init(shape: [Int], taking bits: UnsafeMutablePointer<UInt16>) {
        self.init(shape: shape, matrix: BFloat16Matrix(rows: shape.dropLast().reduce(1, *), columns: shape.last ?? 0,
                                                       taking: bits))
    }

    private init(shape: [Int], matrix: BFloat16Matrix) {
        self.shape = shape
        self.matrix = matrix
    }

    /// `[…, a] ⧺ […, b] → […, a + b]` rounded: the concatenation of rank-equal tensors along the last axis
    /// (leading shapes must agree), written as bfloat16 directly.
    public static func concatenated(_ parts: [Tensor]) throws -> BFloat16Rows {
        guard let first = parts.first, parts.allSatisfy({ $0.rank == first.rank && $0.rank >= 1
            && Array($0.shape.dropLast()) == Array(first.shape.dropLast()) }) else {
            throw TensorError.shapeMismatch(operation: "bfloat16 concatenation", message: "\(parts.map(\.shape))")
        }
        let dense = parts.map { $0.contiguous() }
        let widths = dense.map { $0.shape.last! }
        let total = widths.reduce(0, +)
        return withExtendedLifetime(dense) {
            BFloat16Rows.make(Array(first.shape.dropLast()) + [total]) { range, bits in
                for (i, r) in range.enumerated() {
                    var column = 0
                    for (part, width) in zip(dense, widths) {
                        indextts_to_bf16(part.basePointer + r * width, bits + i * total + column, width)
                        column += width
                    }
                }
            }
        }
    }

    /// The values widened to fp32.
    public func float32() throws -> Tensor { try matrix.float32().reshaped(shape) }
}

extension Tensor {
    /// One operand of ``bfloat16Product``: fp32 memory (rounded per call) or a prepared ``BFloat16Matrix``.
    enum BFloat16Operand {
        case float32(UnsafePointer<Float>)
        case bfloat16(BFloat16Matrix)
        /// bfloat16 bit patterns already in memory (e.g. attention probabilities written as bfloat16).
        case bfloat16Bits(UnsafePointer<UInt16>)
    }

    /// `C = op(A)·op(B) + beta·C` in bfloat16 with fp32 accumulation (row-major; see `indextts_dnnl_matmul`).
    /// Falls back to fp32 SGEMM when oneDNN fails (it only can for shapes or layouts it does not implement),
    /// widening a prepared operand first, so a result is always produced (NaN only if a packed weight cannot be
    /// unpacked for lack of memory, see ``BFloat16Matrix``).
    static func bfloat16Product(m: Int, n: Int, k: Int, a: BFloat16Operand, transA: Bool, lda: Int,
                                b: BFloat16Operand, transB: Bool, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        // x·Wᵀ with W held packed: oneDNN reads the packed layout directly.
        if case .bfloat16(let matrix) = b, let packed = matrix.packedTranspose, transB, !transA,
           n == matrix.rows, k == matrix.columns {
            let status: Int32
            switch a {
            case .float32(let pointer): status = indextts_dnnl_matmul_packed(m, pointer, 0, lda, packed, c, ldc, beta)
            case .bfloat16Bits(let pointer): status = indextts_dnnl_matmul_packed(m, pointer, 1, lda, packed, c, ldc, beta)
            case .bfloat16: status = -1
            }
            if status == 0 { return }
        }
        // Every other product reads plain layouts (a packed matrix elsewhere is unpacked into a temporary).
        func plain(_ operand: BFloat16Operand) -> BFloat16Operand {
            if case .bfloat16(let matrix) = operand, matrix.isPacked { return .bfloat16(matrix.plain()) }
            return operand
        }
        let (plainA, plainB) = (plain(a), plain(b))
        func raw(_ operand: BFloat16Operand) -> (UnsafeRawPointer, Int32) {
            switch operand {
            case .float32(let pointer): return (UnsafeRawPointer(pointer), 0)
            case .bfloat16(let matrix): return (UnsafeRawPointer(matrix.storage!), 1)
            case .bfloat16Bits(let pointer): return (UnsafeRawPointer(pointer), 1)
            }
        }
        let (ap, aIsBF16) = raw(plainA), (bp, bIsBF16) = raw(plainB)
        let status = withExtendedLifetime((plainA, plainB)) {
            indextts_dnnl_matmul(m, n, k, ap, aIsBF16, transA ? 1 : 0, lda, bp, bIsBF16, transB ? 1 : 0, ldb, c, ldc, beta)
        }
        if status == 0 { return }
        // Fallback: fp32 SGEMM on widened copies of prepared operands.
        // `count`: the elements the operand spans, (rows − 1)·ld + columns in its stored orientation.
        func widened(_ operand: BFloat16Operand, count: Int) -> (UnsafePointer<Float>, Tensor?) {
            switch operand {
            case .float32(let pointer): return (pointer, nil)
            case .bfloat16(let matrix):
                let wide = matrix.float32()
                return (UnsafePointer(wide.basePointer), wide)
            case .bfloat16Bits(let pointer):
                let wide = Tensor.make([count]) { out in
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(pointer[i]) << 16) }
                }
                return (UnsafePointer(wide.basePointer), wide)
            }
        }
        let (wa, keepA) = widened(a, count: transA ? (k - 1) * lda + m : (m - 1) * lda + k)
        let (wb, keepB) = widened(b, count: transB ? (n - 1) * ldb + k : (k - 1) * ldb + n)
        withExtendedLifetime((keepA, keepB)) {
            gemm(m: m, n: n, k: k, a: wa, transA: transA, lda: lda, b: wb, transB: transB, ldb: ldb, c: c, ldc: ldc, beta: beta)
        }
    }

    /// SwiGLU's down projection with bfloat16 weights, fed straight from the gate and up projections: `self`
    /// `[…, 2·hidden]` holds `gate` and `up` side by side (one product with `w1` and `w3` stacked); `silu(gate)·up` is
    /// rounded to bfloat16 once (nearest even, as a product rounds an fp32 operand) and multiplied by `down`
    /// `[out, hidden]`: `[…, 2·hidden] → […, out]`. Without the fp32 intermediate and its conversion. Where
    /// ``RowKernels/bfloat16RowKernels``, the activation comes from `indextts_silu_mul_bf16` (e^x to 2.3·10⁻⁷, so a
    /// value may round to the neighbouring bfloat16); elsewhere it is computed as ``siluMultiplying(_:)`` does and the
    /// result equals `down(gate.siluMultiplying(up))` bit for bit.
    public func siluGatedLinear(bfloat16 down: BFloat16Matrix, bias: Tensor? = nil) throws -> Tensor {
        try siluGatedLinear(bfloat16: down, bias: bias, rowKernel: RowKernels.bfloat16RowKernels)
    }

    /// ``siluGatedLinear(bfloat16:bias:)`` with the activation's path chosen (`rowKernel` only where
    /// ``RowKernels/bfloat16RowKernels``): tests run both on one machine.
    func siluGatedLinear(bfloat16 down: BFloat16Matrix, bias: Tensor?, rowKernel: Bool) throws -> Tensor {
        let rowKernel = rowKernel && RowKernels.bfloat16RowKernels
        let (outFeatures, hidden) = (down.rows, down.columns)
        guard rank >= 1, shape[rank - 1] == 2 * hidden else {
            throw TensorError.shapeMismatch(operation: "siluGatedLinear",
                                            message: "input \(shape) for gate and up halves of \(hidden) with bf16 weight [\(outFeatures), \(hidden)]")
        }
        if let bias, bias.count != outFeatures {
            throw TensorError.shapeMismatch(operation: "siluGatedLinear", message: "bias \(bias.shape) for \(outFeatures) outputs")
        }
        let x = contiguous()
        let rows = x.shape.dropLast().reduce(1, *)
        let biasValues = bias?.contiguous()
        return Tensor.make(Array(shape.dropLast()) + [outFeatures]) { out in
            let dst = out.baseAddress!
            let beta = Self.prefill(dst, rows: rows, outFeatures: outFeatures, bias: biasValues, inputs: hidden)
            guard hidden > 0, rows > 0 else { return }
            let gated = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * hidden)
            defer { gated.deallocate() }
            Self.siluGateRows(UnsafePointer(x.basePointer), rows: rows, hidden: hidden, into: gated, rowKernel: rowKernel)
            Tensor.bfloat16Product(m: rows, n: outFeatures, k: hidden, a: .bfloat16Bits(gated), transA: false,
                                   lda: hidden, b: .bfloat16(down), transB: true, ldb: hidden,
                                   c: dst, ldc: outFeatures, beta: beta)
        }
    }

    /// Prepares the output of a product `[rows, outFeatures]` that adds into it: `bias` (dense) in every row, or zeros
    /// when no product follows (`inputs == 0`). Returns the product's beta (1 over a bias, else 0).
    static func prefill(_ dst: UnsafeMutablePointer<Float>, rows: Int, outFeatures: Int, bias: Tensor?, inputs: Int) -> Float {
        if let bias {
            for r in 0..<rows { (dst + r * outFeatures).update(from: bias.basePointer, count: outFeatures) }
            return 1
        }
        if inputs == 0 { dst.update(repeating: 0, count: rows * outFeatures) }
        return 0
    }

    /// `rows` rows of `[gate | up]` (`2·hidden` floats each) → `silu(gate)·up` rounded to bfloat16 (`hidden` each),
    /// split across cores.
    static func siluGateRows(_ source: UnsafePointer<Float>, rows: Int, hidden: Int, into gated: UnsafeMutablePointer<UInt16>,
                             rowKernel: Bool) {
        let source = UncheckedSendableBox(source), target = UncheckedSendableBox(gated)
        Parallel.forEachChunk(count: rows, minimumChunk: max(1, 16_384 / hidden)) { range in
            if rowKernel {
                for r in range {
                    let gate = source.value + r * 2 * hidden
                    indextts_silu_mul_bf16(gate, gate + hidden, target.value + r * hidden, hidden)
                }
                return
            }
            // One row at a time through an fp32 row that stays in L1, rounded as a whole.
            let row = UnsafeMutablePointer<Float>.allocate(capacity: hidden)
            defer { row.deallocate() }
            for r in range {
                let gate = source.value + r * 2 * hidden
                Elementwise.zipDense(gate, 1, gate + hidden, 1, row, count: hidden) { ($0 * VectorMath.sigmoid($0)) * $1 }
                indextts_to_bf16(row, target.value + r * hidden, hidden)
            }
        }
    }

    /// Bytes of `[gate | up]` product computed at a time by ``swiGLU(bfloat16:gateUpBias:down:downBias:)``: small
    /// enough to stay in the last-level cache until the activation reads it back.
    static let swiGLUChunkBytes = 4 << 20

    /// SwiGLU in bfloat16 from `[…, dim]`: `down(silu(x·W₁ᵀ + b₁) ⊙ (x·W₃ᵀ + b₃)) + b_down` with `gateUp` the
    /// stacked `[2·hidden, dim]` (w1 over w3) and `down` `[out, hidden]`. The `[gate | up]` product is computed a
    /// few hundred rows at a time (``swiGLUChunkBytes``) and turned into bfloat16 `silu(gate)·up` while it is still in
    /// cache, instead of writing all of it (1.5 MB per 64 rows at the DiT's widths) to memory and reading it back;
    /// then one `down` product over all rows. Equal to `x.linear(bfloat16: gateUp, bias:)` followed by
    /// ``siluGatedLinear(bfloat16:bias:)`` bit for bit (the same products, row by row).
    public func swiGLU(bfloat16 gateUp: BFloat16Matrix, gateUpBias: Tensor?, down: BFloat16Matrix,
                       downBias: Tensor?) throws -> Tensor {
        try swiGLU(bfloat16: gateUp, gateUpBias: gateUpBias, down: down, downBias: downBias,
                   chunkRows: nil, rowKernel: RowKernels.bfloat16RowKernels)
    }

    func swiGLU(bfloat16 gateUp: BFloat16Matrix, gateUpBias: Tensor?, down: BFloat16Matrix, downBias: Tensor?,
                chunkRows: Int?, rowKernel: Bool) throws -> Tensor {
        let x = contiguous()
        return try withExtendedLifetime(x) {
            try Tensor.swiGLU(x.shape, rowAt: { .float32(x.basePointer + $0 * x.shape[x.rank - 1]) }, gateUp: gateUp,
                              gateUpBias: gateUpBias, down: down, downBias: downBias, chunkRows: chunkRows, rowKernel: rowKernel)
        }
    }

    /// ``swiGLU(bfloat16:gateUpBias:down:downBias:)`` of activations already rounded; the same bit for bit.
    public static func swiGLU(bfloat16Rows x: BFloat16Rows, gateUp: BFloat16Matrix, gateUpBias: Tensor?,
                              down: BFloat16Matrix, downBias: Tensor?) throws -> Tensor {
        try withExtendedLifetime(x) {
            try swiGLU(x.shape, rowAt: { .bfloat16Bits(x.bits + $0 * x.columns) }, gateUp: gateUp, gateUpBias: gateUpBias,
                       down: down, downBias: downBias, chunkRows: nil, rowKernel: RowKernels.bfloat16RowKernels)
        }
    }

    /// The chunked SwiGLU over input rows of `shape` (`rowAt(r)`: row r as a left operand).
    static func swiGLU(_ shape: [Int], rowAt: (Int) -> BFloat16Operand, gateUp: BFloat16Matrix, gateUpBias: Tensor?,
                       down: BFloat16Matrix, downBias: Tensor?, chunkRows: Int?, rowKernel: Bool) throws -> Tensor {
        let rowKernel = rowKernel && RowKernels.bfloat16RowKernels
        let (dim, hidden, outFeatures) = (gateUp.columns, down.columns, down.rows)
        let rank = shape.count
        guard rank >= 1, shape[rank - 1] == dim, gateUp.rows == 2 * hidden, hidden > 0 else {
            throw TensorError.shapeMismatch(
                operation: "swiGLU",
                message: "input \(shape) with bf16 gate/up [\(gateUp.rows), \(gateUp.columns)] and down [\(down.rows), \(down.columns)]")
        }
        if let gateUpBias, gateUpBias.count != 2 * hidden {
            throw TensorError.shapeMismatch(operation: "swiGLU", message: "gate/up bias \(gateUpBias.shape) for \(2 * hidden) outputs")
        }
        if let downBias, downBias.count != outFeatures {
            throw TensorError.shapeMismatch(operation: "swiGLU", message: "down bias \(downBias.shape) for \(outFeatures) outputs")
        }
        let rows = shape.dropLast().reduce(1, *)
        let (upBias, outBias) = (gateUpBias?.contiguous(), downBias?.contiguous())
        let chunk = max(1, min(rows, chunkRows ?? max(64, Self.swiGLUChunkBytes / (8 * hidden))))
        return Tensor.make(Array(shape.dropLast()) + [outFeatures]) { out in
            let dst = out.baseAddress!
            let beta = Self.prefill(dst, rows: rows, outFeatures: outFeatures, bias: outBias, inputs: hidden)
            guard rows > 0 else { return }
            let gated = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * hidden)
            defer { gated.deallocate() }
            let both = UnsafeMutablePointer<Float>.allocate(capacity: chunk * 2 * hidden)
            defer { both.deallocate() }
            var first = 0
            while first < rows {
                let count = min(chunk, rows - first)
                if let upBias {
                    for r in 0..<count { (both + r * 2 * hidden).update(from: upBias.basePointer, count: 2 * hidden) }
                } else if dim == 0 {
                    both.update(repeating: 0, count: count * 2 * hidden)
                }
                if dim > 0 {
                    Tensor.bfloat16Product(m: count, n: 2 * hidden, k: dim, a: rowAt(first),
                                           transA: false, lda: dim, b: .bfloat16(gateUp), transB: true, ldb: dim,
                                           c: both, ldc: 2 * hidden, beta: upBias == nil ? 0 : 1)
                }
                Self.siluGateRows(UnsafePointer(both), rows: count, hidden: hidden, into: gated + first * hidden,
                                  rowKernel: rowKernel)
                first += count
            }
            Tensor.bfloat16Product(m: rows, n: outFeatures, k: hidden, a: .bfloat16Bits(gated), transA: false,
                                   lda: hidden, b: .bfloat16(down), transB: true, ldb: hidden,
                                   c: dst, ldc: outFeatures, beta: beta)
        }
    }

    /// ``linear(bfloat16:bias:)`` of activations already rounded: `[…, in] → […, out]`.
    public static func linear(bfloat16Rows x: BFloat16Rows, weight: BFloat16Matrix, bias: Tensor? = nil) throws -> Tensor {
        let (outFeatures, inFeatures) = (weight.rows, weight.columns)
        guard x.columns == inFeatures else {
            throw TensorError.shapeMismatch(operation: "linear", message: "bf16 input \(x.shape) with bf16 weight [\(outFeatures), \(inFeatures)]")
        }
        if let bias, bias.count != outFeatures {
            throw TensorError.shapeMismatch(operation: "linear", message: "bias \(bias.shape) for \(outFeatures) outputs")
        }
        let rows = x.rows
        let biasValues = bias?.contiguous()
        return withExtendedLifetime(x) {
            Tensor.make(Array(x.shape.dropLast()) + [outFeatures]) { out in
                let dst = out.baseAddress!
                let beta = Self.prefill(dst, rows: rows, outFeatures: outFeatures, bias: biasValues, inputs: inFeatures)
                guard inFeatures > 0, rows > 0 else { return }
                Tensor.bfloat16Product(m: rows, n: outFeatures, k: inFeatures, a: .bfloat16Bits(x.bits), transA: false,
                                       lda: inFeatures, b: .bfloat16(weight), transB: true, ldb: inFeatures,
                                       c: dst, ldc: outFeatures, beta: beta)
            }
        }
    }

    /// `y = x·Wᵀ + b` with `W` `[out, in]` prepared as bfloat16: `[…, in] → […, out]`.
    public func linear(bfloat16 weight: BFloat16Matrix, bias: Tensor? = nil) throws -> Tensor {
        let (outFeatures, inFeatures) = (weight.rows, weight.columns)
        guard rank >= 1, shape[rank - 1] == inFeatures else {
            throw TensorError.shapeMismatch(operation: "linear", message: "input \(shape) with bf16 weight [\(outFeatures), \(inFeatures)]")
        }
        if let bias, bias.count != outFeatures {
            throw TensorError.shapeMismatch(operation: "linear", message: "bias \(bias.shape) for \(outFeatures) outputs")
        }
        let x = contiguous()
        let rows = x.shape.dropLast().reduce(1, *)
        let biasValues = bias?.contiguous()
        return Tensor.make(Array(shape.dropLast()) + [outFeatures]) { out in
            let dst = out.baseAddress!
            let beta = Self.prefill(dst, rows: rows, outFeatures: outFeatures, bias: biasValues, inputs: inFeatures)
            guard inFeatures > 0, rows > 0 else { return }
            Tensor.bfloat16Product(m: rows, n: outFeatures, k: inFeatures, a: .float32(x.basePointer), transA: false,
                                   lda: inFeatures, b: .bfloat16(weight), transB: true, ldb: inFeatures,
                                   c: dst, ldc: outFeatures, beta: beta)
        }
    }
}
