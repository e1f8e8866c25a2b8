import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// CAM++ speaker encoder (`indextts/s2mel/modules/campplus/DTDNN.py`), IndexTTS2's `campplus_cn_common.bin`:
/// mean-normalised 80-bin Kaldi fbank of 16 kHz audio `[batch, frames, feat]` → speaker embedding
/// `[batch, embedding_size]` (the S2M style vector and the emotion-exemplar key).
///
/// FCM head (2-D residual convs over frequency) → `xvector.tdnn` (k5, stride 2, + BN + ReLU) → three CAM dense
/// blocks, each followed by a transit layer (BN + ReLU + 1×1 conv halving the channels) → BN + ReLU → statistics
/// pooling (mean and unbiased standard deviation over time) → `xvector.dense` (1×1 conv + BatchNorm without
/// affine). BatchNorms use their running statistics. Immutable after loading; safe to share between threads.
public struct CAMPPlus: Sendable {
    struct Transit: Sendable {
        let norm: BatchNorm
        let linear: Conv1d
    }

    public let configuration: CAMPPlusConfiguration
    let head: FCM
    let tdnn: Conv1d
    let tdnnNorm: BatchNorm
    let blocks: [[CAMDenseTDNNLayer]]
    let transits: [Transit]
    let outNorm: BatchNorm
    let dense: Conv1d
    let denseNorm: BatchNorm

    init(_ loader: ParameterLoader, configuration c: CAMPPlusConfiguration) {
        configuration = c
        head = FCM(loader.scoped("head"), channels: c.mChannels)
        let x = loader.scoped("xvector")
        tdnn = Conv1d(x.scoped("tdnn").scoped("linear"), Conv1dConfiguration(
            inChannels: c.headChannels, outChannels: c.initChannels, kernelSize: 5, stride: 2, padding: 2, bias: false))
        tdnnNorm = BatchNorm(x.scoped("tdnn").scoped("nonlinear").scoped("batchnorm"), channels: c.initChannels)
        var channels = c.initChannels
        var blocks: [[CAMDenseTDNNLayer]] = []
        var transits: [Transit] = []
        for (i, layers) in c.blockLayers.enumerated() {
            let block = x.scoped("block\(i + 1)")
            blocks.append((0..<layers).map { l in
                CAMDenseTDNNLayer(block.scoped("tdnnd\(l + 1)"), input: channels + l * c.growthRate, growth: c.growthRate,
                                  bottleneck: c.bnSize * c.growthRate, kernel: c.blockKernelSizes[i], dilation: c.blockDilations[i])
            })
            channels += layers * c.growthRate
            let transit = x.scoped("transit\(i + 1)")
            transits.append(Transit(
                norm: BatchNorm(transit.scoped("nonlinear").scoped("batchnorm"), channels: channels),
                linear: Conv1d(transit.scoped("linear"), Conv1dConfiguration(inChannels: channels, outChannels: channels / 2,
                                                                              kernelSize: 1, bias: false))))
            channels /= 2
        }
        self.blocks = blocks
        self.transits = transits
        outNorm = BatchNorm(x.scoped("out_nonlinear").scoped("batchnorm"), channels: channels)
        dense = Conv1d(x.scoped("dense").scoped("linear"), Conv1dConfiguration(
            inChannels: 2 * channels, outChannels: c.embeddingSize, kernelSize: 1, bias: false))
        denseNorm = BatchNorm(x.scoped("dense").scoped("nonlinear").scoped("batchnorm"), channels: c.embeddingSize, affine: false)
    }

    /// Builds the encoder from `store` (the state dict `campplus_cn_common.bin` holds), checking the key set exactly.
    public static func load(from store: WeightStore, configuration: CAMPPlusConfiguration = CAMPPlusConfiguration()) throws -> CAMPPlus {
        try configuration.validate(source: store.source)
        return try ModuleLoader.load("CAMPPlus (\(store.source))", from: store) { loader in
            CAMPPlus(loader, configuration: configuration)
        }
    }

    /// Loads `campplus_cn_common.bin` (or a safetensors file with the same keys).
    public static func load(checkpoint: String, configuration: CAMPPlusConfiguration = CAMPPlusConfiguration()) throws -> CAMPPlus {
        try WeightStore.load(path: checkpoint) { try load(from: $0, configuration: configuration) }
    }

    /// Fewest input frames: the stride-2 TDNN must leave two frames for the standard deviation.
    public static let minimumFrames = 3

    /// Fbank `[batch, frames, feat]` (frames ≥ 3) → embedding `[batch, embedding_size]`.
    public func callAsFunction(_ features: Tensor) throws -> Tensor {
        guard features.rank == 3, features.shape[2] == configuration.featDim, features.shape[1] >= Self.minimumFrames else {
            throw ModelError.invalidInput(component: "CAMPPlus", reason: "features \(features.shape), expected [batch, frames ≥ \(Self.minimumFrames), \(configuration.featDim)]")
        }
        var x = try head(features.transposed(1, 2))
        x = try tdnnNorm(tdnn(x)).relu()
        for (layers, transit) in zip(blocks, transits) {
            for layer in layers { x = try Tensor.concatenate([x, layer(x)], axis: 1) }
            x = try transit.linear(transit.norm(x).relu())
        }
        x = try outNorm(x).relu()
        let pooled = try Self.statistics(x)  // [batch, 2C, 1]
        return try denseNorm(dense(pooled)).squeezed(2)
    }

    /// Mean and unbiased standard deviation over time, `[batch, C, frames]` → `[batch, 2C, 1]` (means first).
    static func statistics(_ x: Tensor) throws -> Tensor {
        let dense = x.contiguous()
        let (batch, channels, frames) = (x.shape[0], x.shape[1], x.shape[2])
        return withExtendedLifetime(dense) {
            Tensor.make([batch, 2 * channels, 1]) { out in
                let src = UnsafePointer(dense.basePointer)
                for b in 0..<batch {
                    for c in 0..<channels {
                        let row = src + (b * channels + c) * frames
                        var sum: Double = 0
                        for t in 0..<frames { sum += Double(row[t]) }
                        let mean = sum / Double(frames)
                        var squares: Double = 0
                        for t in 0..<frames { let d = Double(row[t]) - mean; squares += d * d }
                        out[b * 2 * channels + c] = Float(mean)
                        out[b * 2 * channels + channels + c] = Float((squares / Double(frames - 1)).squareRoot())
                    }
                }
            }
        }
    }
}
