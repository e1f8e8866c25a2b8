import CIndexTTSKernels
import Foundation
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// The attention softmax row on every kernel set this CPU runs (portable Swift, the AVX2 and AVX-512 C kernels)
/// against a Double computation: fp32 output, bfloat16 output (round to nearest even of the kernel's own fp32 value,
/// so within one bfloat16 step of the exact value's rounding), the returned 1/Σ, masked (−∞) keys, a fully masked
/// row, and lengths around every vector width and tail.
struct SoftmaxKernelTests {
    static let lengths = [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 100, 1291]

    func row(_ n: Int, seed: UInt64, masked: Bool) -> [Float] {
        // −40 … 40: exponents far below the maximum too.
        TestRandom.integers(n, seed: seed, modulus: 40001).enumerated().map { j, v in
            masked && j % 5 == 3 ? -.infinity : Float(v) / 1000
        }
    }

    @Test func everyKernelSetMatchesADoubleSoftmax() throws {
        let sets = KernelSet.allCases.filter { $0 <= KernelSet.supported }
        let scale: Float = 0.125
        for n in Self.lengths {
            for masked in [false, true] {
                let values = row(n, seed: UInt64(n * 2 + (masked ? 1 : 0)), masked: masked)
                let maximum = values.max()!
                let exact = values.map { $0 == -.infinity ? 0 : Foundation.exp(Double(scale) * Double($0 - maximum)) }
                let total = exact.reduce(0, +)
                for set in sets {
                    var out = values
                    let inverse = out.withUnsafeMutableBufferPointer {
                        RowKernels.unnormalisedSoftmaxRow($0.baseAddress!, n, scale: scale, bfloat16: nil, kernels: set)
                    }
                    #expect(abs(Double(inverse) * total - 1) < 1e-5, "\(set) n \(n) masked \(masked): 1/sum")
                    for j in 0..<n {
                        #expect(abs(Double(out[j]) - exact[j]) <= 2e-6 * exact[j] + 1e-37, "\(set) n \(n) j \(j): \(out[j]) vs \(exact[j])")
                    }
                    var scores = values
                    var bits = [UInt16](repeating: 0xFFFF, count: n)
                    let inverse16 = scores.withUnsafeMutableBufferPointer { s in
                        bits.withUnsafeMutableBufferPointer { b in
                            RowKernels.unnormalisedSoftmaxRow(s.baseAddress!, n, scale: scale, bfloat16: b.baseAddress!, kernels: set)
                        }
                    }
                    #expect(inverse16 == inverse, "\(set) n \(n): the same sum with bfloat16 output")
                    #expect(scores == values, "\(set) n \(n): bfloat16 output leaves the scores alone")
                    for j in 0..<n {
                        // The kernel rounds its own fp32 value to nearest even.
                        let fp32 = out[j].bitPattern
                        let expected = UInt16(truncatingIfNeeded: (fp32 &+ 0x7FFF &+ ((fp32 >> 16) & 1)) >> 16)
                        #expect(bits[j] == expected, "\(set) n \(n) j \(j): bfloat16 \(bits[j]) vs \(expected)")
                    }
                }
            }
        }
    }

    /// The AVX512-BF16 rows (bfloat16 attention probabilities, SwiGLU's gated activation) against Double: each
    /// value within one bfloat16 step (2⁻⁸ relative) of the exact one, 1/Σ within 1e-5, masked keys exactly 0, the
    /// scores untouched, a fully masked row zeros; silu·up at the extremes (±200: e^(−g) overflows or vanishes).
    @Test(.enabled(if: RowKernels.bfloat16RowKernels, "needs AVX512-BF16"))
    func bfloat16RowKernelsMatchDouble() {
        let scale: Float = 0.125
        for n in Self.lengths {
            for masked in [false, true] {
                let values = row(n, seed: UInt64(n * 2 + (masked ? 1 : 0)), masked: masked)
                let maximum = values.max()!
                let exact = values.map { $0 == -.infinity ? 0 : Foundation.exp(Double(scale) * Double($0 - maximum)) }
                var scores = values
                var bits = [UInt16](repeating: 0xFFFF, count: n)
                let inverse = scores.withUnsafeMutableBufferPointer { s in
                    bits.withUnsafeMutableBufferPointer { b in
                        RowKernels.bfloat16SoftmaxRow(s.baseAddress!, n, scale: scale, into: b.baseAddress!)
                    }
                }
                #expect(abs(Double(inverse) * exact.reduce(0, +) - 1) < 1e-5, "n \(n) masked \(masked): 1/sum")
                #expect(scores == values, "n \(n): the scores are left alone")
                for j in 0..<n {
                    let value = Double(Float(bitPattern: UInt32(bits[j]) << 16))
                    #expect(abs(value - exact[j]) <= exact[j] / 256 + 1e-37, "n \(n) j \(j): \(value) vs \(exact[j])")
                    if values[j] == -.infinity { #expect(bits[j] == 0, "n \(n) j \(j): masked key") }
                }
            }
        }
        for n in [1, 16, 37] {
            var scores = [Float](repeating: -.infinity, count: n)
            var bits = [UInt16](repeating: 0xFFFF, count: n)
            let inverse = scores.withUnsafeMutableBufferPointer { s in
                bits.withUnsafeMutableBufferPointer { RowKernels.bfloat16SoftmaxRow(s.baseAddress!, n, scale: 1, into: $0.baseAddress!) }
            }
            #expect(inverse == 0 && bits.allSatisfy { $0 == 0 }, "fully masked, n \(n)")
        }
        // Far below the maximum (2^t for t down to −1400: denormal range, then the −160 clamp): 0 or within one step
        // of the exact value (the instruction flushes bfloat16 denormals to 0); a NaN score makes the row NaN.
        let spread = (0..<37).map { Float(-40 * $0) }
        var spreadBits = [UInt16](repeating: 0xFFFF, count: 37)
        var spreadScores = spread
        let spreadInverse = spreadScores.withUnsafeMutableBufferPointer { s in
            spreadBits.withUnsafeMutableBufferPointer { RowKernels.bfloat16SoftmaxRow(s.baseAddress!, 37, scale: 1, into: $0.baseAddress!) }
        }
        #expect(abs(spreadInverse - 1) < 1e-6, "spread: 1/sum")
        for j in 0..<37 {
            let exact = Foundation.exp(Double(spread[j])), value = Double(Float(bitPattern: UInt32(spreadBits[j]) << 16))
            #expect(value == 0 ? exact < 1.2e-38 : abs(value - exact) <= exact / 256, "spread j \(j): \(value) vs \(exact)")
        }
        var withNaN: [Float] = (0..<20).map { Float($0) / 10 }
        withNaN[7] = .nan
        var nanBits = [UInt16](repeating: 0, count: 20)
        let nanInverse = withNaN.withUnsafeMutableBufferPointer { s in
            nanBits.withUnsafeMutableBufferPointer { RowKernels.bfloat16SoftmaxRow(s.baseAddress!, 20, scale: 1, into: $0.baseAddress!) }
        }
        #expect(nanInverse.isNaN || Float(bitPattern: UInt32(nanBits[7]) << 16).isNaN, "a NaN score shows")

        for n in Self.lengths {
            let gate = TestRandom.integers(n, seed: UInt64(900 + n), modulus: 60001).enumerated().map { j, v in
                j % 11 == 5 ? (j % 2 == 0 ? Float(200) : -200) : Float(v) / 1000 - 30
            }
            let up = TestRandom.integers(n, seed: UInt64(700 + n), modulus: 2001).map { Float($0) / 1000 - 1 }
            var bits = [UInt16](repeating: 0xFFFF, count: n)
            bits.withUnsafeMutableBufferPointer { indextts_silu_mul_bf16(gate, up, $0.baseAddress!, n) }
            for j in 0..<n {
                let g = Double(gate[j]), exact = g / (1 + Foundation.exp(-g)) * Double(up[j])
                let value = Double(Float(bitPattern: UInt32(bits[j]) << 16))
                #expect(abs(value - exact) <= abs(exact) / 256 + 1e-30, "silu·up n \(n) j \(j): \(value) vs \(exact) (gate \(g))")
            }
        }
    }

    @Test func aFullyMaskedRowBecomesZeros() {
        for set in KernelSet.allCases where set <= KernelSet.supported {
            for n in [1, 16, 37] {
                var out = [Float](repeating: -.infinity, count: n)
                var bits = [UInt16](repeating: 0xFFFF, count: n)
                let inverse = out.withUnsafeMutableBufferPointer {
                    RowKernels.unnormalisedSoftmaxRow($0.baseAddress!, n, scale: 1, bfloat16: nil, kernels: set)
                }
                #expect(inverse == 0 && out.allSatisfy { $0 == 0 }, "\(set) n \(n)")
                var scores = [Float](repeating: -.infinity, count: n)
                _ = scores.withUnsafeMutableBufferPointer { s in
                    bits.withUnsafeMutableBufferPointer { b in
                        RowKernels.unnormalisedSoftmaxRow(s.baseAddress!, n, scale: 1, bfloat16: b.baseAddress!, kernels: set)
                    }
                }
                #expect(bits.allSatisfy { $0 == 0 }, "\(set) n \(n) bfloat16")
            }
        }
    }
}
