import Foundation
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// The AVX512-BF16 attention kernel (`indextts_attention_bf16_*`) against a Double evaluation of the same
/// arithmetic — queries, keys and values rounded to bfloat16, exact scores, the unnormalised probabilities
/// e^(s·(x − max)) rounded to bfloat16, divided by the unrounded sum — and against the oneDNN path on one machine.
/// Shapes cover every tail of the kernel's tiling: query counts that are not multiples of its 6-row tile, key counts
/// that are odd or not multiples of its 16- and 64-key blocks, odd head widths, value widths that are not multiples
/// of 16 or wider than its 64-channel pass, key lengths, causal masks with more queries than keys, strided views.
@Suite(.enabled(if: Tensor.bfloat16AttentionKernel, "needs AVX512-BF16"))
struct AttentionKernelTests {
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed | 1
        return Tensor.make(shape) { out in
            for i in out.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                out[i] = Float(state >> 40) / Float(1 << 24) * 4 - 2
            }
        }
    }

    struct KernelDidNotRun: Error {}

    /// The attention on the kernel itself (not through the dispatch, which would fall back to oneDNN if the kernel
    /// refused): fails the test when the kernel does not run.
    static func kernel(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: AttentionMask = .none,
                       rotary: RotaryEmbedding? = nil, queryPositions: [Int]? = nil,
                       keyPositions: [Int]? = nil, precision: ComputePrecision = .bfloat16,
                       float32Kernels: KernelSet = RowKernels.softmaxKernels) throws -> Tensor {
        let result = try Tensor.kernelAttention(query: q, key: k, value: v, mask: mask,
                                                scale: 1 / Float(q.shape[3]).squareRoot(), precision: precision,
                                                rotary: rotary,
                                                queryPositions: queryPositions ?? Array(0..<q.shape[2]),
                                                keyPositions: keyPositions ?? Array(0..<k.shape[2]), bfloat16Output: false,
                                                float32Kernels: float32Kernels)
        guard case .tensor(let out)? = result else {
            Issue.record("the attention kernel did not run for \(q.shape), \(k.shape), \(v.shape)")
            throw KernelDidNotRun()
        }
        return out
    }

    static func bfloat16(_ x: Float) -> Double {
        var bits = x.bitPattern
        bits &+= 0x7fff &+ ((bits >> 16) & 1)
        return Double(Float(bitPattern: bits & 0xffff_0000))
    }

    /// The kernel's arithmetic in Double: `[batch, heads, Lq, dv]`; with `rounded` false (the fp32 kernel) nothing
    /// is rounded to bfloat16.
    static func reference(q: Tensor, k: Tensor, v: Tensor, scale: Double, keyLengths: [Int]?, causal: Bool,
                          rounded: Bool = true) -> [Double] {
        func bfloat16(_ x: Float) -> Double { rounded ? Self.bfloat16(x) : Double(x) }
        let (batch, heads, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (lk, dv) = (k.shape[2], v.shape[3])
        let (qs, ks, vs) = (q.contiguous().scalars, k.contiguous().scalars, v.contiguous().scalars)
        var out = [Double](repeating: 0, count: batch * heads * lq * dv)
        for b in 0..<batch {
            for h in 0..<heads {
                let qb = (b * heads + h) * lq * d, kb = (b * heads + h) * lk * d, vb = (b * heads + h) * lk * dv
                for i in 0..<lq {
                    var limit = min(keyLengths?[b] ?? lk, lk)
                    if causal { limit = min(limit, max(0, i + lk - lq + 1)) }
                    guard limit > 0 else { continue }
                    var scores = [Double](repeating: 0, count: limit)
                    for j in 0..<limit {
                        var sum = 0.0
                        for c in 0..<d { sum += bfloat16(qs[qb + i * d + c]) * bfloat16(ks[kb + j * d + c]) }
                        scores[j] = Double(Float(sum))  // accumulated in fp32 by the kernels
                    }
                    let m = scores.max()!
                    let e = scores.map { exp(scale * ($0 - m)) }
                    let total = e.reduce(0, +)
                    for c in 0..<dv {
                        var acc = 0.0
                        for j in 0..<limit {
                            let p = rounded ? bfloat16(Float(e[j])) : e[j]
                            acc += p * bfloat16(vs[vb + j * dv + c])
                        }
                        out[((b * heads + h) * lq + i) * dv + c] = acc / total
                    }
                }
            }
        }
        return out
    }

    /// (queries, keys, head width, value width, causal, key lengths)
    static let shapes = [
        (13, 17, 16, 8, false, false), (6, 64, 64, 64, false, false), (37, 130, 64, 64, false, true),
        (50, 33, 17, 20, true, false), (19, 71, 64, 72, true, true), (7, 1, 8, 16, false, false),
        (64, 200, 32, 136, false, false), (1291 / 10, 129, 64, 64, false, false),
    ]

    /// Queries, keys and values as strided views of one fused projection, as the DiT's `wqkv` leaves them.
    static func fusedViews(queries: Int, keys: Int, dim: Int, valueDim: Int, heads: Int) throws -> (Tensor, Tensor, Tensor) {
        let width = dim + dim + valueDim + 5
        let fused = random([2, max(queries, keys), heads, width], seed: UInt64(queries * 1000 + keys))
        let q = try fused.sliced(axis: 1, range: 0..<queries).sliced(axis: 3, range: 0..<dim).permuted([0, 2, 1, 3])
        let k = try fused.sliced(axis: 1, range: 0..<keys).sliced(axis: 3, range: dim..<(2 * dim)).permuted([0, 2, 1, 3])
        let v = try fused.sliced(axis: 1, range: 0..<keys).sliced(axis: 3, range: (2 * dim)..<(2 * dim + valueDim))
            .permuted([0, 2, 1, 3])
        return (q, k, v)
    }

    /// Relative RMS and largest absolute error of `actual` against `expected`, and the largest |expected|.
    static func errors(_ actual: [Float], _ expected: [Double]) -> (rms: Double, worst: Double, peak: Double) {
        var worst = 0.0, squares = 0.0, norm = 0.0
        for (a, e) in zip(actual, expected) {
            worst = max(worst, abs(Double(a) - e))
            squares += (Double(a) - e) * (Double(a) - e)
            norm += e * e
        }
        return ((squares / max(norm, .leastNonzeroMagnitude)).squareRoot(), worst, expected.map(abs).max() ?? 0)
    }

    @Test(arguments: shapes)
    func kernelMatchesDoubleAndOneDNN(queries: Int, keys: Int, dim: Int, valueDim: Int, causal: Bool,
                                      lengths: Bool) throws {
        let heads = 3
        let (q, k, v) = try Self.fusedViews(queries: queries, keys: keys, dim: dim, valueDim: valueDim, heads: heads)
        let keyLengths = lengths ? [keys, max(1, keys / 3)] : nil
        let mask = AttentionMask(isCausal: causal, keyLengths: keyLengths)
        let kernel = try Self.kernel(q, k, v, mask: mask)
        #expect(kernel.shape == [2, heads, queries, valueDim])
        let expected = Self.reference(q: q, k: k, v: v, scale: 1 / Double(dim).squareRoot(), keyLengths: keyLengths,
                                      causal: causal)
        let (rms, worst, peak) = Self.errors(kernel.contiguous().scalars, expected)
        // Outputs agree to fp32 accumulation error (≈ 10⁻⁷ relative), except that a probability whose e^x lands
        // within 2.3·10⁻⁷ of a bfloat16 rounding boundary may round the other way (one step of 2⁻⁸ in one term of a
        // row): measured 4·10⁻⁷ … 1.2·10⁻⁵ relative RMS, 10⁻⁴ at worst; bfloat16 against fp32 is ≈ 2·10⁻³.
        #expect(rms < 1e-4, "\(queries)×\(keys) d \(dim) dv \(valueDim): relative RMS error \(rms)")
        #expect(worst <= peak / 256, "\(queries)×\(keys) d \(dim) dv \(valueDim): max error \(worst) of \(peak)")
        let oneDNN = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, scale: nil,
                                                          precision: .bfloat16, attentionKernel: false)
        let r = relativeRMSDifference(kernel, oneDNN)
        #expect(r < 1e-6, "kernel vs oneDNN: relative RMS \(r)")
    }

    /// Where there are fewer (batch, head) pairs than cores the query rows are split between them; queries with no
    /// key (causal with more queries than keys, a key length of 0) get zeros.
    @Test func oneHeadSplitsRowsAndMaskedRowsAreZero() throws {
        let q = Self.random([1, 1, 100, 16], seed: 5), k = Self.random([1, 1, 40, 16], seed: 6)
        let v = Self.random([1, 1, 40, 16], seed: 7)
        let out = try Self.kernel(q, k, v, mask: .causal)
        let expected = Self.reference(q: q, k: k, v: v, scale: 0.25, keyLengths: nil, causal: true)
        let actual = out.contiguous().scalars
        #expect(actual[0..<(60 * 16)].allSatisfy { $0 == 0 })
        for (a, e) in zip(actual, expected) { #expect(abs(Double(a) - e) <= 1e-5) }
        let none = try Self.kernel(Self.random([2, 2, 9, 16], seed: 8), k.expanded(to: [2, 2, 40, 16]),
                                   v.expanded(to: [2, 2, 40, 16]), mask: AttentionMask(keyLengths: [40, 0]))
        // A negative key length masks every key, as on the other paths.
        let negative = try Self.kernel(Self.random([1, 2, 9, 16], seed: 9), k.expanded(to: [1, 2, 40, 16]),
                                       v.expanded(to: [1, 2, 40, 16]), mask: AttentionMask(keyLengths: [-3]))
        #expect(negative.contiguous().scalars.allSatisfy { $0 == 0 })
        #expect(try none.sliced(axis: 0, range: 1..<2).contiguous().scalars.allSatisfy { $0 == 0 })
        #expect(try none.sliced(axis: 0, range: 0..<1).contiguous().scalars.contains { $0 != 0 })
    }

    /// The rotary embedding fused into the kernel (interleaved pairs rotated as queries and keys are rounded) gives
    /// exactly what rotating first gives — the same products and sums — for all or some of the channels, pair
    /// counts with a scalar tail, and query positions that are a subset of the key positions (the DiT's last layer).
    @Test(arguments: [(64, 64), (64, 20), (18, 18)])
    func fusedRotaryEqualsRotatingFirst(dim: Int, rotated: Int) throws {
        let q = Self.random([2, 3, 40, dim], seed: 11), k = Self.random([2, 3, 57, dim], seed: 12)
        let v = Self.random([2, 3, 57, 24], seed: 13)
        let rotary = RotaryEmbedding(dimensions: rotated, base: 10_000, style: .interleaved)
        let queryPositions = Array(17..<57), keyPositions = Array(0..<57)
        let fused = try Self.kernel(q, k, v, rotary: rotary, queryPositions: queryPositions, keyPositions: keyPositions)
        let first = try Self.kernel(rotary.apply(q, positions: queryPositions), rotary.apply(k, positions: keyPositions), v)
        #expect(fused.contiguous().scalars == first.contiguous().scalars, "d \(dim), \(rotated) rotated")
        // And the oneDNN path (which rotates first) agrees as in the test above.
        let oneDNN = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: .none, scale: nil,
                                                          precision: .bfloat16, attentionKernel: false, rotary: rotary,
                                                          queryPositions: queryPositions, keyPositions: keyPositions)
        #expect(relativeRMSDifference(fused, oneDNN) < 1e-4)
        // Without the rotation the result is different (the test would notice a rotation that did nothing).
        let unrotated = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, precision: .bfloat16)
        #expect(relativeRMSDifference(fused, unrotated) > 1e-2)
    }

    /// The kernel's heads merged and rounded as it writes them (for a bfloat16 output projection) are the fp32
    /// result merged and rounded, bit for bit; with a rotary embedding, key lengths and a causal mask too. Where the
    /// kernel does not apply (one query, an additive mask) there is no merged result.
    @Test func mergedBFloat16OutputIsTheResultRounded() throws {
        let q = Self.random([2, 3, 40, 16], seed: 21), k = Self.random([2, 3, 45, 16], seed: 22)
        let v = Self.random([2, 3, 45, 24], seed: 23)
        let rotary = RotaryEmbedding(dimensions: 16, style: .interleaved)
        for mask in [AttentionMask.none, AttentionMask(isCausal: true, keyLengths: [45, 30])] {
            let merged = try #require(try Tensor.mergedBFloat16Attention(query: q, key: k, value: v, mask: mask, rotary: rotary))
            #expect(merged.shape == [2, 40, 3 * 24])
            let full = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, precision: .bfloat16,
                                                            rotary: rotary)
            let expected = BFloat16Rows(try full.permuted([0, 2, 1, 3]).contiguous().reshaped([2, 40, 72]))
            #expect(try merged.float32().scalars == expected.float32().scalars)
        }
        #expect(try Tensor.mergedBFloat16Attention(query: q.sliced(axis: 2, range: 0..<1), key: k, value: v) == nil)
        #expect(try Tensor.mergedBFloat16Attention(query: q, key: k, value: v,
                                                   mask: AttentionMask(additive: Tensor.zeros([1, 1, 40, 45]))) == nil)
    }
}
