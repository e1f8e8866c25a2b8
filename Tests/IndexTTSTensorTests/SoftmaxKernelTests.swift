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
