import CIndexTTSDNNL
import CIndexTTSKernels

/// Which key positions each query may attend to in ``Tensor/scaledDotProductAttention(query:key:value:mask:scale:)``.
public struct AttentionMask: Sendable {
    /// Causal masking aligned to the end of the keys: query `i` of `Lq` sees keys `0...(i + Lk − Lq)`. With a KV cache
    /// (`Lq` new queries after `Lk − Lq` cached keys) this is the usual decoder mask; with `Lq == Lk` it is the
    /// lower triangle (`torch` `is_causal=True`).
    public var isCausal: Bool
    /// Valid key count per batch item (keys at or beyond it are padding).
    public var keyLengths: [Int]?
    /// Additive mask broadcastable to `[batch, heads, Lq, Lk]` (0 to keep, −∞ to drop).
    public var additive: Tensor?

    public init(isCausal: Bool = false, keyLengths: [Int]? = nil, additive: Tensor? = nil) {
        self.isCausal = isCausal
        self.keyLengths = keyLengths
        self.additive = additive
    }

    /// No masking.
    public static let none = AttentionMask()
    /// Causal masking.
    public static let causal = AttentionMask(isCausal: true)

    /// Converts a boolean-style mask (non-zero = attend, as `torch` boolean `attn_mask`) to an additive one.
    public static func allowing(_ allowed: Tensor) -> AttentionMask {
        AttentionMask(additive: Elementwise.map(allowed) { v in
            SIMD8<Float>(repeating: 0).replacing(with: -.infinity, where: v .== 0)
        })
    }
}

extension Tensor {
    /// softmax(Q·Kᵀ·scale + mask)·V per batch item and head.
    /// - Parameters:
    ///   - query: `[batch, heads, Lq, headDim]`.
    ///   - key: `[batch, heads, Lk, headDim]` (may be a strided view such as ``KVCache/keys``).
    ///   - value: `[batch, heads, Lk, valueDim]`.
    ///   - scale: defaults to 1/√headDim.
    ///   - precision: the two products' arithmetic (``ComputePrecision``); scaling, masking and softmax are fp32.
    ///     Single-query (decoding) calls always run fp32.
    ///   - rotary: a rotary embedding applied to queries and keys first (``RotaryEmbedding/apply(_:positions:)``) at
    ///     `queryPositions` / `keyPositions` (default `0..<Lq`, `0..<Lk`). On the fused attention kernels the
    ///     rotation of interleaved pairs happens as queries and keys are read (no rotated copies in memory).
    /// - Returns: `[batch, heads, Lq, valueDim]` (with several queries and no additive mask, on the bfloat16 paths
    ///   and the fp32 kernel: a permuted view of a `[batch, Lq, heads, valueDim]` tensor, so merging the heads
    ///   afterwards is free). A query whose keys are all masked yields zeros.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor,
                                                 mask: AttentionMask = .none, scale: Float? = nil,
                                                 precision: ComputePrecision = .float32,
                                                 rotary: RotaryEmbedding? = nil, queryPositions: [Int]? = nil,
                                                 keyPositions: [Int]? = nil) throws -> Tensor {
        try scaledDotProductAttention(query: query, key: key, value: value, mask: mask, scale: scale,
                                      precision: precision,
                                      attentionKernel: precision == .bfloat16 ? bfloat16AttentionKernel
                                                                              : float32AttentionKernel,
                                      rotary: rotary, queryPositions: queryPositions, keyPositions: keyPositions)
    }

    /// Whether bfloat16 attention of several queries without an additive mask runs on the AVX512-BF16 kernel
    /// (`indextts_attention_bf16_*`: both products and the softmax per tile of 6 query rows, in registers and L1/L2)
    /// rather than on oneDNN's products around our softmax rows: where ``RowKernels/bfloat16RowKernels``.
    static let bfloat16AttentionKernel = RowKernels.bfloat16RowKernels

    /// Whether fp32 attention of several queries without an additive mask runs on our kernel
    /// (`indextts_attention_f32_*`: both products and the softmax per tile of 6 query rows, in registers and L1/L2)
    /// rather than on BLAS products around softmax passes over the whole score matrix: where the attention softmax
    /// runs on AVX-512 or AVX2 (``RowKernels/softmaxKernels``, whose set the kernel takes; `INDEXTTS_KERNELS=swift`
    /// keeps the BLAS path).
    static let float32AttentionKernel = RowKernels.softmaxKernels != .swift

    /// ``scaledDotProductAttention(query:key:value:mask:scale:precision:)`` with the choice of the fused attention
    /// kernel of `precision` made by the caller (tests compare both paths on one machine; the bfloat16 kernel still
    /// needs AVX512-BF16, the fp32 one AVX2 or AVX-512).
    static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask,
                                          scale: Float?, precision: ComputePrecision, attentionKernel: Bool,
                                          rotary: RotaryEmbedding? = nil, queryPositions: [Int]? = nil,
                                          keyPositions: [Int]? = nil) throws -> Tensor {
        var query = query, key = key
        guard query.rank == 4, key.rank == 4, value.rank == 4,
              query.shape[0] == key.shape[0], query.shape[1] == key.shape[1], query.shape[3] == key.shape[3],
              key.shape[0] == value.shape[0], key.shape[1] == value.shape[1], key.shape[2] == value.shape[2] else {
            throw TensorError.shapeMismatch(
                operation: "attention", message: "query \(query.shape), key \(key.shape), value \(value.shape)")
        }
        let (batch, heads, lq, dim) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let lk = key.shape[2], dv = value.shape[3]
        if let lengths = mask.keyLengths, lengths.count != batch {
            throw TensorError.shapeMismatch(operation: "attention", message: "\(lengths.count) key lengths for batch \(batch)")
        }
        let additive = try mask.additive.map { try $0.expanded(to: [batch, heads, lq, lk]) }
        let s = scale ?? 1 / Float(dim).squareRoot()
        let queryPositions = queryPositions ?? Array(0..<lq), keyPositions = keyPositions ?? Array(0..<lk)
        if let rotary, queryPositions.count != lq || keyPositions.count != lk {
            throw TensorError.shapeMismatch(
                operation: "attention",
                message: "\(queryPositions.count) query and \(keyPositions.count) key positions for \(lq) queries and \(lk) keys (rotary \(rotary.dimensions))")
        }
        if attentionKernel, additive == nil,
           case .tensor(let out)? = try kernelAttention(query: query, key: key, value: value, mask: mask, scale: s,
                                                        precision: precision, rotary: rotary,
                                                        queryPositions: queryPositions, keyPositions: keyPositions,
                                                        bfloat16Output: false) {
            return out
        }
        if let rotary {
            query = try rotary.apply(query, positions: queryPositions)
            key = try rotary.apply(key, positions: keyPositions)
        }
        let q = query.contiguous()
        // Keys and values only need unit stride on the feature axis; the cache's strided views qualify.
        let k = key.strides[3] == 1 && key.strides[2] >= dim ? key : key.contiguous()
        let v = value.strides[3] == 1 && value.strides[2] >= dv ? value : value.contiguous()
        if lq == 1 {
            return singleQueryAttention(q: q, k: k, v: v, batch: batch, heads: heads, keys: lk, dim: dim, valueDim: dv,
                                        scale: s, mask: mask, additive: additive)
        }
        // Several queries without an additive mask take the fused path: the scale is folded into the exponent
        // (e^(s·(x − max))), rows stay unnormalised and the output rows are divided by their sums after P·V, which
        // saves two passes over the [Lq, Lk] scores; in bfloat16 the probabilities are written as bfloat16 directly.
        let fused = lq > 1 && additive == nil && s > 0
        if fused && precision == .bfloat16 {
            return try headParallelBFloat16Attention(q: q, k: k, v: v, batch: batch, heads: heads, queries: lq, keys: lk,
                                                 dim: dim, valueDim: dv, scale: s, mask: mask)
        }
        return Tensor.make([batch, heads, lq, dv]) { out in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(lq * lk, 1))
            defer { scores.deallocate() }
            let inverseSums = UnsafeMutablePointer<Float>.allocate(capacity: max(lq, 1))
            defer { inverseSums.deallocate() }
            for b in 0..<batch {
                for h in 0..<heads {
                    let qp = q.basePointer + b * q.strides[0] + h * q.strides[1]
                    let kp = k.basePointer + b * k.strides[0] + h * k.strides[1]
                    let vp = v.basePointer + b * v.strides[0] + h * v.strides[1]
                    let op = out.baseAddress! + (b * heads + h) * lq * dv
                    if lk == 0 {
                        op.update(repeating: 0, count: lq * dv)
                        continue
                    }
                    if fused {
                        gemm(m: lq, n: lk, k: dim, a: qp, transA: false, lda: dim, b: kp, transB: true, ldb: k.strides[2],
                             c: scores, ldc: lk, beta: 0)
                        applyMask(scores, lq: lq, lk: lk, causal: mask.isCausal, validKeys: mask.keyLengths?[b], additive: nil)
                        Parallel.forEachChunk(count: lq, minimumChunk: max(1, 8192 / lk)) { range in
                            for i in range {
                                inverseSums[i] = RowKernels.unnormalisedSoftmaxRow(scores + i * lk, lk, scale: s, bfloat16: nil)
                            }
                        }
                        gemm(m: lq, n: dv, k: lk, a: scores, transA: false, lda: lk, b: vp, transB: false, ldb: v.strides[2],
                             c: op, ldc: dv, beta: 0)
                        for i in 0..<lq {
                            Elementwise.mapDense(UnsafePointer(op + i * dv), op + i * dv, count: dv) { [inverse = inverseSums[i]] in $0 * inverse }
                        }
                        continue
                    }
                    gemm(m: lq, n: lk, k: dim, a: qp, transA: false, lda: dim, b: kp, transB: true, ldb: k.strides[2],
                         c: scores, ldc: lk, beta: 0)
                    Elementwise.mapDense(UnsafePointer(scores), scores, count: lq * lk) { $0 * s }
                    applyMask(scores, lq: lq, lk: lk, causal: mask.isCausal, validKeys: mask.keyLengths?[b],
                              additive: additive.map { ($0, b, h) })
                    Parallel.forEachChunk(count: lq, minimumChunk: max(1, 8192 / lk)) { range in
                        for i in range { RowKernels.softmaxRow(UnsafePointer(scores + i * lk), scores + i * lk, lk) }
                    }
                    gemm(m: lq, n: dv, k: lk, a: scores, transA: false, lda: lk, b: vp, transB: false, ldb: v.strides[2],
                         c: op, ldc: dv, beta: 0)
                }
            }
        }
    }

    /// Query rows per block in ``headParallelBFloat16Attention`` (blocks are evened out: 1,291 queries run as
    /// 11 × 118): one block's fp32 scores and bfloat16 probabilities (6 bytes per row and key: 0.9 MB at 118 × 1,291)
    /// stay cache-resident between the score product, the softmax and P·V. Measured on the S2M's 1,291 frames
    /// (Zen 4, 1 MB L2 per core): 128 rows beat 64, 256, 512 and unblocked.
    static let queryBlockRows = 128

    /// The fused attention in bfloat16, one (batch, head) pair per task: each core takes whole pairs and runs
    /// their products with a one-thread oneDNN (`indextts_dnnl_swap_threads`), so the products, the softmax
    /// and the rounding of the operands follow each other on one core without handing work between oneDNN's
    /// OpenMP threads and ours. Per pair: queries, keys and values rounded to bfloat16 once (with more than one
    /// block, `Kᵀ` and `V` also packed once into oneDNN's blocked layout), then per block of query rows `S = Q·Kᵀ`
    /// (fp32), unnormalised softmax `e^(s·(S − max))` written as bfloat16, `O = P·V`, rows divided by their sums.
    private static func headParallelBFloat16Attention(q: Tensor, k: Tensor, v: Tensor, batch: Int, heads: Int,
                                                      queries lq: Int, keys lk: Int, dim: Int, valueDim dv: Int,
                                                      scale s: Float, mask: AttentionMask) throws -> Tensor {
        let blockCount = (lq + queryBlockRows - 1) / queryBlockRows
        let blockRows = (lq + blockCount - 1) / blockCount
        // Written as [batch, Lq, heads, dv] (what the output projection reads after merging heads) and returned as
        // the [batch, heads, Lq, dv] view of it.
        let merged = withExtendedLifetime((q, k, v)) {
            Tensor.make([batch, lq, heads, dv]) { out in
                let o = out.baseAddress!
                let rowStride = heads * dv
                // Fewer pairs than cores (e.g. one head): the products keep oneDNN's threads instead.
                let onePerCore = batch * heads >= Parallel.workerCount
                Parallel.forEachChunk(count: batch * heads, minimumChunk: 1) { pairs in
                    let previousThreads = indextts_dnnl_swap_threads(onePerCore ? 1 : 0)
                    defer { indextts_dnnl_swap_threads(previousThreads) }
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(blockRows * lk, 1))
                    defer { scores.deallocate() }
                    let probabilities = UnsafeMutablePointer<UInt16>.allocate(capacity: max(blockRows * lk, 1))
                    defer { probabilities.deallocate() }
                    let inverseSums = UnsafeMutablePointer<Float>.allocate(capacity: max(lq, 1))
                    defer { inverseSums.deallocate() }
                    let blockOutput = UnsafeMutablePointer<Float>.allocate(capacity: max(blockRows * dv, 1))
                    defer { blockOutput.deallocate() }
                    let operands = UnsafeMutablePointer<UInt16>.allocate(capacity: max(lq * dim + lk * (dim + dv), 1))
                    defer { operands.deallocate() }
                    let (qb, kb, vb) = (operands, operands + lq * dim, operands + lq * dim + lk * dim)
                    for pair in pairs {
                        let b = pair / heads, h = pair % heads
                        let op = o + b * lq * rowStride + h * dv
                        if lk == 0 {
                            for i in 0..<lq { (op + i * rowStride).update(repeating: 0, count: dv) }
                            continue
                        }
                        indextts_to_bf16(q.basePointer + b * q.strides[0] + h * q.strides[1], qb, lq * dim)
                        indextts_to_bf16_rows(k.basePointer + b * k.strides[0] + h * k.strides[1], k.strides[2], kb, dim, lk, dim)
                        indextts_to_bf16_rows(v.basePointer + b * v.strides[0] + h * v.strides[1], v.strides[2], vb, dv, lk, dv)
                        // Kᵀ and V in oneDNN's blocked layout once per pair (else every block's product copies them
                        // into it again); a refused packing falls back to the plain operands.
                        let packed = lq > blockRows
                        let packedK = packed ? indextts_dnnl_pack_b(blockRows, lk, dim, kb, 1, 1, dim) : nil
                        defer { indextts_dnnl_packed_b_free(packedK) }
                        let packedV = packed ? indextts_dnnl_pack_b(blockRows, dv, lk, vb, 1, 0, dv) : nil
                        defer { indextts_dnnl_packed_b_free(packedV) }
                        var first = 0
                        while first < lq {
                            let rows = min(blockRows, lq - first)
                            if packedK == nil || indextts_dnnl_matmul_packed(rows, qb + first * dim, 1, dim, packedK, scores, lk, 0) != 0 {
                                bfloat16Product(m: rows, n: lk, k: dim, a: .bfloat16Bits(qb + first * dim), transA: false, lda: dim,
                                                b: .bfloat16Bits(kb), transB: true, ldb: dim, c: scores, ldc: lk, beta: 0)
                            }
                            applyMask(scores, lq: rows, lk: lk, firstRow: first, totalRows: lq, causal: mask.isCausal,
                                      validKeys: mask.keyLengths?[b], additive: nil)
                            for i in 0..<rows {
                                inverseSums[first + i] = RowKernels.bfloat16SoftmaxRow(scores + i * lk, lk, scale: s,
                                                                                       into: probabilities + i * lk)
                            }
                            // P·V into a dense block (oneDNN's brgemm wants ldc = dv; with the merged-heads stride it
                            // falls back to a slower kernel), then each row divided by its sum on the way out.
                            if packedV == nil || indextts_dnnl_matmul_packed(rows, probabilities, 1, lk, packedV, blockOutput, dv, 0) != 0 {
                                bfloat16Product(m: rows, n: dv, k: lk, a: .bfloat16Bits(probabilities), transA: false, lda: lk,
                                                b: .bfloat16Bits(vb), transB: false, ldb: dv, c: blockOutput, ldc: dv, beta: 0)
                            }
                            for i in 0..<rows {
                                Elementwise.mapDense(UnsafePointer(blockOutput + i * dv), op + (first + i) * rowStride,
                                                     count: dv) { [inverse = inverseSums[first + i]] in $0 * inverse }
                            }
                            first += rows
                        }
                    }
                }
            }
        }
        return try merged.permuted([0, 2, 1, 3])
    }

    /// Attention whose output goes to a bfloat16 product (an output projection): on the AVX512-BF16 kernel, the heads
    /// merged as `[batch, Lq, heads·valueDim]` and rounded to bfloat16 as the kernel writes them — what
    /// ``scaledDotProductAttention(query:key:value:mask:scale:precision:rotary:queryPositions:keyPositions:)`` in
    /// bfloat16 gives, merged and rounded, bit for bit. nil where that kernel does not run (no AVX512-BF16, one query,
    /// an additive mask, sizes it refuses): the caller then takes the general path. Parameters as there.
    public static func mergedBFloat16Attention(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask = .none,
                                               scale: Float? = nil, rotary: RotaryEmbedding? = nil,
                                               queryPositions: [Int]? = nil,
                                               keyPositions: [Int]? = nil) throws -> BFloat16Rows? {
        guard bfloat16AttentionKernel, mask.additive == nil, query.rank == 4, key.rank == 4, value.rank == 4,
              query.shape[0] == key.shape[0], query.shape[1] == key.shape[1], query.shape[3] == key.shape[3],
              key.shape[0] == value.shape[0], key.shape[1] == value.shape[1], key.shape[2] == value.shape[2],
              mask.keyLengths.map({ $0.count == query.shape[0] }) ?? true else { return nil }
        let (lq, lk) = (query.shape[2], key.shape[2])
        let queryPositions = queryPositions ?? Array(0..<lq), keyPositions = keyPositions ?? Array(0..<lk)
        guard queryPositions.count == lq, keyPositions.count == lk,
              case .rows(let rows)? = try kernelAttention(
                query: query, key: key, value: value, mask: mask, scale: scale ?? 1 / Float(query.shape[3]).squareRoot(),
                precision: .bfloat16, rotary: rotary, queryPositions: queryPositions, keyPositions: keyPositions,
                bfloat16Output: true) else {
            return nil
        }
        return rows
    }

    enum KernelAttentionOutput {
        /// `[batch, heads, Lq, dv]` (a view of the merged `[batch, Lq, heads, dv]`).
        case tensor(Tensor)
        /// `[batch, Lq, heads·dv]` in bfloat16.
        case rows(BFloat16Rows)
    }

    /// The fused kernel of `precision` where it applies (shapes checked by the caller; no additive mask): the
    /// AVX512-BF16 kernel in bfloat16, the AVX-512 or AVX2 one in fp32 (fp32 output only; `float32Kernels` picks the
    /// set, tests run both); several queries, a positive scale, unit stride on the feature axes, a rotary embedding
    /// it can fuse (interleaved pairs within the head) or none. nil otherwise.
    static func kernelAttention(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask, scale s: Float,
                                precision: ComputePrecision, rotary: RotaryEmbedding?, queryPositions: [Int],
                                keyPositions: [Int], bfloat16Output: Bool,
                                float32Kernels: KernelSet = RowKernels.softmaxKernels) throws -> KernelAttentionOutput? {
        let (batch, heads, lq, dim) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        let lk = key.shape[2], dv = value.shape[3]
        let available = precision == .bfloat16
            ? bfloat16AttentionKernel
            : !bfloat16Output && float32Kernels != .swift && float32Kernels <= KernelSet.supported
        guard available, lq > 1, s > 0, query.strides[3] == 1, key.strides[3] == 1,
              value.strides[3] == 1 else { return nil }
        // The rotation fused into the kernel: interleaved pairs only, all of them within the head.
        let fusedRotary = rotary.flatMap { r in
            r.style == .interleaved && r.dimensions % 2 == 0 && r.dimensions > 0 && r.dimensions <= dim ? r : nil
        }
        guard fusedRotary != nil || rotary == nil else { return nil }
        let tables = fusedRotary.map { ($0.table(positions: queryPositions), $0.table(positions: keyPositions)) }
        return try withExtendedLifetime(tables) {
            try kernelPairAttention(q: query, k: key, v: value, batch: batch, heads: heads, queries: lq,
                                    keys: lk, dim: dim, valueDim: dv, scale: s, mask: mask,
                                    rotary: tables.map { ($0.0, $0.1, fusedRotary!.dimensions / 2) },
                                    bfloat16: precision == .bfloat16, bfloat16Output: bfloat16Output,
                                    wide: float32Kernels == .avx512)
        }
    }

    /// The AVX512-BF16 attention kernel (`indextts_attention_bf16_pack` / `_rows`, attention_bf16.c), or with
    /// `bfloat16` false the fp32 one (`indextts_attention_f32_*`, attention_f32.c; on AVX-512 when `wide`, else AVX2),
    /// over every (batch, head) pair: keys and values of each pair (rounded and) packed once (all pairs in parallel),
    /// then the query rows in tiles; the cores take whole pairs, or parts of the query rows where there are fewer
    /// pairs than cores. Queries, keys and values are read where they lie (row strides of the fused projection or a
    /// KV cache; the feature axis must be dense). Written as `[batch, Lq, heads, dv]` and returned as the
    /// `[batch, heads, Lq, dv]` view, like ``headParallelBFloat16Attention``. nil when the kernel refuses the sizes or
    /// memory runs out (the caller then takes the oneDNN or OpenBLAS path).
    private static func kernelPairAttention(q: Tensor, k: Tensor, v: Tensor, batch: Int, heads: Int,
                                            queries lq: Int, keys lk: Int, dim: Int, valueDim dv: Int,
                                            scale s: Float, mask: AttentionMask,
                                            rotary: (queries: RotaryTable, keys: RotaryTable, pairs: Int)?,
                                            bfloat16: Bool, bfloat16Output: Bool,
                                            wide: Bool) throws -> KernelAttentionOutput? {
        let pairs = batch * heads
        let packedCount = bfloat16 ? indextts_attention_bf16_packed_count(lk, dim, dv)
                                   : indextts_attention_f32_packed_count(lk, dim, dv)
        guard pairs > 0, packedCount >= 0, bfloat16 || !bfloat16Output else { return nil }
        // bfloat16 bits or floats, `packedCount` of them per pair.
        let elementBytes = bfloat16 ? MemoryLayout<UInt16>.stride : MemoryLayout<Float>.stride
        let packed = UnsafeMutableRawPointer.allocate(byteCount: max(pairs * packedCount * elementBytes, 1),
                                                      alignment: 64)
        defer { packed.deallocate() }
        // Parts of the query rows per pair: enough work items for every core (multiples of the 6-row tile).
        let parts = pairs >= Parallel.workerCount ? 1 : min((Parallel.workerCount + pairs - 1) / pairs, max(1, lq / 6))
        let rowsPerPart = ((lq + parts - 1) / parts + 5) / 6 * 6
        let status = UnsafeMutablePointer<Int32>.allocate(capacity: pairs * (parts + 1))
        defer { status.deallocate() }
        status.initialize(repeating: 0, count: pairs * (parts + 1))
        // Output rows of `heads·dv` values, each head's `dv` of them at its offset: fp32 or bfloat16.
        func run(_ o32: UnsafeMutablePointer<Float>?, _ o16: UnsafeMutablePointer<UInt16>?) {
            withExtendedLifetime((q, k, v)) {
                Parallel.forEachChunk(count: pairs, minimumChunk: 1) { range in
                    for pair in range {
                        let b = pair / heads, h = pair % heads
                        let (kp, vp) = (k.basePointer + b * k.strides[0] + h * k.strides[1],
                                        v.basePointer + b * v.strides[0] + h * v.strides[1])
                        let (cosines, sines) = (rotary?.keys.cosines.baseAddress, rotary?.keys.sines.baseAddress)
                        let target = packed + pair * packedCount * elementBytes
                        status[pair] = bfloat16
                            ? indextts_attention_bf16_pack(kp, k.strides[2], vp, v.strides[2], lk, dim, dv, cosines,
                                                           sines, rotary?.pairs ?? 0,
                                                           target.assumingMemoryBound(to: UInt16.self))
                            : indextts_attention_f32_pack(kp, k.strides[2], vp, v.strides[2], lk, dim, dv, cosines,
                                                          sines, rotary?.pairs ?? 0,
                                                          target.assumingMemoryBound(to: Float.self))
                    }
                }
                // One work item per chunk, claimed as the threads finish one: a core that starts late or runs slow
                // takes fewer pairs instead of holding the other up at the end.
                Parallel.forEachChunk(count: pairs * parts, minimumChunk: 1, chunksPerWorker: pairs * parts) { range in
                    for item in range {
                        let pair = item / parts, first = item % parts * rowsPerPart
                        let b = pair / heads, h = pair % heads
                        guard status[pair] == 0, first < lq else { continue }
                        let offset = b * lq * heads * dv + h * dv
                        let qp = q.basePointer + b * q.strides[0] + h * q.strides[1]
                        let source = packed + pair * packedCount * elementBytes
                        let validKeys = mask.keyLengths.map { max(0, $0[b]) } ?? -1
                        let (cosines, sines) = (rotary?.queries.cosines.baseAddress, rotary?.queries.sines.baseAddress)
                        let rows = min(rowsPerPart, lq - first)
                        status[pairs + item] = bfloat16
                            ? indextts_attention_bf16_rows(qp, q.strides[2], first, rows, lq,
                                                           source.assumingMemoryBound(to: UInt16.self), lk, dim, dv, s,
                                                           validKeys, mask.isCausal ? 1 : 0, cosines, sines,
                                                           rotary?.pairs ?? 0, o32.map { $0 + offset },
                                                           o16.map { $0 + offset }, heads * dv)
                            : (wide ? indextts_attention_f32_rows_avx512 : indextts_attention_f32_rows_avx2)(
                                qp, q.strides[2], first, rows, lq, source.assumingMemoryBound(to: Float.self), lk, dim,
                                dv, s, validKeys, mask.isCausal ? 1 : 0, cosines, sines, rotary?.pairs ?? 0,
                                o32.map { $0 + offset }, heads * dv)
                    }
                }
            }
        }
        let succeeded = { (0..<(pairs * (parts + 1))).allSatisfy { status[$0] == 0 } }
        if bfloat16Output {
            let bits = UnsafeMutablePointer<UInt16>.allocate(capacity: max(batch * lq * heads * dv, 1))
            run(nil, bits)
            let rows = BFloat16Rows(shape: [batch, lq, heads * dv], taking: bits)  // frees the bits in any case
            return succeeded() ? .rows(rows) : nil
        }
        let merged = Tensor.make([batch, lq, heads, dv]) { out in run(out.baseAddress!, nil) }
        guard succeeded() else { return nil }
        return .tensor(try merged.permuted([0, 2, 1, 3]))
    }

    /// One query per (batch, head): decoding with a KV cache. Scores, softmax and the weighted sum of values are
    /// computed by SIMD loops here, one task per (batch, head) pair split across cores, instead of two BLAS GEMV
    /// calls per pair: a 3-beam GPT-2 step has 60 pairs in each of 24 layers, and 2,880 small OpenBLAS calls (each
    /// free to wake its threads) cost more than the arithmetic.
    private static func singleQueryAttention(q: Tensor, k: Tensor, v: Tensor, batch: Int, heads: Int, keys lk: Int,
                                             dim: Int, valueDim dv: Int, scale s: Float, mask: AttentionMask,
                                             additive: Tensor?) -> Tensor {
        typealias V = SIMD8<Float>
        let (kRow, vRow) = (k.strides[2], v.strides[2])
        return withExtendedLifetime((q, k, v)) {
            Tensor.make([batch, heads, 1, dv]) { out in
                let o = out.baseAddress!
                let work = max(lk * (dim + dv), 1)
                Parallel.forEachChunk(count: batch * heads, minimumChunk: max(1, 16_384 / work)) { pairs in
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(lk, 1))
                    defer { scores.deallocate() }
                    for pair in pairs {
                        let b = pair / heads, h = pair % heads
                        let qp = UnsafePointer(q.basePointer + b * q.strides[0] + h * q.strides[1])
                        let kp = UnsafePointer(k.basePointer + b * k.strides[0] + h * k.strides[1])
                        let vp = UnsafePointer(v.basePointer + b * v.strides[0] + h * v.strides[1])
                        let op = o + pair * dv
                        op.update(repeating: 0, count: dv)
                        if lk == 0 { continue }
                        let fullDim = dim / 8 * 8
                        for j in 0..<lk {
                            let row = kp + j * kRow
                            var acc = V.zero
                            var c = 0
                            while c < fullDim {
                                acc.addProduct(UnsafeRawPointer(qp + c).loadUnaligned(as: V.self),
                                               UnsafeRawPointer(row + c).loadUnaligned(as: V.self))
                                c += 8
                            }
                            var sum = acc.sum()
                            while c < dim { sum += qp[c] * row[c]; c += 1 }
                            scores[j] = sum * s
                        }
                        applyMask(scores, lq: 1, lk: lk, causal: mask.isCausal, validKeys: mask.keyLengths?[b],
                                  additive: additive.map { ($0, b, h) })
                        RowKernels.softmaxRow(UnsafePointer(scores), scores, lk)
                        let fullValue = dv / 8 * 8
                        for j in 0..<lk {
                            let p = scores[j]
                            if p == 0 { continue }
                            let row = vp + j * vRow, weight = V(repeating: p)
                            var c = 0
                            while c < fullValue {
                                let target = UnsafeMutableRawPointer(op + c)
                                var acc = target.loadUnaligned(as: V.self)
                                acc.addProduct(weight, UnsafeRawPointer(row + c).loadUnaligned(as: V.self))
                                target.storeBytes(of: acc, as: V.self)
                                c += 8
                            }
                            while c < dv { op[c] += p * row[c]; c += 1 }
                        }
                    }
                }
            }
        }
    }

    /// Masks `lq` rows of scores: rows `firstRow ..< firstRow + lq` of a query set of `totalRows` (the causal
    /// alignment counts from the end of the keys over all `totalRows`); `additive` rows are taken from row 0.
    private static func applyMask(_ scores: UnsafeMutablePointer<Float>, lq: Int, lk: Int, firstRow: Int = 0,
                                  totalRows: Int? = nil, causal: Bool, validKeys: Int?, additive: (Tensor, Int, Int)?) {
        if let (mask, b, h) = additive {
            let base = mask.basePointer + b * mask.strides[0] + h * mask.strides[1]
            for i in 0..<lq {
                let row = base + i * mask.strides[2]
                for j in 0..<lk { scores[i * lk + j] += row[j * mask.strides[3]] }
            }
        }
        if causal {
            let total = totalRows ?? lq
            for i in 0..<lq {
                let last = firstRow + i + lk - total
                if last + 1 < lk {
                    (scores + i * lk + max(last + 1, 0)).update(repeating: -.infinity, count: lk - max(last + 1, 0))
                }
            }
        }
        if let validKeys, validKeys < lk {
            for i in 0..<lq {
                (scores + i * lk + max(validKeys, 0)).update(repeating: -.infinity, count: lk - max(validKeys, 0))
            }
        }
    }
}
