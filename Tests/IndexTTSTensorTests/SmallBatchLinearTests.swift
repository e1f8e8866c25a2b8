@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// Products of a few rows (decoding beams) with fp32 weights in Conv1D layout ([in, out]): every kernel set this CPU
/// runs (the portable Swift loop, the AVX2 and AVX-512 C kernels) adds x·W to what y holds, within fp32 summation
/// slack (1e-5 of Σ|w||x|) of a Double sum, for 1–8 rows (five to eight on the Swift loop whatever the set) and 9–24
/// (the C kernels' register tiles: whole tiles of 6 rows and partial ones of 1 to 5), widths with and without
/// a vector tail, input lengths that are not a multiple of the kernels' eight weight rows, and outputs wide enough
/// to be split between cores (each core's columns start inside the matrix); from `depthSplit` input features on,
/// the C kernels' two depth halves (even and odd depths, halves that are not multiples of eight rows).
struct SmallBatchLinearTests {
    /// Runs `product(w, x, rows, y, set)` (which adds x·W to y) for every kernel set this CPU runs and each row count,
    /// and checks every output against a Double sum; `weight(j, o)` is the weight of input j for output o.
    static func expectEveryKernelSetAddsTheProduct(
        k: Int, n: Int, rows counts: [Int], weights w: [Float], seeds: (x: UInt64, y: UInt64),
        weight: (_ j: Int, _ o: Int) -> Float,
        product: (UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, KernelSet) -> Void
    ) {
        for rows in counts {
            let x = TestRandom.tensor([rows, k], seed: seeds.x + UInt64(rows)).scalars
            let start = TestRandom.tensor([rows, n], seed: seeds.y + UInt64(rows)).scalars
            for set in KernelSet.allCases where set <= KernelSet.supported {
                var y = start
                w.withUnsafeBufferPointer { wp in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in product(wp.baseAddress!, xp.baseAddress!, rows, yp.baseAddress!, set) }
                    }
                }
                var worst = 0.0
                for r in 0..<rows {
                    for o in 0..<n {
                        var sum = Double(start[r * n + o]), magnitude = abs(Double(start[r * n + o]))
                        for j in 0..<k {
                            let term = Double(x[r * k + j]) * Double(weight(j, o))
                            sum += term
                            magnitude += abs(term)
                        }
                        worst = max(worst, abs(Double(y[r * n + o]) - sum) / (1e-5 * magnitude + 1e-7))
                    }
                }
                #expect(worst <= 1, "\(set) kernels, \(rows) rows, k \(k), n \(n): \(worst) of the bound")
            }
        }
    }

    @Test(arguments: [(131, 70), (1280, 33), (9, 15), (7, 16), (256, 1000), (17, 1300), (1283, 70), (515, 1300),
                      (SmallBatchLinear.depthSplit, 24)])
    func everyKernelSetAddsTheProduct(_ sizes: (Int, Int)) {
        let (k, n) = sizes
        let w = TestRandom.tensor([k, n], seed: 21).scalars
        Self.expectEveryKernelSetAddsTheProduct(
            k: k, n: n, rows: Array(1...8) + [9, 10, 11, 12, 13, 14, SmallBatchLinear.maximumTileRows], weights: w,
            seeds: (30, 50), weight: { j, o in w[j * n + o] }
        ) { wp, xp, rows, yp, set in
            SmallBatchLinear.inOut(weight: wp, k: k, n: n, x: xp, rows: rows, y: yp, kernels: set)
        }
    }

    /// The same for `torch.nn.Linear`'s [out, in] layout (``SmallBatchLinear/outIn(weight:k:n:x:rows:y:kernels:)``):
    /// 1–4 rows on the C kernels of each set (two chains of 8 or 16 lanes per row, the last inputs masked or scalar),
    /// 5–8 on the portable loop; input lengths below, between and above the kernels' 16- and 32-float steps.
    @Test(arguments: [(131, 70), (1280, 33), (9, 15), (7, 16), (37, 1000), (1283, 70), (16, 5), (32, 40), (1, 9)])
    func everyKernelSetAddsTheProductInOutInLayout(_ sizes: (Int, Int)) {
        let (k, n) = sizes
        let w = TestRandom.tensor([n, k], seed: 23).scalars
        Self.expectEveryKernelSetAddsTheProduct(
            k: k, n: n, rows: Array(1...SmallBatchLinear.maximumRows), weights: w, seeds: (60, 80),
            weight: { j, o in w[o * k + j] }
        ) { wp, xp, rows, yp, set in
            SmallBatchLinear.outIn(weight: wp, k: k, n: n, x: xp, rows: rows, y: yp, kernels: set)
        }
    }
}
