import Foundation
@testable import IndexTTSTensor
import Testing

/// The WaveNet gate tanh(a + g_a)·σ(b + g_b) on the AVX-512 kernel against the SIMD8 Swift loop (the same formulas;
/// the kernel fuses multiply-adds, so a few fp32 ulps apart), across the range where tanh switches formulas
/// (|x| = 0.625), where e^x saturates, at ±∞ and NaN, with a tail shorter than a vector.
@Suite(.enabled(if: KernelSet.supported == .avx512, "needs AVX-512"))
struct GateKernelTests {
    @Test func kernelMatchesSwiftLoop() {
        var a: [Float] = (0..<1000).map { -25 + Float($0) * 0.05 }
        a += [0, -0, 0.625, -0.625, 0.6249999, 88, -88, 100, -100, .infinity, -.infinity, .nan]
        let b = a.reversed().map { $0 * 0.7 }
        let count = a.count  // 1012: a masked tail of 4
        var kernel = [Float](repeating: 0, count: count), swift = kernel
        for (gateA, gateB) in [(Float(0), Float(0)), (0.3, -1.2)] {
            VectorMath.gatedTanhSigmoid(a, b, gateA: gateA, gateB: gateB, into: &kernel, count: count, kernels: .avx512)
            VectorMath.gatedTanhSigmoid(a, b, gateA: gateA, gateB: gateB, into: &swift, count: count, kernels: .swift)
            for i in 0..<count {
                if swift[i].isNaN {
                    #expect(kernel[i].isNaN, "a \(a[i]) b \(b[i])")
                } else {
                    #expect(abs(kernel[i] - swift[i]) <= 4 * Float.ulpOfOne * max(abs(swift[i]), 0.05),
                            "a \(a[i]) b \(b[i]): kernel \(kernel[i]), swift \(swift[i])")
                }
            }
        }
        // The gate itself: tanh(1)·σ(−1).
        var one: Float = 0
        VectorMath.gatedTanhSigmoid([1], [-1], gateA: 0, gateB: 0, into: &one, count: 1, kernels: .avx512)
        #expect(abs(one - 0.761_594_16 * 0.268_941_42) < 1e-6)
    }

    /// The per-channel-gate variant the time-major WaveNet uses, over the same values with gate arrays.
    @Test func rowKernelMatchesSwiftLoop() {
        var a: [Float] = (0..<1000).map { -25 + Float($0) * 0.05 }
        a += [0, -0, 0.625, -0.625, 88, -88, .infinity, -.infinity, .nan, 3, 4, 5]
        let b = a.reversed().map { $0 * 0.7 }
        let gatesA = (0..<a.count).map { Float($0 % 7) * 0.3 - 1 }, gatesB = (0..<a.count).map { Float($0 % 5) * -0.4 + 0.5 }
        var kernel = [Float](repeating: 0, count: a.count), swift = kernel
        VectorMath.gatedTanhSigmoid(a, b, gatesA: gatesA, gatesB: gatesB, into: &kernel, count: a.count, kernels: .avx512)
        VectorMath.gatedTanhSigmoid(a, b, gatesA: gatesA, gatesB: gatesB, into: &swift, count: a.count, kernels: .swift)
        for i in 0..<a.count {
            if swift[i].isNaN {
                #expect(kernel[i].isNaN, "a \(a[i]) b \(b[i])")
            } else {
                #expect(abs(kernel[i] - swift[i]) <= 4 * Float.ulpOfOne * max(abs(swift[i]), 0.05),
                        "a \(a[i]) b \(b[i]): kernel \(kernel[i]), swift \(swift[i])")
            }
        }
        // The gate of element i is gatesA[i] / gatesB[i]: tanh(1 + 0.2)·σ(−1 − 0.5) at i = 4 of a one-off input.
        var one: [Float] = [0, 0, 0, 0, 0]
        VectorMath.gatedTanhSigmoid([0, 0, 0, 0, 1], [0, 0, 0, 0, -1], gatesA: [0, 0, 0, 0, 0.2],
                                    gatesB: [0, 0, 0, 0, -0.5], into: &one, count: 5, kernels: .avx512)
        #expect(abs(one[4] - Float(tanh(1.2) / (1 + exp(1.5)))) < 1e-6)
    }
}
