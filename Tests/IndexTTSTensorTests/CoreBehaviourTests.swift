import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Behaviour the PyTorch fixtures do not pin down: incremental decoding, views, parallel chunking, errors.
struct CoreBehaviourTests {
    static let store = try! WeightStore.open(path: Fixtures.path("ops/ops.safetensors"))

    /// Deterministic pseudo-random tensor.
    func random(_ shape: [Int], seed: UInt64 = 1) -> Tensor { TestRandom.tensor(shape, seed: seed, divisor: 2000) }

    @Test func kvCacheDecodingEqualsFullCausalAttention() throws {
        let q = try Self.store.tensor("sdpa_causal.q"), k = try Self.store.tensor("sdpa_causal.k")
        let v = try Self.store.tensor("sdpa_causal.v"), expected = try Self.store.tensor("sdpa_causal.out")
        let (batch, heads, length) = (q.shape[0], q.shape[1], q.shape[2])
        let cache = KVCache(batch: batch, heads: heads, headDim: k.shape[3], capacity: length + 2)
        // The cache holds keys and values of equal width here, so pad values to the key width when they differ.
        #expect(v.shape[3] != k.shape[3])
        let valueCache = KVCache(batch: batch, heads: heads, headDim: v.shape[3], capacity: length)
        var rows: [Tensor] = []
        for t in 0..<length {
            try cache.append(keys: k.sliced(axis: 2, range: t..<(t + 1)), values: k.sliced(axis: 2, range: t..<(t + 1)))
            try valueCache.append(keys: v.sliced(axis: 2, range: t..<(t + 1)), values: v.sliced(axis: 2, range: t..<(t + 1)))
            rows.append(try Tensor.scaledDotProductAttention(
                query: q.sliced(axis: 2, range: t..<(t + 1)), key: cache.keys, value: valueCache.values, mask: .causal))
        }
        expectClose(try Tensor.concatenate(rows, axis: 2), expected, "incremental decode")
        #expect(throws: TensorError.self) {
            try valueCache.append(keys: v.sliced(axis: 2, range: 0..<1), values: v.sliced(axis: 2, range: 0..<1))
        }
    }

    /// `unflattened` splits an axis as a view of any strides (heads out of a fused projection's columns).
    @Test func unflattenedIsAViewOfTheSameElements() throws {
        let fused = random([2, 5, 12], seed: 41)
        let parts = try fused.split(sizes: [4, 8], axis: 2)
        let heads = try parts[1].unflattened(axis: 2, into: [2, 4])
        #expect(heads.shape == [2, 5, 2, 4])
        #expect(heads.scalars == (try parts[1].contiguous().reshaped([2, 5, 2, 4]).scalars))
        #expect(heads.basePointer == parts[1].basePointer)  // no copy
        #expect(throws: TensorError.self) { try parts[1].unflattened(axis: 2, into: [3, 3]) }
        #expect(throws: TensorError.self) { try parts[1].unflattened(axis: 3, into: [8]) }
    }

    /// RoPE reads strided views directly and keeps its per-position tables between calls: a strided view, the same
    /// values made dense, and a second call (table reused) all give the same result; features past the rotated
    /// ones are copied through. Head widths 8 (scalar loops) and 48 (interleaved pairs 8 at a time, then a scalar
    /// rest when 40 are rotated).
    @Test(arguments: [RotaryEmbedding.PairStyle.interleaved, .halves], [8, 48])
    func rotaryOnStridedViewsEqualsDense(style: RotaryEmbedding.PairStyle, headDim: Int) throws {
        let fused = random([2, 70, 3 * 2 * headDim], seed: 42)
        let width = 2 * headDim
        let view = try fused.split(sizes: [width, width, width], axis: 2)[1].unflattened(axis: 2, into: [2, headDim])
            .permuted([0, 2, 1, 3])
        let dense = view.contiguous()
        for dimensions in headDim == 8 ? [8, 6] : [48, 40] {
            let rope = RotaryEmbedding(dimensions: dimensions, base: 10_000, style: style)
            let positions = Array(3..<73)
            let first = try rope.apply(view, positions: positions)
            #expect(first.scalars == (try rope.apply(dense, positions: positions).scalars))
            #expect(first.scalars == (try rope.apply(view, positions: positions).scalars))
            // Element by element against the definition (fp32 angles as PyTorch computes them).
            let got = first.scalars, x = dense.scalars
            var worst: Float = 0
            for row in 0..<(2 * 2 * 70) {
                let p = Float(positions[row % 70])
                for i in 0..<(dimensions / 2) {
                    let theta = p * (1 / powf(10_000, Float(2 * i) / Float(dimensions)))
                    let (a, b) = style == .halves ? (i, i + dimensions / 2) : (2 * i, 2 * i + 1)
                    let x0 = x[row * headDim + a], x1 = x[row * headDim + b]
                    worst = max(worst, abs(got[row * headDim + a] - (x0 * cosf(theta) - x1 * sinf(theta))),
                                abs(got[row * headDim + b] - (x1 * cosf(theta) + x0 * sinf(theta))))
                }
                for i in dimensions..<headDim { worst = max(worst, abs(got[row * headDim + i] - x[row * headDim + i])) }
            }
            #expect(worst < 1e-6, "dimensions \(dimensions): \(worst)")
        }
    }

    @Test func kvCacheReorderMovesBeams() throws {
        let cache = KVCache(batch: 3, heads: 1, headDim: 2, capacity: 4)
        let step = try Tensor(shape: [3, 1, 1, 2], scalars: [0, 0, 1, 1, 2, 2])
        try cache.append(keys: step, values: step)
        try cache.reorder(batchIndices: [2, 2, 0])
        #expect(cache.keys.scalars == [2, 2, 2, 2, 0, 0])
        #expect(cache.values.scalars == [2, 2, 2, 2, 0, 0])
        try cache.reorder(batchIndices: [0, 1, 2])  // identity: nothing moves
        #expect(cache.keys.scalars == [2, 2, 2, 2, 0, 0])
        try cache.append(keys: step, values: step)
        try cache.reorder(batchIndices: [2, 0, 1])  // a cycle: every item's source is overwritten by another
        #expect(cache.keys.scalars == [0, 0, 2, 2, 2, 2, 0, 0, 2, 2, 1, 1])
        #expect(throws: TensorError.self) { try cache.reorder(batchIndices: [0, 3, 1]) }
        try cache.truncate(to: 0)
        #expect(cache.keys.shape == [3, 1, 0, 2])
    }

    /// `TensorStorage.zeroed`: from 1 MiB anonymous pages that nothing has touched (none resident before the first
    /// write), zero when read, writable; below it an ordinary zero-filled buffer. A KV cache sized far beyond what it
    /// holds reads back what was appended, also after a truncation.
    @Test func zeroedStorageIsLazyZeroPages() throws {
        let count = 1 << 20  // 4 MiB
        let storage = TensorStorage.zeroed(count: count)
        #if canImport(Glibc)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = count * MemoryLayout<Float>.stride
        var resident = [UInt8](repeating: 1, count: (bytes + page - 1) / page)
        #expect(mincore(UnsafeMutableRawPointer(storage.pointer), bytes, &resident) == 0)
        #expect(resident.allSatisfy { $0 & 1 == 0 }, "pages resident before any write")
        #endif
        storage.pointer[count - 1] = 3
        storage.pointer[0] = 2
        #expect(storage.pointer[0] == 2 && storage.pointer[count - 1] == 3)
        #expect((1..<(count - 1)).allSatisfy { storage.pointer[$0] == 0 })
        let small = TensorStorage.zeroed(count: 1000)
        #expect((0..<1000).allSatisfy { small.pointer[$0] == 0 })

        let cache = KVCache(batch: 3, heads: 4, headDim: 64, capacity: 2048)  // 6 MiB per tensor
        let step = Tensor.make([3, 4, 5, 64]) { out in for i in out.indices { out[i] = Float(i % 97) - 40 } }
        try cache.append(keys: step, values: step.affine(scale: -1))
        #expect(cache.keys.contiguous().scalars == step.scalars)
        #expect(cache.values.contiguous().scalars == step.affine(scale: -1).scalars)
        try cache.truncate(to: 0)
        let first = try step.sliced(axis: 2, range: 0..<1).contiguous()
        try cache.append(keys: first, values: first)
        #expect(cache.keys.contiguous().scalars == first.scalars)
    }

    @Test func siluMultiplyingIsSiluThenMultiply() throws {
        let a = Tensor.make([3, 37]) { out in for i in out.indices { out[i] = Float(i % 23) * 0.7 - 8 } }
        let b = Tensor.make([3, 37]) { out in for i in out.indices { out[i] = Float(i % 11) * 0.3 - 1.5 } }
        #expect(try a.siluMultiplying(b).scalars == a.silu().multiplying(b).scalars)
        #expect(throws: TensorError.self) { try a.siluMultiplying(Tensor.zeros([2, 5])) }
    }

    /// Reordering against a gather of the items, for every map of 4 items onto 4 (permutations, cycles,
    /// duplicates), on a cache broadcast from one prompt (whose shared positions the reorder skips) and then grown
    /// differently per item, and after a truncation into the shared prefix.
    @Test func kvCacheReorderEqualsAGatherForEveryMap() throws {
        let (heads, dim, promptLength) = (2, 3, 3)
        func values(_ count: Int, _ seed: Float) -> [Float] { (0..<count).map { Float($0) * 0.25 + seed } }
        func gathered(_ t: Tensor, _ map: [Int]) throws -> [Float] {
            try map.flatMap { try t.selected(axis: 0, index: $0).contiguous().scalars }
        }
        for code in 0..<256 {
            let map = (0..<4).map { (code >> (2 * $0)) & 3 }
            let prompt = KVCache(batch: 1, heads: heads, headDim: dim, capacity: 8)
            let p = try Tensor(shape: [1, heads, promptLength, dim], scalars: values(heads * promptLength * dim, 100))
            try prompt.append(keys: p, values: p.affine(scale: -1))
            let cache = try prompt.broadcast(toBatch: 4)
            #expect(cache.sharedLength == promptLength)
            let step = try Tensor(shape: [4, heads, 2, dim], scalars: values(4 * heads * 2 * dim, 0))
            try cache.append(keys: step, values: step.affine(scale: 2))
            let (keys, vals) = (cache.keys.contiguous(), cache.values.contiguous())
            try cache.reorder(batchIndices: map)
            #expect(cache.keys.contiguous().scalars == (try gathered(keys, map)), "keys, map \(map)")
            #expect(cache.values.contiguous().scalars == (try gathered(vals, map)), "values, map \(map)")
        }
        // Truncating into the shared prefix: the positions after it are the items' own again and are reordered.
        let one = try Tensor(shape: [1, 1, 2, 1], scalars: [5, 6])
        let prompt = KVCache(batch: 1, heads: 1, headDim: 1, capacity: 4)
        try prompt.append(keys: one, values: one)
        let shared = try prompt.broadcast(toBatch: 2)
        try shared.truncate(to: 1)
        #expect(shared.sharedLength == 1)
        let own = try Tensor(shape: [2, 1, 1, 1], scalars: [7, 8])
        try shared.append(keys: own, values: own)
        try shared.reorder(batchIndices: [1, 1])
        #expect(shared.keys.contiguous().scalars == [5, 8, 5, 8])
    }

    /// The single-query (decoding) path equals the general path row by row: additive masks, key lengths, a fully
    /// masked item (zeros), value width unlike the key width, strided keys.
    @Test func singleQueryAttentionEqualsTheGeneralPathRowByRow() throws {
        let q = random([2, 3, 2, 12], seed: 21), keysWide = random([2, 3, 6, 16], seed: 22), v = random([2, 3, 6, 9], seed: 23)
        let k = try keysWide.sliced(axis: 3, range: 0..<12)  // unit feature stride, row stride 16
        let keep = random([2, 3, 2, 6], seed: 24)
        let additive = Tensor.make([2, 3, 2, 6]) { out in
            for (i, x) in keep.scalars.enumerated() { out[i] = x < -0.5 ? -.infinity : x }
        }
        for lengths in [[6, 4], [6, 0]] {
            let mask = AttentionMask(isCausal: true, keyLengths: lengths, additive: additive)
            let whole = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask)
            for row in 0..<2 {
                // Row `row` of two causal queries sees keys 0...(row + 4): a single query after 5 + row keys.
                let single = try Tensor.scaledDotProductAttention(
                    query: q.sliced(axis: 2, range: row..<(row + 1)), key: k.sliced(axis: 2, range: 0..<(5 + row)),
                    value: v.sliced(axis: 2, range: 0..<(5 + row)),
                    mask: AttentionMask(isCausal: true, keyLengths: lengths.map { min($0, 5 + row) },
                                        additive: additive.sliced(axis: 2, range: row..<(row + 1)).sliced(axis: 3, range: 0..<(5 + row))))
                expectClose(single, try whole.sliced(axis: 2, range: row..<(row + 1)).contiguous(),
                            tolerance: .init(rtol: 1e-5, atol: 1e-6), "row \(row), key lengths \(lengths)")
            }
            if lengths[1] == 0 {
                let masked = try Tensor.scaledDotProductAttention(query: q.sliced(axis: 2, range: 0..<1), key: k, value: v, mask: AttentionMask(isCausal: true, keyLengths: lengths))
                #expect(try masked.sliced(axis: 0, range: 1..<2).contiguous().scalars.allSatisfy { $0 == 0 })
            }
        }
    }

    @Test func fullyMaskedQueriesGiveZerosNotNaN() throws {
        let q = random([1, 1, 2, 4]), k = random([1, 1, 3, 4], seed: 2), v = random([1, 1, 3, 4], seed: 3)
        let out = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: AttentionMask(keyLengths: [0]))
        #expect(out.scalars.allSatisfy { $0 == 0 })
        let rows = try Tensor(shape: [2, 3], scalars: [-.infinity, -.infinity, -.infinity, 0, 0, 0]).softmax()
        #expect(rows.scalars.prefix(3).allSatisfy { $0 == 0 })
    }

    @Test func parallelChunksMatchSmallCalls() throws {
        // Large inputs take the multi-core paths; each small slice runs on one thread. Results must agree exactly.
        let x = random([7, 50_001], seed: 9)
        let whole = [x.gelu(), x.silu(), try x.softmax(), try x.layerNorm(weight: nil, bias: nil), x.contiguous()]
        for row in 0..<7 {
            let slice = try x.sliced(axis: 0, range: row..<(row + 1)).contiguous()
            let parts = [slice.gelu(), slice.silu(), try slice.softmax(), try slice.layerNorm(weight: nil, bias: nil), slice]
            for (w, p) in zip(whole, parts) {
                #expect(try w.sliced(axis: 0, range: row..<(row + 1)).scalars == p.scalars)
            }
        }
        let t = try x.transposed(0, 1).contiguous()
        #expect(t.shape == [50_001, 7])
        #expect(t[12_345, 6] == x[6, 12_345])
    }

    @Test func viewsAndReshapes() throws {
        let x = try Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let p = try x.permuted([2, 0, 1])
        #expect(!p.isContiguous)
        #expect(p[3, 1, 2] == x[1, 2, 3])
        let r = try p.reshaped([4, -1])
        #expect(r.shape == [4, 6])
        #expect(r.scalars == p.scalars)
        let e = try Tensor(shape: [3, 1], scalars: [1, 2, 3]).expanded(to: [2, 3, 4])
        #expect(e.contiguous().scalars.filter { $0 == 2 }.count == 8)
        let chunks = try x.chunked(2, axis: 2)
        #expect(chunks.map(\.shape) == [[2, 3, 2], [2, 3, 2]])
        #expect(try x.unsqueezed(1).squeezed(1).shape == [2, 3, 4])
        #expect(try x.selected(axis: 1, index: 2).scalars == [8, 9, 10, 11, 20, 21, 22, 23])
    }

    @Test func badShapesThrowTypedErrors() throws {
        let a = random([2, 3]), b = random([4, 5])
        #expect(throws: TensorError.self) { try a.matmul(b) }
        #expect(throws: TensorError.self) { try a.linear(weight: b) }
        #expect(throws: TensorError.self) { try a.adding(b) }
        #expect(throws: TensorError.self) { try a.reshaped([5, -1]) }
        #expect(throws: TensorError.self) { try a.permuted([0, 0]) }
        #expect(throws: TensorError.self) { try Tensor.embedding(b, ids: [1, 4]) }
        let x = random([1, 2, 5])
        #expect(throws: TensorError.self) { try x.padded(left: 5, right: 0, mode: .reflect) }
        #expect(throws: TensorError.self) { try x.conv1d(weight: self.random([3, 2, 7])) }
        #expect(throws: TensorError.self) { try x.conv1d(weight: self.random([3, 3, 1])) }
        #expect(throws: TensorError.self) { try x.groupNorm(groups: 3, weight: nil, bias: nil) }
        do {
            _ = try a.matmul(b)
        } catch let error as TensorError {
            #expect(error.description.contains("[2, 3]") && error.description.contains("[4, 5]"))
        }
    }

    @Test func storedTypesWidenExactly() {
        let halves: [UInt16] = [0x0000, 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x3555, 0x8000, 0x0400]
        for bits in halves {
            let reference = DTypeConversion.halfToFloat(bits)
            var value: Float = 0
            withUnsafeBytes(of: bits.littleEndian) { DTypeConversion.toFloat32($0.baseAddress!, dtype: .float16, count: 1, into: &value) }
            #expect(value == reference, "half 0x\(String(bits, radix: 16))")
        }
        #expect(DTypeConversion.halfToFloat(0x3C00) == 1)
        #expect(DTypeConversion.halfToFloat(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        // Vector and scalar paths of bf16 and int8 agree (17 elements: two SIMD blocks and a tail).
        let bf: [UInt16] = (0..<17).map { UInt16(0x3F80 + $0 * 0x51) }
        var wide = [Float](repeating: 0, count: 17)
        bf.withUnsafeBytes { DTypeConversion.toFloat32($0.baseAddress!, dtype: .bfloat16, count: 17, into: &wide) }
        #expect(wide == bf.map { Float(bitPattern: UInt32($0) << 16) })
        let bytes: [Int8] = (0..<17).map { Int8(truncatingIfNeeded: $0 * 23 - 128) }
        bytes.withUnsafeBytes { DTypeConversion.toFloat32($0.baseAddress!, dtype: .int8, count: 17, into: &wide) }
        #expect(wide == bytes.map(Float.init))
    }
}

extension CoreBehaviourTests {
    @Test func matmulAcceptsLayoutsBLASCannotAddress() throws {
        // A broadcast row (zero stride) is neither row- nor column-major; it must be made dense, not misread.
        let row = random([1, 4], seed: 5)
        let broadcast = try row.expanded(to: [3, 4])
        let b = random([4, 2], seed: 6)
        expectClose(try broadcast.matmul(b), try broadcast.contiguous().matmul(b), "broadcast lhs")
        let batched = try random([2, 1, 4], seed: 7).expanded(to: [2, 3, 4])
        expectClose(try batched.matmul(b), try batched.contiguous().matmul(b), "batched broadcast lhs")
        // Transposed batch views go to BLAS without a copy and agree with the dense product.
        let t = try random([2, 4, 3], seed: 8).transposed(1, 2)
        expectClose(try t.matmul(b), try t.contiguous().matmul(b), "transposed batch")
    }

    /// Two to eight rows (beams) take the weight-streaming kernels; they must equal a float64 reference for both
    /// weight layouts, with and without bias, including column and depth tails.
    @Test func fewRowLinearMatchesAReference() throws {
        let (k, n) = (259, 301)
        for rows in [2, 3, 5, 8, 9] {
            let x = random([rows, k], seed: UInt64(rows)).affine(scale: 0.1)
            let weight = random([n, k], seed: 77).affine(scale: 0.1)
            let bias = random([n], seed: 78)
            let xs = x.scalars, ws = weight.scalars, bs = bias.scalars
            var expected = [Float](repeating: 0, count: rows * n)
            for r in 0..<rows {
                for o in 0..<n {
                    var sum = 0.0
                    for j in 0..<k { sum += Double(xs[r * k + j]) * Double(ws[o * k + j]) }
                    expected[r * n + o] = Float(sum)
                }
            }
            let plain = try Tensor(shape: [rows, n], scalars: expected)
            let biased = try Tensor(shape: [rows, n], scalars: expected.enumerated().map { $0.element + bs[$0.offset % n] })
            let tol = Tolerance(rtol: 1e-4, atol: 1e-4)
            expectClose(try x.linear(weight: weight), plain, tolerance: tol, "outIn, \(rows) rows")
            expectClose(try x.linear(weight: weight, bias: bias), biased, tolerance: tol, "outIn + bias, \(rows) rows")
            let inOut = try weight.transposed(0, 1).contiguous()
            expectClose(try x.linear(weight: inOut, layout: .inOut), plain, tolerance: tol, "inOut, \(rows) rows")
            expectClose(try x.linear(weight: inOut, bias: bias, layout: .inOut), biased, tolerance: tol, "inOut + bias, \(rows) rows")
        }
    }
}
