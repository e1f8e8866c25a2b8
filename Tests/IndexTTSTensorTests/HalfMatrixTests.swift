import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// fp16 weight storage: products stay within the bound that rounding the weights implies.
struct HalfMatrixTests {
    func random(_ shape: [Int], seed: UInt64) -> Tensor { TestRandom.tensor(shape, seed: seed) }

    /// |y − y_fp32| ≤ 2⁻¹¹·Σ|w||x| (+ fp32 summation slack), for GEMV (1 row), small batches and the GEMM path.
    @Test(arguments: [1, 2, 3, 5, 8, 9, 300])
    func productsMatchFP32WithinRoundingBound(_ batch: Int) throws {
        let (out, inFeatures) = (70, 131)  // odd sizes exercise the SIMD tails
        let w = random([out, inFeatures], seed: 1), x = random([batch, inFeatures], seed: 2), b = random([out], seed: 3)
        let half = try HalfMatrix(w)
        let y = try half.multiply(x, bias: b), reference = try x.linear(weight: w, bias: b)
        let absW = w.scalars.map(abs), absX = x.scalars.map(abs)
        let ys = y.scalars, rs = reference.scalars
        for r in 0..<batch {
            for o in 0..<out {
                var magnitude: Float = 0
                for c in 0..<inFeatures { magnitude += absW[o * inFeatures + c] * absX[r * inFeatures + c] }
                let bound = magnitude / 2048 + 1e-5 * magnitude + 1e-6
                #expect(abs(ys[r * out + o] - rs[r * out + o]) <= bound, "batch \(batch) row \(r) out \(o)")
            }
        }
    }

    /// Every kernel set this CPU runs (portable Swift, the AVX2 and AVX-512 C kernels) computes the product of the
    /// rounded weights: within fp32 summation slack (1e-5 of Σ|w||x|) of a Double sum over the fp16 values, for 1–8
    /// rows, prefill-sized batches (blocked kernels, then SGEMM), row counts not a multiple of the kernels' row blocks and widths with and without a SIMD tail.
    @Test(arguments: [(70, 131), (33, 1280), (9, 15)])
    func everyKernelSetComputesTheRoundedProduct(_ sizes: (Int, Int)) throws {
        let (out, inFeatures) = sizes
        let w = random([out, inFeatures], seed: 11)
        let half = try HalfMatrix(w)
        let rounded = w.scalars.map { Double(Float(Float16($0))) }
        let sets = KernelSet.allCases.filter { $0 <= KernelSet.supported }
        // 1–8: the small-batch kernels; 9, 13, 40, 70: the blocked register tiles (a prompt's prefill, requests
        // decoding together); 513: SGEMM past them.
        for batch in Array(1...8) + [9, 13, 40, 70, 513] {
            let x = random([batch, inFeatures], seed: UInt64(20 + batch)), xs = x.scalars
            for set in sets {
                Self.expectRoundedProduct(try half.multiply(x, kernels: set).scalars, rounded, xs, batch: batch, out: out,
                                          inFeatures: inFeatures, "\(set) \(sizes) batch \(batch)")
            }
        }
    }

    /// 2–4 input rows too wide for the GEMV to keep in L1 (`rows × columns × 4` > ``HalfMatrix/gemvInputBytes``)
    /// go through the register tiles: the same rounded product on every kernel set and with each path's default
    /// (nil), with output rows not a multiple of the tiles' 3 or 4 and a SIMD tail in the columns.
    @Test func wideInputRowsUseTheTilesAndComputeTheRoundedProduct() throws {
        let (out, inFeatures) = (38, 3_101)
        #expect(2 * inFeatures * 4 > HalfMatrix.gemvInputBytes && inFeatures * 4 <= HalfMatrix.gemvInputBytes)
        let w = random([out, inFeatures], seed: 31)
        let half = try HalfMatrix(w)
        let rounded = w.scalars.map { Double(Float(Float16($0))) }
        let sets: [KernelSet?] = [nil] + KernelSet.allCases.filter { $0 <= KernelSet.supported }
        for batch in 1...4 {
            let x = random([batch, inFeatures], seed: UInt64(40 + batch)), xs = x.scalars
            for set in sets {
                Self.expectRoundedProduct(try half.multiply(x, kernels: set).scalars, rounded, xs, batch: batch, out: out,
                                          inFeatures: inFeatures, "\(set?.rawValue ?? "default") batch \(batch)")
            }
        }
    }

    /// `y` `[batch, out]` within fp32 summation slack (1e-5 of Σ|w||x|) of a Double sum over the fp16 weights.
    static func expectRoundedProduct(_ y: [Float], _ rounded: [Double], _ xs: [Float], batch: Int, out: Int,
                                     inFeatures: Int, _ label: String) {
        for r in 0..<batch {
            for o in 0..<out {
                var exact = 0.0, magnitude = 0.0
                for c in 0..<inFeatures {
                    exact += rounded[o * inFeatures + c] * Double(xs[r * inFeatures + c])
                    magnitude += abs(rounded[o * inFeatures + c] * Double(xs[r * inFeatures + c]))
                }
                let error = abs(Double(y[r * out + o]) - exact)
                #expect(error <= 1e-5 * magnitude + 1e-6, "\(label) row \(r) out \(o): \(error)")
            }
        }
    }

    @Test func inOutLayoutIsTransposedOnLoad() throws {
        let w = random([5, 3], seed: 4), x = random([1, 5], seed: 5)
        let y = try HalfMatrix(w, layout: .inOut).multiply(x)
        expectClose(y, try x.linear(weight: w, layout: .inOut), tolerance: .init(rtol: 2e-3, atol: 2e-3), "inOut")
    }

    @Test func outOfRangeWeightsAndBadShapesThrow() throws {
        #expect(throws: TensorError.self) { try HalfMatrix(Tensor(shape: [1, 2], scalars: [1, 70_000])) }
        let half = try HalfMatrix(random([4, 3], seed: 6))
        #expect(throws: TensorError.self) { try half.multiply(self.random([1, 4], seed: 7)) }
        #expect(half.byteCount == 24)
        // No input rows: an empty product on every kernel set (the C kernels must not write).
        for set in KernelSet.allCases where set <= KernelSet.supported {
            let empty = try half.multiply(Tensor(shape: [0, 3], scalars: []), kernels: set)
            #expect(empty.shape == [0, 4] && empty.count == 0)
        }
    }
}
