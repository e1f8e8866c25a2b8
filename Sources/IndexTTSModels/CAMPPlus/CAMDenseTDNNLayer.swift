import IndexTTSNN
import IndexTTSTensor

/// One layer of a CAM dense block, `[batch, in, frames] → [batch, growth, frames]` (the block concatenates it to its
/// input): BN + ReLU → 1×1 conv (→ bn_channels) → BN + ReLU → context-aware masking (`CAMLayer`): a dilated local
/// convolution scaled by `sigmoid(linear2(relu(linear1(mean over time + mean over 100-frame segments))))`.
struct CAMDenseTDNNLayer: Sendable {
    static let segmentLength = 100

    let norm1: BatchNorm
    let linear1: Conv1d
    let norm2: BatchNorm
    let local: Conv1d
    let context1: Conv1d
    let context2: Conv1d

    init(_ loader: ParameterLoader, input: Int, growth: Int, bottleneck: Int, kernel: Int, dilation: Int) {
        norm1 = BatchNorm(loader.scoped("nonlinear1").scoped("batchnorm"), channels: input)
        linear1 = Conv1d(loader.scoped("linear1"), Conv1dConfiguration(inChannels: input, outChannels: bottleneck, kernelSize: 1, bias: false))
        norm2 = BatchNorm(loader.scoped("nonlinear2").scoped("batchnorm"), channels: bottleneck)
        let cam = loader.scoped("cam_layer")
        local = Conv1d(cam.scoped("linear_local"), Conv1dConfiguration(
            inChannels: bottleneck, outChannels: growth, kernelSize: kernel, padding: (kernel - 1) / 2 * dilation,
            dilation: dilation, bias: false))
        context1 = Conv1d(cam.scoped("linear1"), Conv1dConfiguration(inChannels: bottleneck, outChannels: bottleneck / 2, kernelSize: 1))
        context2 = Conv1d(cam.scoped("linear2"), Conv1dConfiguration(inChannels: bottleneck / 2, outChannels: growth, kernelSize: 1))
    }

    func callAsFunction(_ input: Tensor) throws -> Tensor {
        let x = try norm2(linear1(norm1(input).relu())).relu()
        let y = try local(x)
        let context = try Self.context(x)
        let mask = try context2(context1(context).relu()).sigmoid()
        return try y.multiplying(mask)
    }

    /// mean over all frames + the mean of each frame's 100-frame segment (`avg_pool1d(ceil_mode=True)` expanded back;
    /// the last, shorter segment averages what it has), `[batch, channels, frames]`.
    static func context(_ x: Tensor) throws -> Tensor {
        let dense = x.contiguous()
        let (rows, frames) = (x.shape[0] * x.shape[1], x.shape[2])
        return withExtendedLifetime(dense) {
            Tensor.make(x.shape) { out in
                let src = UnsafePointer(dense.basePointer), dst = out.baseAddress!
                for r in 0..<rows {
                    let row = src + r * frames, target = dst + r * frames
                    var total: Float = 0
                    for t in 0..<frames { total += row[t] }
                    let mean = total / Float(frames)
                    var start = 0
                    while start < frames {
                        let end = min(start + segmentLength, frames)
                        var sum: Float = 0
                        for t in start..<end { sum += row[t] }
                        let segment = sum / Float(end - start)
                        for t in start..<end { target[t] = mean + segment }
                        start = end
                    }
                }
            }
        }
    }
}
