import CIndexTTSDNNL
import Foundation
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// fp32 products on oneDNN (``Float32GEMMEngine``, `indextts_dnnl_sgemm`) against a Double evaluation and against
/// OpenBLAS on one machine: every transpose, leading dimensions wider than the matrices, with and without a bias, and
/// the routing by size, depth and beta.
@Suite(.enabled(if: indextts_dnnl_available() != 0, "needs oneDNN"))
struct Float32GEMMEngineTests {
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    /// (m, n, k, transA, transB, padding of the leading dimensions, bias)
    @Test(arguments: [
        (37, 53, 300, false, true, 0, false), (128, 384, 256, false, true, 3, true),
        (65, 70, 257, true, false, 5, false), (33, 129, 512, true, true, 0, true),
        (300, 260, 260, false, false, 1, false),
    ])
    func oneDNNMatchesDoubleAndOpenBLAS(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, pad: Int,
                                        withBias: Bool) throws {
        // Row-major storage of op(A) (m×k) or its transpose (k×m), leading dimensions padded.
        let (aRows, aCols) = transA ? (k, m) : (m, k), (bRows, bCols) = transB ? (n, k) : (k, n)
        let (lda, ldb, ldc) = (aCols + pad, bCols + pad, n + pad)
        let a = Self.values(aRows * lda, seed: 1), b = Self.values(bRows * ldb, seed: 2)
        let c0 = Self.values(m * ldc, seed: 3), bias = withBias ? Self.values(n, seed: 4) : []
        // oneDNN itself (no fallback), then the OpenBLAS path of `Tensor.gemm` (which writes the bias first).
        var oneDNN = c0, openBLAS = c0
        let status = oneDNN.withUnsafeMutableBufferPointer { cp in
            bias.withUnsafeBufferPointer { biasPointer in
                indextts_dnnl_sgemm(m, n, k, a, transA ? 1 : 0, lda, b, transB ? 1 : 0, ldb,
                                    withBias ? biasPointer.baseAddress : nil, cp.baseAddress!, ldc)
            }
        }
        #expect(status == 0, "oneDNN refused the product: status \(status)")
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                openBLAS.withUnsafeMutableBufferPointer { cp in
                    bias.withUnsafeBufferPointer { biasPointer in
                        Tensor.gemm(m: m, n: n, k: k, a: ap.baseAddress!, transA: transA, lda: lda, b: bp.baseAddress!,
                                    transB: transB, ldb: ldb, c: cp.baseAddress!, ldc: ldc, beta: 0,
                                    bias: withBias ? biasPointer.baseAddress : nil, engine: .openBLAS)
                    }
                }
            }
        }
        var worst = 0.0, worstBLAS = 0.0, peak = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = withBias ? Double(bias[j]) : 0
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

    /// Only large, deep products that overwrite C leave OpenBLAS, and only when oneDNN is the engine.
    @Test func routingFollowsSizeDepthAndBeta() {
        let large: Float32GEMMEngine = Float32GEMMEngine.current == .oneDNN ? .oneDNN : .openBLAS
        #expect(Float32GEMMEngine.engine(m: 128, n: 1280, k: 1280) == large)
        #expect(Float32GEMMEngine.engine(m: 128, n: 1024, k: 256) == large)          // exactly 2^25, k = 256
        #expect(Float32GEMMEngine.engine(m: 128, n: 1024, k: 256, beta: 1) == .openBLAS)  // adds to C
        #expect(Float32GEMMEngine.engine(m: 1, n: (1 << 17) - 1, k: 256) == .openBLAS)  // 2^25 − 256 multiply-adds
        #expect(Float32GEMMEngine.engine(m: 129, n: 1024, k: 255) == .openBLAS)       // k below 256
        #expect(Float32GEMMEngine.engine(m: 127, n: 1024, k: 256) == .openBLAS)       // 2^25 − 2^18
        #expect(Float32GEMMEngine.engine(m: 1291, n: 1291, k: 64) == .openBLAS)       // attention scores: shallow
        #expect(Float32GEMMEngine.engine(m: 0, n: 1 << 20, k: 1 << 10) == .openBLAS)
    }

    /// `linear` with a bias gives the same result on both engines (the bias inside oneDNN's product, or written first
    /// for SGEMM) and through the small-batch path; sizes above the routing threshold.
    @Test func linearWithBiasOnBothEngines() throws {
        let x = try Tensor(shape: [130, 512], scalars: Self.values(130 * 512, seed: 5))
        let w = try Tensor(shape: [640, 512], scalars: Self.values(640 * 512, seed: 6))
        let bias = try Tensor(shape: [640], scalars: Self.values(640, seed: 7))
        let y = try x.linear(weight: w, bias: bias)
        let noBias = try x.linear(weight: w)
        var plain = [Float](repeating: 0, count: 130 * 640)
        x.scalars.withUnsafeBufferPointer { xp in
            w.scalars.withUnsafeBufferPointer { wp in
                plain.withUnsafeMutableBufferPointer { cp in
                    Tensor.gemm(m: 130, n: 640, k: 512, a: xp.baseAddress!, transA: false, lda: 512, b: wp.baseAddress!,
                                transB: true, ldb: 512, c: cp.baseAddress!, ldc: 640, beta: 0, engine: .openBLAS)
                }
            }
        }
        let biasValues = bias.scalars
        let expected = try Tensor(shape: [130, 640], scalars: plain.enumerated().map { $0.element + biasValues[$0.offset % 640] })
        #expect(relativeRMSDifference(y, expected) < 1e-6)
        #expect(relativeRMSDifference(noBias, try Tensor(shape: [130, 640], scalars: plain)) < 1e-6)
        // Two rows take the small-batch path, which writes the bias first: the same rows.
        let two = try x.sliced(axis: 0, range: 0..<2).linear(weight: w, bias: bias)
        #expect(relativeRMSDifference(two, try y.sliced(axis: 0, range: 0..<2)) < 1e-6)
    }
}
