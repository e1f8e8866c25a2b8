@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// Winograd F(4, 4) convolutions against a Double loop over the same zero-padded input: every kernel size from 1 to
/// 13 (one to four sub-filters, the last one partly zero), dilations 1–5 with BigVGAN's "same" padding and others,
/// inputs shorter than one block of tiles, several chunks of tiles, batches and no bias.
struct WinogradConvolutionTests {
    /// The bound: the fp32 round-off of a sum of products grows with the sum of their magnitudes; the transforms
    /// multiply it by a constant (a few units; 2.9e-6 of the largest output measured at 768 channels × 12 taps).
    static let rtol = 2e-5

    static func direct(_ x: Tensor, _ w: Tensor, _ b: Tensor?, padding: Int, dilation: Int) -> (value: [Double], size: [Double], outTime: Int) {
        let (batch, inC, time) = (x.shape[0], x.shape[1], x.shape[2])
        let (outC, kernel) = (w.shape[0], w.shape[2])
        let outTime = time + 2 * padding - dilation * (kernel - 1)
        let (xs, ws, bs) = (x.scalars, w.scalars, b?.scalars)
        var value = [Double](repeating: 0, count: batch * outC * outTime), size = value
        for n in 0..<batch {
            for o in 0..<outC {
                for t in 0..<outTime {
                    var sum = Double(bs?[o] ?? 0), magnitude = abs(sum)
                    for i in 0..<inC {
                        for k in 0..<kernel {
                            let s = t + k * dilation - padding
                            guard s >= 0, s < time else { continue }
                            let product = Double(ws[(o * inC + i) * kernel + k]) * Double(xs[(n * inC + i) * time + s])
                            sum += product
                            magnitude += abs(product)
                        }
                    }
                    value[(n * outC + o) * outTime + t] = sum
                    size[(n * outC + o) * outTime + t] = magnitude
                }
            }
        }
        return (value, size, outTime)
    }

    static let cases: [(batch: Int, inC: Int, outC: Int, kernel: Int, dilation: Int, padding: Int, time: Int, bias: Bool)] = {
        var cases: [(Int, Int, Int, Int, Int, Int, Int, Bool)] = []
        for kernel in 1...13 { cases.append((1, 6, 5, kernel, 1, (kernel - 1) / 2, 37, true)) }
        for (kernel, dilation) in [(3, 3), (3, 5), (7, 3), (7, 5), (11, 3), (11, 5), (5, 2), (4, 4)] {
            cases.append((2, 5, 7, kernel, dilation, (kernel * dilation - dilation) / 2, 53, dilation % 2 == 1))
        }
        cases.append((1, 4, 3, 11, 5, 0, 51, false))  // no padding: exactly one output
        cases.append((1, 3, 4, 7, 1, 9, 2, true))  // input shorter than the kernel, padding larger than it
        cases.append((1, 3, 2, 3, 1, 1, 1, false))  // one frame
        return cases
    }()

    @Test(arguments: Array(cases.indices))
    func matchesTheDirectSum(_ index: Int) throws {
        let c = Self.cases[index]
        let x = TestRandom.tensor([c.batch, c.inC, c.time], seed: UInt64(index + 1))
        let w = TestRandom.tensor([c.outC, c.inC, c.kernel], seed: UInt64(index + 100))
        let b = c.bias ? TestRandom.tensor([c.outC], seed: UInt64(index + 200)) : nil
        let conv = try WinogradConvolution1d(weight: w, bias: b, padding: c.padding, dilation: c.dilation)
        let y = try conv(x)
        let expected = Self.direct(x, w, b, padding: c.padding, dilation: c.dilation)
        #expect(y.shape == [c.batch, c.outC, expected.outTime], "case \(index)")
        let worst = worstErrorOfMagnitude(y, value: expected.value, magnitude: expected.size)
        #expect(worst <= Self.rtol, "case \(index): worst error \(worst) of the products' magnitude")
        // The same function as the direct convolution the layers run otherwise.
        let reference = try x.conv1d(weight: w, bias: b, padding: c.padding, dilation: c.dilation)
        expectClose(y, reference, tolerance: Tolerance(rtol: 1e-4, atol: 1e-4), "case \(index) against conv1d")
    }

    /// Long inputs run in several chunks of tiles; chunk edges must not drop or repeat a tile (dilations 5 and 3:
    /// chunk edges fall inside a block's phases). Batch 2, chunks of 1, 7 and 24 tiles (many edges, a partial last
    /// chunk), and the default chunk size on an input longer than one chunk.
    @Test func severalChunks() throws {
        for (kernel, dilation, channels) in [(11, 5, 8), (7, 1, 16), (3, 3, 4)] {
            let w = TestRandom.tensor([channels, channels, kernel], seed: 7)
            let b = TestRandom.tensor([channels], seed: 9)
            let conv = try WinogradConvolution1d(weight: w, bias: b, padding: (kernel * dilation - dilation) / 2, dilation: dilation)
            let x = TestRandom.tensor([2, channels, 4 * 24 * 3 + 4 * 24 / 2 + 5], seed: 8)
            let reference = try x.conv1d(weight: w, bias: b, padding: conv.padding, dilation: dilation)
            for chunk in [1, 7, 24] {
                expectClose(try conv(x, chunkTiles: chunk), reference, tolerance: Tolerance(rtol: 1e-4, atol: 1e-4),
                            "kernel \(kernel) dilation \(dilation), chunks of \(chunk) tiles")
            }
        }
        let conv = try WinogradConvolution1d(weight: TestRandom.tensor([2, 2, 3], seed: 3), bias: nil, padding: 1, dilation: 1)
        let chunk = WinogradConvolution1d.chunkTiles(outChannels: 2, columns: 2)
        let x = TestRandom.tensor([1, 2, 4 * chunk + 9], seed: 4)
        expectClose(try conv(x), try x.conv1d(weight: TestRandom.tensor([2, 2, 3], seed: 3), padding: 1),
                    tolerance: Tolerance(rtol: 1e-4, atol: 1e-4), "default chunks")
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let w = TestRandom.tensor([4, 3, 3], seed: 1)
        #expect(throws: TensorError.self) { try WinogradConvolution1d(weight: w.reshaped([12, 3]), bias: nil, padding: 1, dilation: 1) }
        #expect(throws: TensorError.self) { try WinogradConvolution1d(weight: w, bias: Tensor.zeros([3]), padding: 1, dilation: 1) }
        #expect(throws: TensorError.self) { try WinogradConvolution1d(weight: w, bias: nil, padding: 1, dilation: 0) }
        #expect(throws: TensorError.self) { try WinogradConvolution1d(weight: Tensor.zeros([0, 3, 3]), bias: nil, padding: 1, dilation: 1) }
        #expect(throws: TensorError.self) { try WinogradConvolution1d(weight: w, bias: nil, padding: Int.max / 2, dilation: 1) }
        #expect(throws: TensorError.self) { try WinogradConvolution1d(weight: w, bias: nil, padding: 1, dilation: Int.max / 2) }
        let conv = try WinogradConvolution1d(weight: w, bias: nil, padding: 0, dilation: 2)
        #expect(throws: TensorError.self) { try conv(Tensor.zeros([1, 4, 9])) }  // 4 channels for 3
        #expect(throws: TensorError.self) { try conv(Tensor.zeros([1, 3, 4])) }  // shorter than the span (5)
    }
}
