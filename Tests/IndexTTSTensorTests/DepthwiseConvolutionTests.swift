import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// The time-major depthwise convolution against the channel-major `conv1d(groups:)` (itself checked against PyTorch
/// in OpParityTests), for centred padding (ConvNeXt, k7 p3) and w2v-BERT's causal left padding (k31).
struct DepthwiseConvolutionTests {
    static func random(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var state = seed
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001) / 1000 - 1
        }
        return try Tensor(shape: shape, scalars: values)
    }

    @Test(arguments: [(channels: 19, kernel: 7, left: 3, right: 3, frames: 12),
                      (channels: 16, kernel: 31, left: 30, right: 0, frames: 9),
                      (channels: 8, kernel: 31, left: 30, right: 0, frames: 40),
                      (channels: 5, kernel: 3, left: 0, right: 0, frames: 4)])
    func matchesGroupedConv1d(_ c: (channels: Int, kernel: Int, left: Int, right: Int, frames: Int)) throws {
        let x = try Self.random([2, c.frames, c.channels], seed: 1)
        let weight = try Self.random([c.channels, 1, c.kernel], seed: 2)
        let bias = try Self.random([c.channels], seed: 3)
        let expected = try x.transposed(1, 2).padded(left: c.left, right: c.right)
            .conv1d(weight: weight, bias: bias, groups: c.channels).transposed(1, 2).contiguous()
        let actual = try x.depthwiseConv1dTimeMajor(weight: weight, bias: bias, padLeft: c.left, padRight: c.right)
        expectClose(actual, expected, tolerance: Tolerance(rtol: 1e-5, atol: 1e-6))
        let noBias = try x.depthwiseConv1dTimeMajor(weight: weight, padLeft: c.left, padRight: c.right)
        expectClose(try noBias.adding(bias), expected, tolerance: Tolerance(rtol: 1e-5, atol: 1e-6))
    }

    @Test func rejectsBadShapes() throws {
        let x = Tensor.zeros([1, 4, 3])
        #expect(throws: TensorError.self) { try x.depthwiseConv1dTimeMajor(weight: Tensor.zeros([4, 1, 3]), padLeft: 1, padRight: 1) }
        #expect(throws: TensorError.self) { try x.depthwiseConv1dTimeMajor(weight: Tensor.zeros([3, 1, 7]), padLeft: 0, padRight: 0) }
        #expect(throws: TensorError.self) { try x.depthwiseConv1dTimeMajor(weight: Tensor.zeros([3, 1, 3]), bias: Tensor.zeros([2]), padLeft: 1, padRight: 1) }
    }
}
