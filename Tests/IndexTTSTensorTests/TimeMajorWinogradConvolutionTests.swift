@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// Winograd F(4, 5) over time-major rows against a Double loop over the same frame table: kernels 1–5, dilations 1–5,
/// zero and reflect paddings, tables with zero frames inside, output lengths that are not multiples of a tile block,
/// batches, no bias, several chunks of tiles, and typed errors.
struct TimeMajorWinogradConvolutionTests {
    /// The bound: the fp32 round-off of a sum of products grows with the sum of their magnitudes; the transforms
    /// multiply it by a constant (points up to ±2 and ∞; ≈ 1e-6 of the largest output measured at 512 channels).
    static let rtol = 2e-5

    /// `y[b, t, o] = bias[o] + Σ_κ Σ_c w[o, c, κ] · x[b, frames[t + κ·d], c]` (zeros for −1): `[batch, outTime, out]`.
    static func direct(_ x: Tensor, _ w: Tensor, _ b: Tensor?, frames: [Int], dilation d: Int = 1) -> (value: [Double], size: [Double]) {
        let (batch, time, inC) = (x.shape[0], x.shape[1], x.shape[2])
        let (outC, kernel) = (w.shape[0], w.shape[2])
        let outTime = frames.count - d * (kernel - 1)
        let (xs, ws, bs) = (x.scalars, w.scalars, b?.scalars)
        var value = [Double](repeating: 0, count: batch * outTime * outC), size = value
        for n in 0..<batch {
            for t in 0..<outTime {
                for o in 0..<outC {
                    var sum = Double(bs?[o] ?? 0), magnitude = abs(sum)
                    for k in 0..<kernel {
                        let s = frames[t + k * d]
                        guard s >= 0 else { continue }
                        for c in 0..<inC {
                            let product = Double(ws[(o * inC + c) * kernel + k]) * Double(xs[(n * time + s) * inC + c])
                            sum += product
                            magnitude += abs(product)
                        }
                    }
                    value[(n * outTime + t) * outC + o] = sum
                    size[(n * outTime + t) * outC + o] = magnitude
                }
            }
        }
        return (value, size)
    }

    /// A reflect-padded table (`pad1d` reflect: frame 1, 0 mirrored) of `time` frames, `left` / `right` frames.
    static func reflect(time: Int, left: Int, right: Int) -> [Int] {
        (-left..<(time + right)).map { p in p < 0 ? -p : (p >= time ? 2 * (time - 1) - p : p) }
    }

    static func zeros(time: Int, left: Int, right: Int) -> [Int] {
        (-left..<(time + right)).map { p in p < 0 || p >= time ? -1 : p }
    }

    static let cases: [(batch: Int, inC: Int, outC: Int, kernel: Int, dilation: Int, frames: [Int], time: Int, bias: Bool)] = {
        var cases: [(Int, Int, Int, Int, Int, [Int], Int, Bool)] = []
        for kernel in 1...5 {
            let total = kernel - 1
            cases.append((1, 6, 5, kernel, 1, zeros(time: 37, left: total - total / 2, right: total / 2), 37, true))
        }
        // The WaveNet's reflect padding, lengths on and off a tile boundary, batch 2.
        for time in [3, 4, 5, 8, 29] {
            cases.append((2, 7, 9, 5, 1, reflect(time: time, left: 2, right: 2), time, time % 2 == 1))
        }
        // Dilations (the fixture's WaveNet: 1, 2, 4), tile blocks of 4·d frames cut by the end.
        for (kernel, dilation, time) in [(5, 2, 23), (5, 3, 31), (5, 4, 50), (3, 5, 19), (4, 2, 13)] {
            let total = (kernel - 1) * dilation
            cases.append((2, 5, 6, kernel, dilation, reflect(time: time, left: total - total / 2, right: total / 2), time, true))
        }
        // Zero frames inside the table, a frame used twice, no padding: a table is any sequence of frames.
        cases.append((2, 4, 3, 5, 1, [0, 1, -1, 2, 2, -1, 3, 4, 5, -1, -1, 6, 0], 7, true))
        cases.append((1, 3, 4, 5, 1, Array(0..<5), 5, false))  // exactly one output frame
        cases.append((1, 3, 4, 5, 3, Array(0..<13), 13, false))  // one output frame at dilation 3
        cases.append((1, 3, 2, 3, 1, [-1, 0, -1], 1, true))  // one frame between zeros
        return cases
    }()

    @Test(arguments: Array(cases.indices))
    func matchesTheDirectSum(_ index: Int) throws {
        let c = Self.cases[index]
        let x = TestRandom.tensor([c.batch, c.time, c.inC], seed: UInt64(index + 1))
        let w = TestRandom.tensor([c.outC, c.inC, c.kernel], seed: UInt64(index + 100))
        let b = c.bias ? TestRandom.tensor([c.outC], seed: UInt64(index + 200)) : nil
        let conv = try TimeMajorWinogradConvolution(weight: w, bias: b, dilation: c.dilation)
        let y = try conv(x, frames: c.frames)
        let outTime = c.frames.count - c.dilation * (c.kernel - 1)
        #expect(y.shape == [c.batch, outTime, c.outC], "case \(index)")
        let expected = Self.direct(x, w, b, frames: c.frames, dilation: c.dilation)
        let worst = worstErrorOfMagnitude(y, value: expected.value, magnitude: expected.size)
        #expect(worst <= Self.rtol, "case \(index): worst error \(worst) of the products' magnitude")
    }

    /// At the WaveNet's width (512 → 1024, 5 taps, reflect padding) the error stays at the fp32 level of a 2,560-term
    /// sum: within 1e-5 of the largest output (measured ≈ 1e-6).
    @Test func fullWidthError() throws {
        let (time, inC, outC) = (11, 512, 1024)
        let x = TestRandom.tensor([1, time, inC], seed: 11)
        let w = TestRandom.tensor([outC, inC, 5], seed: 12, divisor: 200_000)
        let frames = Self.reflect(time: time, left: 2, right: 2)
        let y = try TimeMajorWinogradConvolution(weight: w, bias: nil)(x, frames: frames).scalars
        let expected = Self.direct(x, w, nil, frames: frames).value
        let peak = expected.map(abs).max() ?? 1
        let worst = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst / peak <= 1e-5, "worst error \(worst) at a peak of \(peak)")
    }

    /// Chunk edges must not drop or repeat a tile, including edges between batch items and inside a block's dilation
    /// phases: chunks of 1, 3 and 10 tiles over 2 items of 41 frames at dilations 1 and 3, and the default chunk size
    /// over more than one chunk.
    @Test func severalChunks() throws {
        let w = TestRandom.tensor([6, 5, 5], seed: 7)
        let b = TestRandom.tensor([6], seed: 9)
        let x = TestRandom.tensor([2, 41, 5], seed: 8)
        for dilation in [1, 3] {
            let conv = try TimeMajorWinogradConvolution(weight: w, bias: b, dilation: dilation)
            let frames = Self.reflect(time: 41, left: 2 * dilation, right: 2 * dilation)
            let whole = try conv(x, frames: frames, chunkTiles: 1_000)
            let expected = Self.direct(x, w, b, frames: frames, dilation: dilation).value
            #expect(zip(whole.scalars, expected).allSatisfy { abs(Double($0) - $1) < 1e-4 }, "dilation \(dilation)")
            for chunk in [1, 3, 10] {
                #expect(try conv(x, frames: frames, chunkTiles: chunk).scalars == whole.scalars,
                        "dilation \(dilation), chunks of \(chunk) tiles")
            }
        }
        let conv = try TimeMajorWinogradConvolution(weight: w, bias: b)
        let tiles = TimeMajorWinogradConvolution.chunkTiles(inChannels: 5, outChannels: 6)
        let long = TestRandom.tensor([1, 4 * tiles + 9, 5], seed: 10)
        let longFrames = Self.zeros(time: long.shape[1], left: 2, right: 2)
        let longResult = try conv(long, frames: longFrames).scalars
        let longExpected = Self.direct(long, w, b, frames: longFrames).value
        #expect(zip(longResult, longExpected).allSatisfy { abs(Double($0) - $1) < 1e-4 }, "default chunks")
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let w = TestRandom.tensor([4, 3, 5], seed: 1)
        #expect(throws: TensorError.self) { try TimeMajorWinogradConvolution(weight: w.reshaped([4, 15]), bias: nil) }
        #expect(throws: TensorError.self) { try TimeMajorWinogradConvolution(weight: w, bias: Tensor.zeros([3])) }
        #expect(throws: TensorError.self) { try TimeMajorWinogradConvolution(weight: Tensor.zeros([0, 3, 5]), bias: nil) }
        #expect(throws: TensorError.self) { try TimeMajorWinogradConvolution(weight: Tensor.zeros([4, 3, 6]), bias: nil) }
        #expect(throws: TensorError.self) { try TimeMajorWinogradConvolution(weight: w, bias: nil, dilation: 0) }
        let dilated = try TimeMajorWinogradConvolution(weight: w, bias: nil, dilation: 2)
        #expect(throws: TensorError.self) { try dilated(Tensor.zeros([1, 9, 3]), frames: Array(0..<8)) }  // span 9
        let conv = try TimeMajorWinogradConvolution(weight: w, bias: nil)
        // An empty batch is an empty result.
        #expect(try conv(Tensor.zeros([0, 9, 3]), frames: Array(0..<9)).shape == [0, 5, 4])
        #expect(throws: TensorError.self) { try conv(Tensor.zeros([1, 9, 4]), frames: Array(0..<9)) }  // 4 channels for 3
        #expect(throws: TensorError.self) { try conv(Tensor.zeros([1, 9, 3]), frames: Array(0..<4)) }  // table < kernel
        #expect(throws: TensorError.self) { try conv(Tensor.zeros([1, 9, 3]), frames: [0, 1, 2, 9, 3]) }  // frame 9 of 9
        #expect(throws: TensorError.self) { try conv(Tensor.zeros([1, 9, 3]), frames: [0, 1, -2, 3, 4]) }
    }
}
