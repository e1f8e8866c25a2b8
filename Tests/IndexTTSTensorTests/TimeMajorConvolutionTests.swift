import CIndexTTSDNNL
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// Convolutions prepared for time-major rows (oneDNN's brgemm kernels on nwc) against Double loops (each output
/// within 2e-6 of the sum of its terms' magnitudes: the fp32 rounding of a different summation order) and the
/// channel-major `conv1d`/`convTranspose1d` agreeing with the same loops: strides, dilations, padding, output
/// padding, batches, bias or none, the residual added by the convolution, and typed errors for shapes it cannot take.
@Suite(.enabled(if: Tensor.oneDNNConvolution, "oneDNN convolutions are not used on this machine"))
struct TimeMajorConvolutionTests {
    func random(_ shape: [Int], seed: UInt64) -> Tensor { TestRandom.tensor(shape, seed: seed) }

    /// A 1-D convolution or transposed convolution of `x` `[batch, in, time]` in Double, channel-major: the exact
    /// sums and the sums of their terms' magnitudes.
    static func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?, transposed: Bool, stride: Int, padding: Int,
                          dilation: Int, outTime: Int) -> (sum: [Double], magnitude: [Double]) {
        let (batch, inC, time, kernel) = (x.shape[0], x.shape[1], x.shape[2], w.shape[2])
        let outC = transposed ? w.shape[1] : w.shape[0]
        let (xs, ws, bs) = (x.contiguous().scalars, w.contiguous().scalars, b?.scalars)
        var sum = [Double](repeating: 0, count: batch * outC * outTime), magnitude = sum
        for n in 0..<batch {
            for o in 0..<outC {
                for t in 0..<outTime {
                    sum[(n * outC + o) * outTime + t] = Double(bs?[o] ?? 0)
                    magnitude[(n * outC + o) * outTime + t] = abs(Double(bs?[o] ?? 0))
                }
            }
            for i in 0..<inC {
                for o in 0..<outC {
                    for k in 0..<kernel {
                        let weight = Double(transposed ? ws[(i * outC + o) * kernel + k] : ws[(o * inC + i) * kernel + k])
                        for t in 0..<(transposed ? time : outTime) {
                            let (source, target) = transposed ? (t, t * stride + k * dilation - padding)
                                                              : (t * stride + k * dilation - padding, t)
                            guard source >= 0, source < time, target >= 0, target < outTime else { continue }
                            let product = weight * Double(xs[(n * inC + i) * time + source])
                            sum[(n * outC + o) * outTime + target] += product
                            magnitude[(n * outC + o) * outTime + target] += abs(product)
                        }
                    }
                }
            }
        }
        return (sum, magnitude)
    }

    /// Every element of channel-major `actual` within 2e-6 of its terms' magnitudes of the Double sum.
    static func expectNear(_ actual: Tensor, _ expected: (sum: [Double], magnitude: [Double]), _ label: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        let values = actual.contiguous().scalars
        guard values.count == expected.sum.count else {
            Issue.record("\(label): \(values.count) values, expected \(expected.sum.count)", sourceLocation: sourceLocation)
            return
        }
        for i in values.indices where !(abs(Double(values[i]) - expected.sum[i]) <= 2e-6 * expected.magnitude[i] + 1e-7) {
            Issue.record("\(label): element \(i) \(values[i]) vs \(expected.sum[i]) (terms' magnitude \(expected.magnitude[i]))",
                         sourceLocation: sourceLocation)
            return
        }
    }

    static let convolutions: [(batch: Int, inC: Int, outC: Int, kernel: Int, dilation: Int, padding: Int, time: Int, bias: Bool)] = [
        (1, 32, 32, 3, 1, 1, 300, true),
        (1, 32, 32, 7, 12, 36, 500, true),
        (2, 64, 48, 5, 6, 12, 97, false),
        (1, 192, 256, 7, 1, 3, 40, true),
        (1, 32, 1, 7, 1, 3, 256, false),   // one output channel (a vocoder's conv_post)
        (1, 17, 9, 4, 2, 0, 30, true),     // odd channels, no padding, even kernel
    ]

    @Test(arguments: Array(convolutions.indices))
    func convolutionMatchesChannelMajor(_ index: Int) throws {
        let c = Self.convolutions[index]
        let x = random([c.batch, c.inC, c.time], seed: UInt64(index + 1))
        let w = random([c.outC, c.inC, c.kernel], seed: UInt64(index + 20))
        let b = c.bias ? random([c.outC], seed: UInt64(index + 40)) : nil
        let expected = try x.conv1d(weight: w, bias: b, padding: c.padding, dilation: c.dilation)
        let conv = try #require(TimeMajorConvolution(weight: w, bias: b, padding: c.padding, dilation: c.dilation))
        let residualConv = try #require(TimeMajorConvolution(weight: w, bias: b, padding: c.padding, dilation: c.dilation,
                                                             addsResidual: true))
        #expect(conv.outputTime(for: c.time) == expected.shape[2])
        let y = try conv(x.transposed(1, 2))
        let exact = Self.reference(x, w, b, transposed: false, stride: 1, padding: c.padding, dilation: c.dilation,
                                   outTime: expected.shape[2])
        Self.expectNear(try y.transposed(1, 2), exact, "conv \(index)")
        Self.expectNear(expected, exact, "channel-major conv \(index)")
        // The residual added as the convolution writes: the exact sum plus the residual, within the same bound (the
        // residual's magnitude counted among the terms). Not bit-equal to adding it afterwards: oneDNN may run the
        // product with a residual on another kernel and summation order (it does on AVX2 without AVX-512).
        let residual = random([c.batch, expected.shape[2], c.outC], seed: UInt64(index + 60))
        let added = try residual.transposed(1, 2).contiguous().scalars
        Self.expectNear(try residualConv(x.transposed(1, 2), adding: residual).transposed(1, 2),
                        (zip(exact.sum, added).map { $0 + Double($1) }, zip(exact.magnitude, added).map { $0 + abs(Double($1)) }),
                        "conv \(index) + residual")
        // The activation applied while tiles are gathered: the same bits as activating first (zero padding stays
        // zero), with and without a residual.
        let rows = try x.transposed(1, 2)
        let activated = rows.leakyRelu(slope: 0.1, scale: 1.0 / 3)
        #expect(try conv(rows, activation: .leakyRelu(slope: 0.1, scale: 1.0 / 3)).scalars == conv(activated).scalars)
        #expect(try residualConv(rows, activation: .leakyRelu(slope: 0.1, scale: 1.0 / 3), adding: residual).scalars
                == residualConv(activated, adding: residual).scalars)
    }

    static let transposed: [(batch: Int, inC: Int, outC: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int,
                             dilation: Int, time: Int)] = [
        (1, 256, 128, 16, 8, 4, 0, 1, 20),
        (1, 64, 32, 8, 4, 2, 0, 1, 150),
        (2, 12, 20, 5, 3, 2, 1, 1, 33),
        (1, 8, 8, 3, 1, 1, 0, 1, 10),
        (1, 6, 10, 4, 2, 3, 2, 3, 17),  // dilated, output padding below the dilation
        (1, 16, 24, 4, 2, 1, 0, 1, 37),  // polyphase forms: a 2× upsampler,
        (2, 10, 6, 6, 3, 0, 0, 1, 11),   // one more output row per input row than the stride, no padding,
        (1, 8, 8, 9, 3, 3, 0, 1, 13),    // three taps per phase
        (1, 5, 7, 5, 3, 1, 0, 1, 19),    // uneven taps per phase,
        (1, 6, 4, 4, 2, 2, 0, 1, 15),    // (time − 1)·stride outputs (kernel − 2·padding = 0),
        (1, 4, 6, 10, 2, 3, 0, 1, 12),   // padding above the stride
    ]

    /// Which of ``transposed`` run in polyphase form (Piper's upsamplers among them).
    static let polyphase: Set<Int> = [0, 1, 5, 6, 7, 8, 9, 10]

    @Test(arguments: Array(transposed.indices))
    func transposedConvolutionMatchesChannelMajor(_ index: Int) throws {
        let c = Self.transposed[index]
        let x = random([c.batch, c.inC, c.time], seed: UInt64(index + 5))
        let w = random([c.inC, c.outC, c.kernel], seed: UInt64(index + 25))
        let b = random([c.outC], seed: UInt64(index + 45))
        let expected = try x.convTranspose1d(weight: w, bias: b, stride: c.stride, padding: c.padding,
                                             outputPadding: c.outputPadding, dilation: c.dilation)
        let up = try #require(TimeMajorConvolution(transposedWeight: w, bias: b, stride: c.stride, padding: c.padding,
                                                   dilation: c.dilation, outputPadding: c.outputPadding))
        #expect(up.outputTime(for: c.time) == expected.shape[2])
        #expect(up.isPolyphase == Self.polyphase.contains(index))
        let y = try up(x.transposed(1, 2))
        #expect(try up(x.transposed(1, 2), activation: .leakyRelu(slope: 0.2, scale: 0.5)).scalars
                == up(x.transposed(1, 2).leakyRelu(slope: 0.2, scale: 0.5)).scalars)
        let exact = Self.reference(x, w, b, transposed: true, stride: c.stride, padding: c.padding, dilation: c.dilation,
                                   outTime: expected.shape[2])
        Self.expectNear(try y.transposed(1, 2), exact, "deconv \(index)")
        Self.expectNear(expected, exact, "channel-major deconv \(index)")
    }

    @Test func oneTileSizeServesEveryLength() throws {
        // Lengths below one tile, exactly one, one more, many with a partial last tile; edge tiles padded with zeros.
        let w = random([24, 16, 5], seed: 7), b = random([24], seed: 8)
        let conv = try #require(TimeMajorConvolution(weight: w, bias: b, padding: 2))
        let tile = 65_536 / 24 / 16 * 16
        for time in [1, 3, tile, tile + 1, 3 * tile + 7] {
            let x = random([1, 16, time], seed: UInt64(time))
            let expected = try x.conv1d(weight: w, bias: b, padding: 2)
            Self.expectNear(try conv(x.transposed(1, 2)).transposed(1, 2),
                            Self.reference(x, w, b, transposed: false, stride: 1, padding: 2, dilation: 1, outTime: expected.shape[2]),
                            "length \(time)")
        }
    }

    @Test func concurrentCallsMatchSerialOnes() async throws {
        // One prepared convolution on several threads at once (each call brings its own scratchpad): every result
        // equals the same call made alone.
        let w = random([32, 32, 7], seed: 11), b = random([32], seed: 12)
        let conv = try #require(TimeMajorConvolution(weight: w, bias: b, padding: 33, dilation: 11, addsResidual: true))
        let inputs = (0..<6).map { random([1, 3000 + 517 * $0, 32], seed: UInt64(100 + $0)) }
        let residuals = inputs.map { random($0.shape, seed: UInt64($0.shape[1])) }
        let serial = try zip(inputs, residuals).map { try conv($0, adding: $1).scalars }
        let parallel = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for round in 0..<3 {
                for i in inputs.indices {
                    group.addTask { (i, try conv(inputs[i], adding: residuals[i]).scalars) }
                }
                _ = round
            }
            var results: [(Int, [Float])] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(parallel.count == 3 * inputs.count)
        for (i, values) in parallel { #expect(values == serial[i], "input \(i)") }
    }

    @Test func badShapesAreTypedErrors() throws {
        let conv = try #require(TimeMajorConvolution(weight: random([8, 4, 3], seed: 1), bias: nil))
        #expect(throws: TensorError.self) { _ = try conv(random([1, 10, 5], seed: 2)) }       // wrong channels
        #expect(throws: TensorError.self) { _ = try conv(random([1, 2, 4], seed: 3)) }        // shorter than the kernel
        #expect(throws: TensorError.self) { _ = try conv(random([10, 4], seed: 4)) }          // rank 2
        // A residual only where prepared for one, of the output's shape.
        #expect(throws: TensorError.self) { _ = try conv(random([1, 10, 4], seed: 5), adding: random([1, 8, 8], seed: 6)) }
        let residual = try #require(TimeMajorConvolution(weight: random([8, 4, 3], seed: 1), bias: nil, addsResidual: true))
        #expect(throws: TensorError.self) { _ = try residual(random([1, 10, 4], seed: 5)) }
        #expect(throws: TensorError.self) { _ = try residual(random([1, 10, 4], seed: 5), adding: random([1, 10, 8], seed: 6)) }
        #expect(TimeMajorConvolution(weight: random([8, 4, 3], seed: 1), bias: random([7], seed: 2)) == nil)
        #expect(TimeMajorConvolution(transposedWeight: random([8, 4, 3], seed: 1), bias: nil, stride: 2,
                                     outputPadding: 2) == nil)  // output padding not below the stride
        let up = try #require(TimeMajorConvolution(transposedWeight: random([8, 4, 3], seed: 1), bias: nil, stride: 2))
        #expect(throws: TensorError.self) { _ = try up(random([1, 10, 4], seed: 5)) }  // wrong channels
    }

    @Test func scaledLeakyReluIsScalingThenLeakyRelu() {
        let x = random([3, 1000], seed: 9)
        #expect(x.leakyRelu(slope: 0.1, scale: 1.0 / 3).scalars == x.affine(scale: 1.0 / 3).leakyRelu(slope: 0.1).scalars)
        #expect(x.leakyRelu(slope: 0.01, scale: 1).scalars == x.leakyRelu(slope: 0.01).scalars)
    }

    /// A HiFi-GAN stage's three residual blocks (kernels 3, 5, 7; dilations 1·2, 2·6, 3·12) fused over time tiles
    /// against the channel-major layers one by one: lengths below one tile and below the widest halo, one tile, one
    /// more, several with a partial last tile, a batch of two; bias on some convolutions only.
    @Test func fusedResidualStageMatchesLayerByLayer() async throws {
        let channels = 32
        let kernels = [3, 5, 7], dilations = [[1, 2], [2, 6], [3, 12]]
        var seed: UInt64 = 300
        func next() -> UInt64 { seed += 1; return seed }
        let weights = kernels.map { k in (0..<2).map { _ in random([channels, channels, k], seed: next()).affine(scale: 0.08) } }
        let biases: [[Tensor?]] = kernels.indices.map { b in (0..<2).map { m in (b + m) % 2 == 0 ? random([channels], seed: next()) : nil } }
        let stage = try #require(TimeMajorResidualStage(weights: weights, biases: biases, dilations: dilations, slope: 0.1))
        let tile = stage.tile
        for (batch, time) in [(1, 1), (1, 20), (1, 44), (1, tile), (1, tile + 1), (2, 3 * tile + 45)] {
            let x = random([batch, channels, time], seed: next())  // channel-major
            var expected: Tensor? = nil
            for b in kernels.indices {
                var y = x
                for m in 0..<2 {
                    let d = dilations[b][m]
                    y = try y.leakyRelu(slope: 0.1).conv1d(weight: weights[b][m], bias: biases[b][m], padding: (kernels[b] - 1) * d / 2,
                                                           dilation: d).adding(y)
                }
                expected = try expected.map { try $0.adding(y) } ?? y
            }
            let fused = try stage(x.transposed(1, 2).contiguous()).transposed(1, 2)
            expectClose(fused, try #require(expected), tolerance: Tolerance(rtol: 1e-5, atol: 1e-5), "batch \(batch), length \(time)")
        }
        // One stage from several threads at once (each call an OpenMP team of its own): every result equals the
        // same call made alone.
        let inputs = (0..<4).map { random([1, 700 + 911 * $0, channels], seed: UInt64(500 + $0)) }
        let serial = try inputs.map { try stage($0).scalars }
        let stageRef = stage
        let parallel = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for _ in 0..<3 {
                for i in inputs.indices { group.addTask { (i, try stageRef(inputs[i]).scalars) } }
            }
            var results: [(Int, [Float])] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(parallel.count == 3 * inputs.count)
        for (i, values) in parallel { #expect(values == serial[i], "input \(i)") }
        // Shapes it cannot take: typed errors or nil.
        #expect(throws: TensorError.self) { _ = try stage(random([1, 10, channels + 1], seed: 1)) }
        #expect(TimeMajorResidualStage(weights: [[random([8, 8, 4], seed: 1)]], biases: [[nil]], dilations: [[1]], slope: 0.1) == nil)
        #expect(TimeMajorResidualStage(weights: [[random([8, 8, 3], seed: 1)], [random([8, 8, 3], seed: 2), random([8, 8, 3], seed: 3)]],
                                       biases: [[nil], [nil, nil]], dilations: [[1], [1, 2]], slope: 0.1) == nil)
    }
}
