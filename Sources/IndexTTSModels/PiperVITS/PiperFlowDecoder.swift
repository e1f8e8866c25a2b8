import Foundation
import IndexTTSNN
import IndexTTSTensor

/// VITS's `WN` (WaveNet-style gated residual stack, no speaker conditioning): per layer a dilated conv to 2H
/// channels, tanh·sigmoid gate, and a 1×1 conv split into a residual (all but the last layer) and a skip part; the
/// skips are summed. `[1, H, T]` → `[1, H, T]`.
struct PiperWaveNet: Sendable {
    let inLayers: [Conv1d]
    let resSkipLayers: [Conv1d]
    let hidden: Int

    init(_ loader: ParameterLoader, hidden: Int, kernel: Int, dilationRate: Int, layers: Int, graph: PiperGraphBinder) {
        inLayers = (0..<layers).map { i in
            let dilation = Int(pow(Double(dilationRate), Double(i)))
            return graph.conv(scope: loader.scoped("in_layers.\(i)"), in: hidden, out: 2 * hidden, kernel: kernel,
                              dilation: dilation, padding: (kernel * dilation - dilation) / 2)
        }
        resSkipLayers = (0..<layers).map { i in
            graph.conv(scope: loader.scoped("res_skip_layers.\(i)"), in: hidden, out: i < layers - 1 ? 2 * hidden : hidden, kernel: 1)
        }
        self.hidden = hidden
    }

    func callAsFunction(_ input: Tensor) throws -> Tensor {
        var x = input
        var output: Tensor? = nil
        for (i, layer) in inLayers.enumerated() {
            // tanh(first half)·σ(second half) in one pass (the AVX-512 gate kernel where available).
            let gates = try layer(x).contiguous()  // [B, 2H, T]
            let (batch, time, hidden) = (gates.shape[0], gates.shape[2], self.hidden)
            let acts = withExtendedLifetime(gates) {
                Tensor.make([batch, hidden, time]) { out in
                    for b in 0..<batch {
                        let g = UnsafePointer(gates.basePointer) + b * 2 * hidden * time
                        VectorMath.gatedTanhSigmoid(g, g + hidden * time, gateA: 0, gateB: 0,
                                                    into: out.baseAddress! + b * hidden * time, count: hidden * time)
                    }
                }
            }
            let resSkip = try resSkipLayers[i](acts)
            let skip: Tensor
            if i < inLayers.count - 1 {
                let parts = try resSkip.split(sizes: [hidden, hidden], axis: 1)
                x = try x.adding(parts[0])
                skip = parts[1]
            } else {
                skip = resSkip
            }
            output = try output.map { try $0.adding(skip) } ?? skip.contiguous()
        }
        return output ?? Tensor.zeros(input.shape)
    }
}

/// VITS's `ResidualCouplingBlock` (mean-only coupling layers alternating with channel flips) run in reverse:
/// `[1, C, F]` prior sample → `[1, C, F]` latent the decoder reads.
struct PiperResidualFlow: Sendable {
    struct Coupling: Sendable {
        let pre: Conv1d
        let encoder: PiperWaveNet
        let post: Conv1d
    }

    /// In forward order (flows.0, .2, .4, .6).
    let couplings: [Coupling]
    let half: Int

    init(_ loader: ParameterLoader, configuration c: PiperVITSConfiguration, graph: PiperGraphBinder) {
        half = c.interChannels / 2
        couplings = (0..<c.flowCount).map { i in
            let l = loader.scoped("flows.\(2 * i)")
            return Coupling(
                pre: graph.conv(l, "pre", in: c.interChannels / 2, out: c.hiddenChannels, kernel: 1),
                encoder: PiperWaveNet(l.scoped("enc"), hidden: c.hiddenChannels, kernel: c.flowKernel,
                                      dilationRate: 1, layers: c.flowLayers, graph: graph),
                post: graph.conv(l, "post", in: c.hiddenChannels, out: c.interChannels / 2, kernel: 1))
        }
    }

    func reverse(_ input: Tensor) throws -> Tensor {
        var x = input
        for coupling in couplings.reversed() {
            x = try flip(x)
            let parts = try x.split(sizes: [half, half], axis: 1)
            let mean = try coupling.post(coupling.encoder(coupling.pre(parts[0])))
            x = try Tensor.concatenate([parts[0], parts[1].subtracting(mean)], axis: 1)
        }
        return x
    }

    /// `torch.flip(x, [1])`: channels in reverse order.
    func flip(_ x: Tensor) throws -> Tensor {
        let c = x.shape[1], t = x.shape[2]
        let source = x.contiguous()
        return Tensor.make(x.shape) { out in
            for channel in 0..<c {
                (out.baseAddress! + channel * t).update(from: source.basePointer + (c - 1 - channel) * t, count: t)
            }
        }
    }
}

/// VITS's HiFi-GAN `Generator` (ResBlock type 2, no speaker conditioning): conv_pre, then per upsampling stage a
/// leaky ReLU (0.1), a transposed conv and the mean of the stage's residual blocks; leaky ReLU (PyTorch's default
/// 0.01), conv_post and tanh. `[1, C, F]` → `[1, 1, F·∏rates]`.
struct PiperHiFiGAN: Sendable {
    struct ResBlock: Sendable {
        let convs: [Conv1d]
    }

    /// The same layers prepared for time-major activations (``TimeMajorConvolution``), nil where oneDNN is not
    /// used: the channel-major path then runs.
    struct TimeMajorLayers: Sendable {
        let pre: TimeMajorConvolution
        let ups: [TimeMajorConvolution]
        /// The residual blocks' convolutions layer by layer (empty when ``stages`` are fused).
        let resBlocks: [[TimeMajorConvolution]]
        /// Each stage's residual blocks fused over time tiles (``TimeMajorResidualStage``), nil to run them layer by
        /// layer (or where oneDNN has no fast kernel for a stage's shapes).
        let stages: [TimeMajorResidualStage]?
        let post: TimeMajorConvolution
    }

    let pre: Conv1d
    let ups: [ConvTranspose1d]
    let resBlocks: [ResBlock]
    let post: Conv1d
    let kernelsPerStage: Int
    private(set) var timeMajor: TimeMajorLayers?

    init(_ loader: ParameterLoader, configuration c: PiperVITSConfiguration, graph: PiperGraphBinder) {
        pre = graph.conv(loader, "conv_pre", in: c.interChannels, out: c.upsampleInitialChannels, kernel: 7)
        var channels = c.upsampleInitialChannels
        var ups: [ConvTranspose1d] = []
        var blocks: [ResBlock] = []
        for (i, (rate, kernel)) in zip(c.upsampleRates, c.upsampleKernels).enumerated() {
            ups.append(graph.convTranspose(loader.scoped("ups.\(i)"), in: channels, out: channels / 2, kernel: kernel,
                                           stride: rate, padding: (kernel - rate) / 2))
            channels /= 2
            for (j, (k, dilations)) in zip(c.resBlockKernels, c.resBlockDilations).enumerated() {
                let block = loader.scoped("resblocks.\(i * c.resBlockKernels.count + j)")
                blocks.append(ResBlock(convs: dilations.enumerated().map { n, d in
                    graph.conv(scope: block.scoped("convs.\(n)"), in: channels, out: channels, kernel: k, dilation: d,
                               padding: (k * d - d) / 2)
                }))
            }
        }
        self.ups = ups
        resBlocks = blocks
        post = graph.conv(loader, "conv_post", in: channels, out: 1, kernel: 7, bias: false)
        kernelsPerStage = c.resBlockKernels.count
    }

    /// This decoder with its convolutions prepared for time-major activations (unchanged where oneDNN is not used),
    /// each stage's residual blocks fused over time tiles where `fusedStages` (and oneDNN allows), else layer by layer.
    func preparingTimeMajor(fusedStages: Bool = true) -> PiperHiFiGAN {
        func prepared(_ conv: Conv1d, residual: Bool = false) -> TimeMajorConvolution? {
            let c = conv.configuration
            guard c.groups == 1, c.stride == 1, c.paddingMode == .zeros else { return nil }
            return TimeMajorConvolution(weight: conv.weight, bias: conv.bias, padding: c.padding, dilation: c.dilation,
                                        addsResidual: residual)
        }
        func prepared(_ up: ConvTranspose1d) -> TimeMajorConvolution? {
            let c = up.configuration
            guard c.groups == 1 else { return nil }
            return TimeMajorConvolution(transposedWeight: up.weight, bias: up.bias, stride: c.stride, padding: c.padding,
                                        dilation: c.dilation, outputPadding: c.outputPadding)
        }
        var copy = withoutTimeMajor()
        let ups = self.ups.compactMap(prepared)
        guard let pre = prepared(pre, residual: false), let post = prepared(post, residual: false), ups.count == self.ups.count
        else { return copy }
        var stages: [TimeMajorResidualStage]? = nil
        if fusedStages {
            let fused = ups.indices.compactMap { i -> TimeMajorResidualStage? in
                let convs = resBlocks[(i * kernelsPerStage)..<((i + 1) * kernelsPerStage)].map(\.convs)
                guard convs.joined().allSatisfy({ conv in
                    let c = conv.configuration
                    return c.stride == 1 && c.groups == 1 && c.paddingMode == .zeros && c.padding * 2 == (c.kernelSize - 1) * c.dilation
                }) else { return nil }
                return TimeMajorResidualStage(weights: convs.map { $0.map(\.weight) }, biases: convs.map { $0.map(\.bias) },
                                              dilations: convs.map { $0.map(\.configuration.dilation) }, slope: 0.1)
            }
            if fused.count == ups.count { stages = fused }
        }
        // The residual convolutions layer by layer only where the stages are not fused (with fused stages their
        // reordered weights would be held twice; `preparingTimeMajor(fusedStages: false)` prepares them).
        var blocks: [[TimeMajorConvolution]] = []
        if stages == nil {
            blocks = resBlocks.map { $0.convs.compactMap { prepared($0, residual: true) } }
            guard zip(blocks, resBlocks).allSatisfy({ $0.count == $1.convs.count }) else { return copy }
        }
        copy.timeMajor = TimeMajorLayers(pre: pre, ups: ups, resBlocks: blocks, stages: stages, post: post)
        return copy
    }

    /// This decoder on the channel-major path.
    func withoutTimeMajor() -> PiperHiFiGAN {
        var copy = self
        copy.timeMajor = nil
        return copy
    }

    func callAsFunction(_ z: Tensor) throws -> Tensor {
        if let timeMajor { return try forward(z, timeMajor) }
        return try channelMajorForward(z)
    }

    /// The generator on `[1, time, channels]` rows: each leaky ReLU applied as the next convolution gathers its
    /// tiles, each residual connection added by the convolution that produces it, the mean of a stage's residual
    /// blocks scaled inside the next leaky ReLU (the same values as scaling first).
    func forward(_ z: Tensor, _ layers: TimeMajorLayers) throws -> Tensor {
        var x = try layers.pre(z.transposed(1, 2))
        var scale: Float = 1
        for (i, up) in layers.ups.enumerated() {
            x = try up(x, activation: .leakyRelu(slope: 0.1, scale: scale))
            if let stages = layers.stages {
                x = try stages[i](x)
                scale = 1 / Float(kernelsPerStage)
                continue
            }
            var sum: Tensor? = nil
            for j in 0..<kernelsPerStage {
                // y ← conv(leaky(y)) + y: the activation applied as each tile is gathered, the residual added by the
                // convolution's sum post-op.
                var y = x
                for conv in layers.resBlocks[i * kernelsPerStage + j] {
                    y = try conv(y, activation: .leakyRelu(slope: 0.1), adding: y)
                }
                sum = try sum.map { try $0.adding(y) } ?? y
            }
            x = sum ?? x
            scale = 1 / Float(kernelsPerStage)
        }
        let audio = try layers.post(x, activation: .leakyRelu(slope: 0.01, scale: scale))  // [1, samples, 1]
        return try audio.reshaped([audio.shape[0], 1, audio.shape[1]]).tanh()
    }

    /// The generator on `[1, channels, time]` (PyTorch's layout).
    func channelMajorForward(_ z: Tensor) throws -> Tensor {
        var x = try pre(z)
        for (i, up) in ups.enumerated() {
            x = try up(x.leakyRelu(slope: 0.1))
            var sum: Tensor? = nil
            for j in 0..<kernelsPerStage {
                var y = x
                for conv in resBlocks[i * kernelsPerStage + j].convs {
                    y = try conv(y.leakyRelu(slope: 0.1)).adding(y)
                }
                sum = try sum.map { try $0.adding(y) } ?? y
            }
            x = (sum ?? x).affine(scale: 1 / Float(kernelsPerStage))
        }
        return try post(x.leakyRelu(slope: 0.01)).tanh()
    }
}
