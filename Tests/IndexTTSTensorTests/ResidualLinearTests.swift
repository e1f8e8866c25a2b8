import Foundation
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// ``Tensor/linear(weight:bias:layout:adding:)``: the product accumulated onto the residual where it runs as one
/// SGEMM, the product and an addition elsewhere — both against a Double evaluation of `residual + x·Wᵀ + b`.
struct ResidualLinearTests {
    static func values(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed | 1
        let count = shape.reduce(1, *)
        let scalars = (0..<count).map { _ -> Float in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        return try! Tensor(shape: shape, scalars: scalars)
    }

    /// `residual + x·Wᵀ + b` in Double for `x` `[rows, in]`, W in `layout`.
    static func expected(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ residual: Tensor, layout: Tensor.WeightLayout) -> [Float] {
        let (out, inF) = layout == .outIn ? (w.shape[0], w.shape[1]) : (w.shape[1], w.shape[0])
        let rows = x.count / inF
        let xs = x.scalars, ws = w.scalars, bs = b?.scalars, rs = residual.contiguous().scalars
        return (0..<(rows * out)).map { index in
            let (r, o) = (index / out, index % out)
            var sum = Double(rs[index]) + Double(bs?[o] ?? 0)
            for i in 0..<inF {
                sum += Double(xs[r * inF + i]) * Double(layout == .outIn ? ws[o * inF + i] : ws[i * out + o])
            }
            return Float(sum)
        }
    }

    /// Rows 1 (GEMV: product, then addition), 6 with a large weight (the small-batch kernels: the same), 37 and 2 × 19
    /// (one SGEMM from the residual); both layouts; with and without bias; a residual that is a strided view.
    @Test(arguments: [(1, 48, 40), (6, 512, 160), (37, 48, 40), (38, 48, 40)])
    func matchesDoubleOnEveryPath(rows: Int, inFeatures: Int, outFeatures: Int) throws {
        for layout in [Tensor.WeightLayout.outIn, .inOut] {
            for withBias in [false, true] {
                let w = Self.values(layout == .outIn ? [outFeatures, inFeatures] : [inFeatures, outFeatures], seed: 3)
                let b = withBias ? Self.values([outFeatures], seed: 4) : nil
                let shape = rows % 2 == 0 && rows > 2 ? [2, rows / 2] : [rows]
                let x = try Self.values([rows, inFeatures], seed: 5).reshaped(shape + [inFeatures])
                // Every other value of a wider tensor: not contiguous, even as one row.
                let wide = Self.values(shape + [outFeatures, 2], seed: 6)
                let residual = try wide.selected(axis: shape.count + 1, index: 0)
                #expect(!residual.isContiguous)
                let y = try x.linear(weight: w, bias: b, layout: layout, adding: residual)
                #expect(y.shape == shape + [outFeatures])
                let reference = try Tensor(shape: shape + [outFeatures],
                                           scalars: Self.expected(x, w, b, residual, layout: layout))
                expectClose(y, reference, tolerance: Tolerance(rtol: 1e-5, atol: 1e-5),
                            "rows \(rows), \(layout), bias \(withBias)")
                // The path this case is meant to take: onto the residual where the product is one OpenBLAS SGEMM.
                let onto = Tensor.linearAccumulatesOntoResidual(rows: rows, inFeatures: inFeatures,
                                                                outFeatures: outFeatures, layout: layout)
                #expect(onto == (rows >= 37 && Float32GEMMEngine.engine(m: rows, n: outFeatures, k: inFeatures) == .openBLAS),
                        "rows \(rows), \(layout): onto the residual \(onto)")
            }
        }
    }

    /// A residual of another shape is not folded: broadcastable ones are added as ``Tensor/adding(_:)`` adds them,
    /// others are the addition's shape error.
    @Test func residualOfAnotherShape() throws {
        let x = Self.values([37, 16], seed: 7), w = Self.values([24, 16], seed: 8)
        let row = Self.values([1, 24], seed: 9)
        expectClose(try x.linear(weight: w, adding: row), try x.linear(weight: w).adding(row), "broadcast row")
        #expect(throws: TensorError.self) { try x.linear(weight: w, adding: Self.values([37, 23], seed: 10)) }
    }
}
