import IndexTTSNN
import IndexTTSTensor

extension W2VBertActivation {
    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .silu: return x.silu()
        case .gelu: return x.gelu()
        case .relu: return x.relu()
        }
    }

    /// The same function for the shared ``IndexTTSNN/FeedForward`` block.
    var feedForward: FeedForward.Activation {
        switch self {
        case .silu: return .silu
        case .gelu: return .gelu(.none)
        case .relu: return .relu
        }
    }
}

/// Which stacked-feature rows of each batch item are real (transformers' `attention_mask`), and the derived
/// multiplier that zeroes padded rows.
struct W2VBertMask {
    /// Row validity `[batch][frames]`; nil when every row is real.
    let valid: [[Bool]]?
    /// 1 for real rows, 0 for padding, `[batch, frames, 1]` (`masked_fill(~mask, 0)`); nil when every row is real.
    let rowMultiplier: Tensor?

    init(_ valid: [[Bool]]?, frames: Int) throws {
        guard let valid, valid.contains(where: { $0.contains(false) }) else {
            self.valid = nil
            rowMultiplier = nil
            return
        }
        self.valid = valid
        rowMultiplier = try Tensor(shape: [valid.count, frames, 1], scalars: valid.flatMap { $0 }.map { $0 ? 1 : 0 })
    }

    /// `x` `[batch, frames, width]` with padded rows set to zero.
    func zeroPadding(_ x: Tensor) throws -> Tensor {
        guard let rowMultiplier else { return x }
        return try x.multiplying(rowMultiplier)
    }
}

/// The conformer's convolution module (`Wav2Vec2BertConvolutionModule`): LayerNorm → padded rows zeroed → pointwise
/// conv to 2·D → GLU → **causal** depthwise conv (the sequence is padded by kernel − 1 frames on the left only) →
/// LayerNorm → activation → pointwise conv. Pointwise convs are bias-free and run as linear maps.
struct W2VBertConvolutionModule: Sendable {
    let norm: LayerNorm
    var pointwise1: Linear
    let depthwiseWeight: Tensor
    let depthwiseNorm: LayerNorm
    var pointwise2: Linear
    let activation: W2VBertActivation
    let kernel: Int

    init(_ loader: ParameterLoader, configuration c: W2VBertConfiguration, activation: W2VBertActivation) {
        let d = c.hiddenSize, eps = Float(c.layerNormEps)
        func pointwise(_ name: String, outputs: Int) -> Linear {
            let weight = loader.scoped(name).tensor("weight", shape: [outputs, d, 1])
            return Linear(weight: (try? weight.reshaped([outputs, d])) ?? Tensor.zeros([outputs, d]), bias: nil)
        }
        norm = LayerNorm(loader.scoped("layer_norm"), dimensions: d, eps: eps)
        pointwise1 = pointwise("pointwise_conv1", outputs: 2 * d)
        depthwiseWeight = loader.scoped("depthwise_conv").tensor("weight", shape: [d, 1, c.convDepthwiseKernelSize])
        depthwiseNorm = LayerNorm(loader.scoped("depthwise_layer_norm"), dimensions: d, eps: eps)
        pointwise2 = pointwise("pointwise_conv2", outputs: d)
        self.activation = activation
        kernel = c.convDepthwiseKernelSize
    }

    func callAsFunction(_ x: Tensor, mask: W2VBertMask) throws -> Tensor {
        var h = try mask.zeroPadding(norm(x))
        h = try pointwise1(h).glu(axis: -1)
        h = try h.depthwiseConv1dTimeMajor(weight: depthwiseWeight, padLeft: kernel - 1, padRight: 0)
        h = activation(try depthwiseNorm(h))
        return try pointwise2(h)
    }
}

/// One conformer block (`Wav2Vec2BertEncoderLayer`): half-step feed-forward (macaron), self-attention with
/// relative-key position bias, convolution module, half-step feed-forward, final LayerNorm; pre-norm residuals
/// throughout. Feed-forwards (Linear → activation → Linear) and attention are the shared IndexTTSNN blocks.
struct W2VBertLayer: Sendable {
    let ffn1Norm: LayerNorm
    var ffn1: FeedForward
    let attentionNorm: LayerNorm
    var attention: W2VBertSelfAttention
    var convolution: W2VBertConvolutionModule
    let ffn2Norm: LayerNorm
    var ffn2: FeedForward
    let finalNorm: LayerNorm

    /// The same layer with its projections, attention products and pointwise convolutions in bfloat16.
    func bfloat16() throws -> W2VBertLayer {
        var layer = self
        layer.ffn1 = try ffn1.bfloat16()
        layer.ffn2 = try ffn2.bfloat16()
        layer.attention.attention = try attention.attention.bfloat16()
        layer.convolution.pointwise1 = try convolution.pointwise1.bfloat16()
        layer.convolution.pointwise2 = try convolution.pointwise2.bfloat16()
        return layer
    }

    init(_ loader: ParameterLoader, configuration c: W2VBertConfiguration) {
        let activation = W2VBertActivation(name: c.hiddenAct) ?? .silu  // validated before loading
        let d = c.hiddenSize, eps = Float(c.layerNormEps)
        ffn1Norm = LayerNorm(loader.scoped("ffn1_layer_norm"), dimensions: d, eps: eps)
        ffn1 = FeedForward.plain(loader.scoped("ffn1"), dimensions: d, hidden: c.intermediateSize, activation: activation.feedForward,
                                 up: "intermediate_dense", down: "output_dense")
        attentionNorm = LayerNorm(loader.scoped("self_attn_layer_norm"), dimensions: d, eps: eps)
        attention = W2VBertSelfAttention(loader.scoped("self_attn"), configuration: c)
        convolution = W2VBertConvolutionModule(loader.scoped("conv_module"), configuration: c, activation: activation)
        ffn2Norm = LayerNorm(loader.scoped("ffn2_layer_norm"), dimensions: d, eps: eps)
        ffn2 = FeedForward.plain(loader.scoped("ffn2"), dimensions: d, hidden: c.intermediateSize, activation: activation.feedForward,
                                 up: "intermediate_dense", down: "output_dense")
        finalNorm = LayerNorm(loader.scoped("final_layer_norm"), dimensions: d, eps: eps)
    }

    /// `[batch, frames, hidden]` → same shape.
    func callAsFunction(_ input: Tensor, mask: W2VBertMask) throws -> Tensor {
        var x = try ffn1(ffn1Norm(input)).affine(scale: 0.5).adding(input)
        x = try attention(attentionNorm(x), mask: mask).adding(x)
        x = try x.adding(convolution(x, mask: mask))
        x = try ffn2(ffn2Norm(x)).affine(scale: 0.5).adding(x)
        return try finalNorm(x)
    }
}
