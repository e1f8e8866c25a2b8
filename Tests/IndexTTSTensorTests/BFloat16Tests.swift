import IndexTTSNN
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// bfloat16 products (oneDNN) against fp32 on the same operands. A bfloat16 product differs from fp32 by the
/// operands' rounding (≤ 2⁻⁹ relative each), so the bound is a relative RMS difference of 1e-2 — and it must not be
/// exactly fp32 (which would mean the bfloat16 path did not run).
@Suite(.enabled(if: ComputePrecision.bfloat16Supported, "needs a CPU with AVX512-BF16 or AMX-BF16"))
struct BFloat16Tests {
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed | 1
        return Tensor.make(shape) { out in
            for i in out.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                out[i] = Float(state >> 40) / Float(1 << 24) - 0.5
            }
        }
    }

    static func expectBFloat16Close(_ a: Tensor, _ e: Tensor, _ label: String) {
        #expect(a.shape == e.shape, "\(label): shape")
        let r = relativeRMSDifference(a, e)
        #expect(r < 1e-2, "\(label): relative RMS difference \(r)")
        #expect(r > 1e-6, "\(label): identical to fp32 (\(r)); the bfloat16 path did not run")
    }

    @Test func roundingIsNearestEven() throws {
        // 1 + 2⁻⁸ is halfway between two bfloat16 values: ties go to the even one (1.0); 1 + 3·2⁻⁸ rounds up.
        let values: [Float] = [1, 1 + 1 / 256, 1 + 3 / 256, -2.5, .infinity, 0]
        let m = try BFloat16Matrix(Tensor(shape: [1, values.count], scalars: values))
        #expect(m.float32().scalars == [1, 1, 1 + 4 / 256, -2.5, .infinity, 0])
        let nan = try BFloat16Matrix(Tensor(shape: [1, 1], scalars: [.nan]))
        #expect(nan.float32().scalars[0].isNaN)
        #expect(m.byteCount == 2 * values.count)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func productsMatchFloat32InEveryLayout(transA: Bool, transB: Bool) throws {
        let (m, n, k) = (37, 29, 70)
        let a = Self.random(transA ? [k, m] : [m, k], seed: 1), b = Self.random(transB ? [n, k] : [k, n], seed: 2)
        let c0 = Self.random([m, n], seed: 3)
        for beta: Float in [0, 1] {
            let expected = Tensor.make([m, n]) { out in
                out.baseAddress!.update(from: c0.basePointer, count: m * n)
                Tensor.gemm(m: m, n: n, k: k, a: a.basePointer, transA: transA, lda: transA ? m : k, b: b.basePointer,
                            transB: transB, ldb: transB ? k : n, c: out.baseAddress!, ldc: n, beta: beta)
            }
            let actual = Tensor.make([m, n]) { out in
                out.baseAddress!.update(from: c0.basePointer, count: m * n)
                Tensor.bfloat16Product(m: m, n: n, k: k, a: .float32(a.basePointer), transA: transA, lda: transA ? m : k,
                                       b: .float32(b.basePointer), transB: transB, ldb: transB ? k : n,
                                       c: out.baseAddress!, ldc: n, beta: beta)
            }
            Self.expectBFloat16Close(actual, expected, "transA \(transA) transB \(transB) beta \(beta)")
        }
    }

    @Test func linearConvolutionAndAttentionMatchFloat32() throws {
        let x = Self.random([2, 45, 64], seed: 4)
        let linear = Linear(weight: Self.random([48, 64], seed: 5), bias: Self.random([48], seed: 6))
        let half = try linear.bfloat16()
        guard case .bfloat16 = half.weights else { Issue.record("weights not bfloat16"); return }
        Self.expectBFloat16Close(try half(x), try linear(x), "Linear")
        // [in, out] (GPT-2 Conv1D) weights are transposed on conversion.
        let inOut = Linear(weight: Self.random([64, 48], seed: 7), bias: nil, layout: .inOut)
        Self.expectBFloat16Close(try inOut.bfloat16()(x), try inOut(x), "Linear [in, out]")

        let signal = Self.random([2, 32, 50], seed: 8)
        let weight = Self.random([24, 32, 5], seed: 9), bias = Self.random([24], seed: 10)
        let bf = try BFloat16Matrix(weight.reshaped([24, 160]))
        Self.expectBFloat16Close(try signal.conv1d(weight: weight, bias: bias, padding: 4, dilation: 2, bfloat16Weight: bf),
                                 try signal.conv1d(weight: weight, bias: bias, padding: 4, dilation: 2), "conv1d")
        #expect(throws: TensorError.self) {
            try signal.conv1d(weight: weight, bias: bias, bfloat16Weight: try BFloat16Matrix(weight.reshaped([48, 80])))
        }

        let q = Self.random([2, 3, 40, 16], seed: 11), k = Self.random([2, 3, 33, 16], seed: 12)
        let v = Self.random([2, 3, 33, 8], seed: 13)
        let mask = AttentionMask(keyLengths: [33, 20])
        Self.expectBFloat16Close(
            try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, precision: .bfloat16),
            try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask), "attention")
    }

    @Test func choicesParse() {
        #expect(ComputePrecision(choice: "bf16") == .bfloat16 && ComputePrecision(choice: "FP32") == .float32)
        #expect(ComputePrecision(choice: "auto") == .bfloat16)  // this suite only runs where bf16 is native
        #expect(ComputePrecision(choice: "fp8") == nil)
        #expect(throws: Never.self) { try ComputePrecision.bfloat16.checkSupported() }
    }
}

/// Where bfloat16 is not native it is refused with the reason, and `auto` means fp32.
@Suite(.enabled(if: !ComputePrecision.bfloat16Supported, "runs only on CPUs without native bfloat16"))
struct BFloat16UnsupportedTests {
    @Test func bfloat16IsRefusedWithTheReason() {
        #expect(ComputePrecision(choice: "auto") == .float32)
        #expect(throws: TensorError.self) { try ComputePrecision.bfloat16.checkSupported() }
    }
}
