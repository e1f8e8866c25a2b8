import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// `Conv2dSubsampling2` in channel blocks against the layer written out as loops (convolution, ReLU, the (channel,
/// feature) flattening, the Linear). Parity with upstream's module: UnifiedVoiceTests (the conditioning encoders).
struct Conv2dSubsamplingTests {
    static let channels = 6

    /// Feature widths 17, 21, 37: F′ = 8 (one vector, no tail), 10 (one vector and a tail), 18 (two and a tail).
    static func layer(inputDim: Int = 21, half: Bool = false) throws -> Conv2dSubsampling2 {
        let width = Conv2dSubsampling2.outputLength(inputDim)
        let w = TransformerBlockTests.random([channels, channels * width], seed: 3)
        let out = half ? Linear(weights: .float16(try HalfMatrix(w)), bias: TransformerBlockTests.random([channels], seed: 4))
                       : Linear(weight: w, bias: TransformerBlockTests.random([channels], seed: 4))
        return Conv2dSubsampling2(inputDim: inputDim, convWeight: TransformerBlockTests.random([channels, 1, 3, 3], seed: 1),
                                  convBias: TransformerBlockTests.random([channels], seed: 2), out: out)
    }

    /// conv2d (1 → C, 3×3, stride 2) + bias + ReLU, `[b, c, t, f]` flattened to `[b, t, c·F′ + f]`, then `out`.
    static func reference(_ layer: Conv2dSubsampling2, _ x: Tensor) throws -> [Float] {
        let (batch, frames, features) = (x.shape[0], x.shape[1], x.shape[2])
        let time = Conv2dSubsampling2.outputLength(frames), width = Conv2dSubsampling2.outputLength(features)
        let (xs, cw, cb) = (x.scalars, layer.convWeight.scalars, layer.convBias.scalars)
        var flat = [Float](repeating: 0, count: batch * time * channels * width)
        for b in 0..<batch {
            for t in 0..<time {
                for c in 0..<channels {
                    for f in 0..<width {
                        var s = Double(cb[c])
                        for i in 0..<3 {
                            for j in 0..<3 {
                                s += Double(cw[c * 9 + i * 3 + j]) * Double(xs[(b * frames + 2 * t + i) * features + 2 * f + j])
                            }
                        }
                        flat[((b * time + t) * channels + c) * width + f] = Float(max(s, 0))
                    }
                }
            }
        }
        guard case .float32(let w, _) = layer.out.weights else { throw TensorError.invalidArgument(operation: "test", message: "fp32") }
        return TransformerBlockTests.naiveLinear(flat, rows: batch * time, w, layer.out.bias)
    }

    /// Blocks of 1 channel, 2 or 4 with a shorter last block, 3 + 3, 2 + 2 + 2, and all 6 in one.
    @Test(arguments: [(21, 1), (21, 25), (21, 40), (21, 4096), (17, 25), (37, 40)])
    func blocksMatchLoops(inputDim: Int, blockColumns: Int) throws {
        let layer = try Self.layer(inputDim: inputDim)
        let x = TransformerBlockTests.random([2, 9, inputDim], seed: 5)
        let y = try layer(x, blockColumns: blockColumns)
        #expect(y.shape == [2, 4, Self.channels])
        let expected = try Self.reference(layer, x)
        let worst = zip(y.scalars, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst < 1e-5, "width \(inputDim), blocks of \(blockColumns) columns: \(worst)")
    }

    /// Weights in another form (fp16) take the unblocked path: the whole convolution, then the layer.
    @Test func otherWeightFormsTakeTheWholeOutput() throws {
        let layer = try Self.layer(half: true), reference = try Self.layer()
        let x = TransformerBlockTests.random([1, 7, 21], seed: 6)
        let y = try layer(x, blockColumns: 10)
        let expected = try Self.reference(reference, x)
        // fp16 weights: each product within about 5e-4 of Σ|w·x| (inputs and weights in [−1, 1), 60 terms).
        let worst = zip(y.scalars, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(y.shape == [1, 3, Self.channels] && worst < 0.05, "\(worst)")
    }

    @Test func badShapesAreErrors() throws {
        let layer = try Self.layer()
        #expect(throws: TensorError.self) { try layer(Tensor.zeros([1, 9, 22])) }
        #expect(throws: TensorError.self) { try layer(Tensor.zeros([1, 2, 21])) }
        #expect(throws: TensorError.self) { try layer(Tensor.zeros([9, 21])) }
        // A bias of the wrong length is named, not dropped.
        guard case .float32(let w, _) = layer.out.weights else { return }
        let wrongBias = Conv2dSubsampling2(inputDim: 21, convWeight: layer.convWeight, convBias: layer.convBias,
                                           out: Linear(weight: w, bias: Tensor.zeros([Self.channels + 1])))
        #expect(throws: TensorError.self) { try wrongBias(Tensor.zeros([1, 9, 21])) }
    }
}
