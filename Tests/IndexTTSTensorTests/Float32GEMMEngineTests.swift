import CIndexTTSDNNL
import Foundation
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// fp32 products on oneDNN (``Float32GEMMEngine``) against a Double evaluation and against OpenBLAS on one machine:
/// every transpose, leading dimensions wider than the matrices, beta 0 and 1, and sizes on both sides of the routing
/// threshold.
@Suite(.enabled(if: indextts_dnnl_available() != 0, "needs oneDNN"))
struct Float32GEMMEngineTests {
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    /// (m, n, k, transA, transB, padding of the leading dimensions, beta)
    @Test(arguments: [
        (37, 53, 300, false, true, 0, Float(0)), (128, 384, 256, false, true, 3, Float(1)),
        (65, 70, 257, true, false, 5, Float(0)), (33, 129, 512, true, true, 0, Float(1)),
        (300, 260, 260, false, false, 1, Float(0)),
    ])
    func oneDNNMatchesDoubleAndOpenBLAS(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, pad: Int,
                                        beta: Float) throws {
        // Row-major storage of op(A) (m×k) or its transpose (k×m), leading dimensions padded.
        let (aRows, aCols) = transA ? (k, m) : (m, k), (bRows, bCols) = transB ? (n, k) : (k, n)
        let (lda, ldb, ldc) = (aCols + pad, bCols + pad, n + pad)
        let a = Self.values(aRows * lda, seed: 1), b = Self.values(bRows * ldb, seed: 2)
        let c0 = Self.values(m * ldc, seed: 3)
        func run(_ engine: Float32GEMMEngine) -> [Float] {
            var c = c0
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        Tensor.gemm(m: m, n: n, k: k, a: ap.baseAddress!, transA: transA, lda: lda, b: bp.baseAddress!,
                                    transB: transB, ldb: ldb, c: cp.baseAddress!, ldc: ldc, beta: beta, engine: engine)
                    }
                }
            }
            return c
        }
        let oneDNN = run(.oneDNN), openBLAS = run(.openBLAS)
        var worst = 0.0, worstBLAS = 0.0, peak = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = Double(beta) * Double(c0[i * ldc + j])
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p], y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                peak = max(peak, abs(sum))
                worst = max(worst, abs(Double(oneDNN[i * ldc + j]) - sum))
                worstBLAS = max(worstBLAS, abs(Double(openBLAS[i * ldc + j]) - sum))
            }
            // The padding between rows is left alone.
            for j in n..<ldc {
                #expect(oneDNN[i * ldc + j] == c0[i * ldc + j])
            }
        }
        // fp32 accumulation over k ≤ 512 terms of size ≤ 1: measured ≤ 7·10⁻⁷ of the largest output on both engines.
        #expect(worst <= peak * 5e-6, "oneDNN: max error \(worst) of \(peak)")
        #expect(worstBLAS <= peak * 5e-6, "OpenBLAS: max error \(worstBLAS) of \(peak)")
    }

    /// Only large, deep products leave OpenBLAS, and only when oneDNN is the engine.
    @Test func routingFollowsSizeAndDepth() {
        let oneDNN = Float32GEMMEngine.current == .oneDNN
        #expect(Float32GEMMEngine.engine(m: 128, n: 1280, k: 1280) == (oneDNN ? .oneDNN : .openBLAS))
        #expect(Float32GEMMEngine.engine(m: 1291, n: 1291, k: 64) == .openBLAS)  // attention scores: shallow
        #expect(Float32GEMMEngine.engine(m: 16, n: 64, k: 256) == .openBLAS)     // small
        #expect(Float32GEMMEngine.engine(m: 0, n: 1 << 20, k: 1 << 10) == .openBLAS)
    }
}
