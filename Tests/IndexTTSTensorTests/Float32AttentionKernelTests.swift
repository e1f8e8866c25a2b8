import Foundation
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// The fp32 attention kernel (`indextts_attention_f32_*`) on every instruction set this machine has (AVX2, and
/// AVX-512 where present) against a Double evaluation, against the OpenBLAS path and against each other, on the
/// shapes of ``AttentionKernelTests`` (every tail of the 6-row tile and of the 16- and 64-key blocks, odd head widths,
/// value widths past one 64-channel pass, key lengths, causal masks with more queries than keys, strided views of a
/// fused projection).
@Suite(.enabled(if: Tensor.float32AttentionKernel, "needs AVX2"))
struct Float32AttentionKernelTests {
    typealias Helpers = AttentionKernelTests

    /// The kernel's instruction sets on this machine.
    static let sets = [KernelSet.avx2, .avx512].filter { $0 <= KernelSet.supported }

    @Test(arguments: AttentionKernelTests.shapes)
    func kernelMatchesDoubleAndBLAS(queries: Int, keys: Int, dim: Int, valueDim: Int, causal: Bool,
                                    lengths: Bool) throws {
        let (q, k, v) = try Helpers.fusedViews(queries: queries, keys: keys, dim: dim, valueDim: valueDim, heads: 3)
        let keyLengths = lengths ? [keys, max(1, keys / 3)] : nil
        let mask = AttentionMask(isCausal: causal, keyLengths: keyLengths)
        let expected = Helpers.reference(q: q, k: k, v: v, scale: 1 / Double(dim).squareRoot(),
                                         keyLengths: keyLengths, causal: causal, rounded: false)
        let blas = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, scale: nil,
                                                        precision: .float32, attentionKernel: false)
        var results: [KernelSet: Tensor] = [:]
        for set in Self.sets {
            let kernel = try Helpers.kernel(q, k, v, mask: mask, precision: .float32, float32Kernels: set)
            results[set] = kernel
            #expect(kernel.shape == [2, 3, queries, valueDim])
            let (rms, worst, peak) = Helpers.errors(kernel.contiguous().scalars, expected)
            // fp32 accumulation and e^x to ≈ 2·10⁻⁷ relative: measured ≤ 4.3·10⁻⁷ relative RMS and ≤ 1.2·10⁻⁶ of
            // the largest output at worst on these shapes.
            #expect(rms < 2e-6, "\(set) \(queries)×\(keys) d \(dim) dv \(valueDim): relative RMS error \(rms)")
            #expect(worst <= peak * 1e-5, "\(set) \(queries)×\(keys) d \(dim) dv \(valueDim): max error \(worst) of \(peak)")
            let r = relativeRMSDifference(kernel, blas)
            #expect(r < 2e-6, "\(set) kernel vs OpenBLAS: relative RMS \(r)")
        }
        // Both sets add the same products in the same order; only the sums of the exponentials differ in order.
        if let wide = results[.avx512], let narrow = results[.avx2] {
            #expect(relativeRMSDifference(wide, narrow) < 1e-6)
        }
        // The public entry point takes the kernel of the attention softmax's set: the same values, bit for bit.
        let dispatched = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask)
        #expect(dispatched.contiguous().scalars == results[RowKernels.softmaxKernels]?.contiguous().scalars)
    }

    /// Fewer (batch, head) pairs than cores split the query rows; queries with no key get zeros; a negative key
    /// length masks every key.
    @Test(arguments: sets)
    func maskedRowsAreZero(set: KernelSet) throws {
        let q = Helpers.random([1, 1, 100, 16], seed: 5), k = Helpers.random([1, 1, 40, 16], seed: 6)
        let v = Helpers.random([1, 1, 40, 16], seed: 7)
        let out = try Helpers.kernel(q, k, v, mask: .causal, precision: .float32, float32Kernels: set)
        let expected = Helpers.reference(q: q, k: k, v: v, scale: 0.25, keyLengths: nil, causal: true, rounded: false)
        let actual = out.contiguous().scalars
        #expect(actual[0..<(60 * 16)].allSatisfy { $0 == 0 })
        for (a, e) in zip(actual, expected) { #expect(abs(Double(a) - e) <= 1e-5) }
        let none = try Helpers.kernel(Helpers.random([2, 2, 9, 16], seed: 8), k.expanded(to: [2, 2, 40, 16]),
                                      v.expanded(to: [2, 2, 40, 16]), mask: AttentionMask(keyLengths: [40, 0]),
                                      precision: .float32, float32Kernels: set)
        #expect(try none.sliced(axis: 0, range: 1..<2).contiguous().scalars.allSatisfy { $0 == 0 })
        #expect(try none.sliced(axis: 0, range: 0..<1).contiguous().scalars.contains { $0 != 0 })
        let negative = try Helpers.kernel(Helpers.random([1, 2, 9, 16], seed: 9), k.expanded(to: [1, 2, 40, 16]),
                                          v.expanded(to: [1, 2, 40, 16]), mask: AttentionMask(keyLengths: [-3]),
                                          precision: .float32, float32Kernels: set)
        #expect(negative.contiguous().scalars.allSatisfy { $0 == 0 })
    }

    /// The rotation fused into the kernel gives exactly what rotating first gives, and the BLAS path (which rotates
    /// first) agrees to fp32 accumulation error; without the rotation the result differs.
    @Test(arguments: [(64, 64), (64, 20), (18, 18)])
    func fusedRotaryEqualsRotatingFirst(dim: Int, rotated: Int) throws {
        let q = Helpers.random([2, 3, 40, dim], seed: 11), k = Helpers.random([2, 3, 57, dim], seed: 12)
        let v = Helpers.random([2, 3, 57, 24], seed: 13)
        let rotary = RotaryEmbedding(dimensions: rotated, base: 10_000, style: .interleaved)
        let queryPositions = Array(17..<57), keyPositions = Array(0..<57)
        let blas = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: .none, scale: nil,
                                                        precision: .float32, attentionKernel: false, rotary: rotary,
                                                        queryPositions: queryPositions, keyPositions: keyPositions)
        let unrotated = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: .none, scale: nil,
                                                             precision: .float32, attentionKernel: false)
        for set in Self.sets {
            let fused = try Helpers.kernel(q, k, v, rotary: rotary, queryPositions: queryPositions,
                                           keyPositions: keyPositions, precision: .float32, float32Kernels: set)
            let first = try Helpers.kernel(rotary.apply(q, positions: queryPositions),
                                           rotary.apply(k, positions: keyPositions), v, precision: .float32,
                                           float32Kernels: set)
            #expect(fused.contiguous().scalars == first.contiguous().scalars, "\(set) d \(dim), \(rotated) rotated")
            #expect(relativeRMSDifference(fused, blas) < 2e-6)
            #expect(relativeRMSDifference(fused, unrotated) > 1e-2)
        }
    }

    /// A bfloat16 output is not the fp32 kernel's (it declines), and an additive mask keeps the BLAS path: masked
    /// keys (−∞) weigh nothing, which the kernel (it has no additive mask) would not know.
    @Test func declinesWhatItDoesNotDo() throws {
        let q = Helpers.random([1, 2, 12, 16], seed: 31), k = Helpers.random([1, 2, 20, 16], seed: 32)
        let v = Helpers.random([1, 2, 20, 16], seed: 33)
        let declined = try Tensor.kernelAttention(query: q, key: k, value: v, mask: .none, scale: 0.25,
                                                  precision: .float32, rotary: nil, queryPositions: Array(0..<12),
                                                  keyPositions: Array(0..<20), bfloat16Output: true)
        if case .some = declined { Issue.record("the fp32 kernel wrote a bfloat16 output") }
        // Keys 12..<20 masked for every query: the same as attending to the first 12 keys only.
        let additive = AttentionMask(additive: Tensor.make([1, 1, 12, 20]) { out in
            for i in 0..<12 { for j in 0..<20 { out[i * 20 + j] = j < 12 ? 0 : -.infinity } }
        })
        let masked = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: additive)
        let firstKeys = try Tensor.scaledDotProductAttention(query: q, key: k, value: v,
                                                             mask: AttentionMask(keyLengths: [12]))
        let unmasked = try Tensor.scaledDotProductAttention(query: q, key: k, value: v)
        #expect(relativeRMSDifference(masked, firstKeys) < 1e-6)
        #expect(relativeRMSDifference(masked, unmasked) > 1e-2)
    }
}
