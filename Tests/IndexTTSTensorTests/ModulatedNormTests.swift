import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// `rmsNormModulated` (the DiT's AdaLN-RMSNorm in one pass) equals `rmsNorm` followed by the per-item modulation
/// bit for bit: widths with and without a SIMD tail, with and without the norm's weight, scale and shift taken from
/// offsets into one projection; mismatched shapes are errors.
struct ModulatedNormTests {
    @Test(arguments: [13, 64])
    func equalsNormThenModulation(_ dim: Int) throws {
        let (batch, time) = (2, 5)
        let x = TestRandom.tensor([batch, time, dim], seed: 1)
        let projection = TestRandom.tensor([batch, 3 * dim + 2], seed: 2)
        for weight in [nil, TestRandom.tensor([dim], seed: 3)] {
            let actual = try x.rmsNormModulated(weight: weight, eps: 1e-5, scale: projection, scaleOffset: 1,
                                                shift: projection, shiftOffset: dim + 2)
            let normed = try x.rmsNorm(weight: weight, eps: 1e-5).scalars, p = projection.scalars
            var expected = normed
            for b in 0..<batch {
                for t in 0..<time {
                    for d in 0..<dim {
                        let i = (b * time + t) * dim + d
                        expected[i] = normed[i] * p[b * (3 * dim + 2) + 1 + d] + p[b * (3 * dim + 2) + dim + 2 + d]
                    }
                }
            }
            #expect(actual.shape == x.shape)
            #expect(actual.scalars == expected, "dim \(dim), weight \(weight != nil)")
        }
    }

    @Test func mismatchedShapesThrow() throws {
        let x = TestRandom.tensor([2, 3, 8], seed: 4), m = TestRandom.tensor([2, 16], seed: 5)
        #expect(throws: TensorError.self) { try x.rmsNormModulated(weight: nil, scale: m, scaleOffset: 9, shift: m) }
        #expect(throws: TensorError.self) { try x.rmsNormModulated(weight: nil, scale: TestRandom.tensor([3, 16], seed: 6), shift: m) }
        #expect(throws: TensorError.self) { try x.rmsNormModulated(weight: TestRandom.tensor([7], seed: 7), scale: m, shift: m) }
        #expect(throws: TensorError.self) { try TestRandom.tensor([3, 8], seed: 8).rmsNormModulated(weight: nil, scale: m, shift: m) }
    }
}
