import IndexTTSNN
import IndexTTSTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `TimestepEmbedder`: sinusoid of `1000·t` (`[cos, sin]` over the stored `freqs`, 256-d) → Linear, SiLU, Linear.
struct TimestepEmbedder: Sendable {
    let frequencies: [Float]
    let first: Linear
    let second: Linear

    init(_ loader: ParameterLoader, hidden: Int) {
        frequencies = loader.tensor("freqs", shape: [128]).scalars
        first = Linear(loader.scoped("mlp").scoped("0"), inFeatures: 256, outFeatures: hidden)
        second = Linear(loader.scoped("mlp").scoped("2"), inFeatures: hidden, outFeatures: hidden)
    }

    /// `t` (one per batch item) → `[batch, hidden]`.
    func callAsFunction(_ t: [Float]) throws -> Tensor {
        let half = frequencies.count
        var values = [Float](repeating: 0, count: t.count * 2 * half)
        for (b, time) in t.enumerated() {
            let scaled = 1000 * time  // upstream: (scale · t) · freqs, in fp32
            for i in 0..<half {
                let arg = scaled * frequencies[i]
                values[b * 2 * half + i] = cosf(arg)
                values[b * 2 * half + half + i] = sinf(arg)
            }
        }
        return try second(first(Tensor(shape: [t.count, 2 * half], scalars: values)).silu())
    }
}

/// gpt-fast's `AdaptiveLayerNorm` around an `RMSNorm`: `[w, b] = project_layer(c)`, `w ⊙ (rmsnorm(x)·γ) + b`.
struct AdaptiveRMSNorm: Sendable {
    let projection: Linear
    let norm: RMSNorm
    let dimensions: Int

    init(_ loader: ParameterLoader, dimensions: Int) {
        self.dimensions = dimensions
        projection = Linear(loader.scoped("project_layer"), inFeatures: dimensions, outFeatures: 2 * dimensions)
        norm = RMSNorm(loader.scoped("norm"), dimensions: dimensions, eps: 1e-5)
    }

    /// Per-item modulation `[batch, 2·dim]` for the conditioning `c` `[batch, dim]` (computed once per call).
    func modulation(_ c: Tensor) throws -> Tensor { try projection(c) }

    /// `x` `[batch, time, dim]` with `modulation` `[batch, 2·dim]`.
    func callAsFunction(_ x: Tensor, modulation: Tensor) throws -> Tensor {
        guard x.rank == 3, modulation.rank == 2, modulation.shape[0] == x.shape[0], modulation.shape[1] == 2 * dimensions else {
            throw ModelError.invalidInput(component: "S2M", reason: "modulation of \(x.shape) by \(modulation.shape)")
        }
        return try x.rmsNormModulated(weight: norm.weight, eps: norm.eps, scale: modulation, scaleOffset: 0,
                                      shift: modulation, shiftOffset: dimensions)
    }

    /// The same rows rounded to bfloat16 as they are written, for a bfloat16 product next.
    func bfloat16(_ x: Tensor, modulation: Tensor) throws -> BFloat16Rows {
        guard x.rank == 3, modulation.rank == 2, modulation.shape[0] == x.shape[0], modulation.shape[1] == 2 * dimensions else {
            throw ModelError.invalidInput(component: "S2M", reason: "modulation of \(x.shape) by \(modulation.shape)")
        }
        return try x.rmsNormModulated(bfloat16: norm.weight, eps: norm.eps, scale: modulation, scaleOffset: 0,
                                      shift: modulation, shiftOffset: dimensions)
    }
}

/// gpt-fast `TransformerBlock` as the DiT uses it: optional U-ViT skip input, pre-norm attention and SwiGLU, both
/// normalised by ``AdaptiveRMSNorm`` conditioned on the timestep embedding.
struct DiTBlock: Sendable {
    var attention: MultiHeadAttention
    var feedForward: FeedForward
    let attentionNorm: AdaptiveRMSNorm
    let feedForwardNorm: AdaptiveRMSNorm
    /// Present on every layer in the checkpoint; used only by the layers that receive a skip.
    var skipIn: Linear?

    init(_ loader: ParameterLoader, configuration c: S2MConfiguration.DiT, receivesSkip: Bool) {
        attention = MultiHeadAttention(loader.scoped("attention"), dimensions: c.hiddenDim, heads: c.numHeads,
                                       fused: "wqkv", output: "wo", bias: false)
        feedForward = FeedForward.gated(loader.scoped("feed_forward"), dimensions: c.hiddenDim, hidden: c.feedForwardDim)
        attentionNorm = AdaptiveRMSNorm(loader.scoped("attention_norm"), dimensions: c.hiddenDim)
        feedForwardNorm = AdaptiveRMSNorm(loader.scoped("ffn_norm"), dimensions: c.hiddenDim)
        let skip = loader.scoped("skip_in_linear")
        if receivesSkip {
            skipIn = Linear(skip, inFeatures: 2 * c.hiddenDim, outFeatures: c.hiddenDim)
        } else {
            skipIn = nil
            skip.ignore("weight", "bias")
        }
    }

    /// Attention, feed-forward and skip products in bfloat16 (the AdaLN projections act on one row per item: fp32).
    func bfloat16() throws -> DiTBlock {
        var block = self
        block.attention = try attention.bfloat16()
        block.feedForward = try feedForward.bfloat16()
        block.skipIn = try skipIn?.bfloat16()
        return block
    }

    /// - Parameter rows: the frames whose output is wanted (nil: all). Keys and values still come from every frame;
    ///   the result then has `rows.count` frames, equal to those frames of the full result.
    func callAsFunction(_ x: Tensor, skip: Tensor?, attentionModulation: Tensor, feedForwardModulation: Tensor,
                        rotary: RotaryEmbedding, rows: Range<Int>? = nil) throws -> Tensor {
        var x = x
        // In bfloat16 the inputs of the products are rounded as they are written (no fp32 copy for oneDNN to convert).
        let bfloat16 = attention.precision == .bfloat16
        if let skipIn, let skip {
            x = try bfloat16 ? skipIn(BFloat16Rows.concatenated([x, skip])) : skipIn(Tensor.concatenate([x, skip], axis: 2))
        }
        // Both halves add to the residual stream inside their output products (`wo`, `w2`): fp32 products on
        // OpenBLAS start from the residual instead of zero (`Linear`'s `adding:` forms).
        let residual = try rows.map { try x.sliced(axis: 1, range: $0) } ?? x
        let h = try bfloat16
            ? attention(attentionNorm.bfloat16(x, modulation: attentionModulation), rotary: rotary, queryRows: rows,
                        adding: residual)
            : attention(attentionNorm(x, modulation: attentionModulation), rotary: rotary, queryRows: rows,
                        adding: residual)
        return try bfloat16 ? feedForward(feedForwardNorm.bfloat16(h, modulation: feedForwardModulation), adding: h)
                            : feedForward(feedForwardNorm(h, modulation: feedForwardModulation), adding: h)
    }
}

/// The DiT estimator of IndexTTS2's CFM (`indextts/s2mel/modules/diffusion_transformer.py::DiT`, the transformer
/// from `gpt_fast/model.py`), the WaveNet final-layer variant IndexTTS2 configures:
///
/// 1. `t1 = t_embedder(t)`; `x_in = cond_x_merge_linear([x, prompt_x, cond_projection(mu), style])` per frame.
/// 2. `depth` gpt-fast blocks over all frames (bidirectional; RoPE with interleaved pairs, base 10 000, positions
///    0…T−1; every length is valid, so the key-padding mask upstream builds from `x_lens = T` masks nothing), U-ViT
///    skips: layers `i < depth/2` push their output, layers `i > depth/2` pop and merge it through `skip_in_linear`
///    before the block; final AdaLN-RMSNorm.
/// 3. Long skip `x_res = skip_linear([x_res, x])`; WaveNet head on `conv1(x_res)` with global condition
///    `t_embedder2(t)`, plus `res_projection(x_res)`; `FinalLayer` (LayerNorm without affine, eps 1e-6, shift/scale
///    from `t1`, weight-normalised Linear); `conv2` (1×1) to mel bins.
///
/// Unused checkpoint tensors (training or disabled branches): `x_embedder`, `cond_embedder`, `content_mask_embedder`,
/// `input_pos`, and `skip_in_linear` of the layers that receive no skip.
public struct DiffusionTransformer: Sendable {
    public let configuration: S2MConfiguration
    let timeEmbedder: TimestepEmbedder
    let waveNetTimeEmbedder: TimestepEmbedder
    var condProjection: Linear
    /// `cond_x_merge_linear` split by input columns: the noisy mel's (`[hidden, mel]`, no bias), which change every
    /// Euler step, and the prompt mel's, condition's and style's with the bias (``Condition``), which do not.
    var mergeX: Linear
    var mergeCondition: Linear
    var blocks: [DiTBlock]
    let finalNorm: AdaptiveRMSNorm
    var skipLinear: Linear
    var conv1: Linear
    var waveNet: WaveNet
    var residualProjection: Linear
    let finalModulation: Linear
    var finalLinear: Linear
    let conv2: Conv1d
    /// The arithmetic of the large products (``bfloat16()``).
    public private(set) var precision: ComputePrecision = .float32
    let rotary: RotaryEmbedding

    /// Longest sequence upstream accepts: gpt-fast's RoPE table and `input_pos` have 16 384 rows (`block_size`
    /// hard-coded in `DiT.__init__`).
    public static let maximumFrames = 16_384

    init(_ loader: ParameterLoader, configuration s: S2MConfiguration) {
        configuration = s
        let c = s.dit
        let hidden = c.hiddenDim
        timeEmbedder = TimestepEmbedder(loader.scoped("t_embedder"), hidden: hidden)
        waveNetTimeEmbedder = TimestepEmbedder(loader.scoped("t_embedder2"), hidden: s.wavenet.hiddenDim)
        condProjection = Linear(loader.scoped("cond_projection"), inFeatures: c.contentDim, outFeatures: hidden)
        let mergeInputs = hidden + 2 * c.inChannels + s.styleDim
        // (The loader records a missing or wrong-shaped tensor and hands out zeros of the expected shape.)
        let mergeWeight = loader.scoped("cond_x_merge_linear").tensor("weight", shape: [hidden, mergeInputs])
        func columns(_ range: Range<Int>) -> Tensor {
            (try? mergeWeight.sliced(axis: 1, range: range).contiguous()) ?? Tensor.zeros([hidden, range.count])
        }
        mergeX = Linear(weight: columns(0..<c.inChannels), bias: nil)
        mergeCondition = Linear(weight: columns(c.inChannels..<mergeInputs),
                                bias: loader.scoped("cond_x_merge_linear").tensor("bias", shape: [hidden]))
        let transformer = loader.scoped("transformer")
        blocks = (0..<c.depth).map { i in
            DiTBlock(transformer.scoped("layers").scoped("\(i)"), configuration: c, receivesSkip: i > c.depth / 2)
        }
        finalNorm = AdaptiveRMSNorm(transformer.scoped("norm"), dimensions: hidden)
        skipLinear = Linear(loader.scoped("skip_linear"), inFeatures: hidden + c.inChannels, outFeatures: hidden)
        conv1 = Linear(loader.scoped("conv1"), inFeatures: hidden, outFeatures: s.wavenet.hiddenDim)
        waveNet = WaveNet(loader.scoped("wavenet"), configuration: s.wavenet)
        residualProjection = Linear(loader.scoped("res_projection"), inFeatures: hidden, outFeatures: s.wavenet.hiddenDim)
        let final = loader.scoped("final_layer")
        finalModulation = Linear(final.scoped("adaLN_modulation").scoped("1"), inFeatures: hidden, outFeatures: 2 * s.wavenet.hiddenDim)
        let w = s.wavenet.hiddenDim
        finalLinear = Linear(weight: final.scoped("linear").weightNormed("weight", shape: [w, w]),
                             bias: final.scoped("linear").tensor("bias", shape: [w]))
        conv2 = Conv1d(loader.scoped("conv2"), .init(inChannels: w, outChannels: c.inChannels, kernelSize: 1))
        rotary = RotaryEmbedding(dimensions: hidden / c.numHeads, base: 10_000, style: .interleaved)
        loader.ignore("input_pos", "cond_embedder.weight", "content_mask_embedder.weight",
                      "x_embedder.weight_g", "x_embedder.weight_v", "x_embedder.weight", "x_embedder.bias")
    }

    /// The same estimator with every per-frame product (projections, attention, SwiGLU, skips, WaveNet
    /// convolutions) in bfloat16 with fp32 accumulation; norms, modulation, softmax and activations stay fp32.
    /// Throws when this machine cannot run bfloat16 (``ComputePrecision/checkSupported()``).
    public func bfloat16() throws -> DiffusionTransformer {
        try ComputePrecision.bfloat16.checkSupported()
        var copy = self
        copy.condProjection = try condProjection.bfloat16()
        copy.mergeX = try mergeX.bfloat16()
        copy.mergeCondition = try mergeCondition.bfloat16()
        copy.blocks = try blocks.map { try $0.bfloat16() }
        copy.skipLinear = try skipLinear.bfloat16()
        copy.conv1 = try conv1.bfloat16()
        copy.waveNet = try waveNet.bfloat16()
        copy.residualProjection = try residualProjection.bfloat16()
        copy.finalLinear = try finalLinear.bfloat16()
        copy.precision = .bfloat16
        return copy
    }

    /// The same estimator with the WaveNet head's dilated convolutions as Winograd F(4, 5) (``WaveNet/winograd()``;
    /// fp32 only: convert the loaded model, not a bfloat16 one, whose products stay as they are).
    public func winograd() throws -> DiffusionTransformer {
        guard precision == .float32 else { return self }
        var copy = self
        copy.waveNet = try waveNet.winograd()
        return copy
    }

    /// The same estimator with every block's SwiGLU gate and up products stacked into one SGEMM
    /// (``FeedForward/stacked()``); fp32 only (a bfloat16 estimator stacks them as it converts).
    public func stackedFeedForward() throws -> DiffusionTransformer {
        guard precision == .float32 else { return self }
        var copy = self
        copy.blocks = try blocks.map { block in
            var stacked = block
            stacked.feedForward = try block.feedForward.stacked()
            return stacked
        }
        return copy
    }

    /// Blocks whose SwiGLU gate and up products run as one stacked product, and all blocks.
    public var stackedFeedForwards: (count: Int, total: Int) {
        (blocks.filter { if case .gatedStacked = $0.feedForward.kind { return true } else { return false } }.count, blocks.count)
    }

    /// WaveNet layers whose dilated convolution runs as Winograd F(4, 5), and all of them.
    public var winogradConvolutions: (count: Int, total: Int) { (waveNet.winogradLayers, waveNet.layers.count) }

    /// How many frames to the left the WaveNet head reaches: the sum of its convolutions' left padding
    /// (`(k−1)·dilation` split ⌈·/2⌉ left), 16 frames for IndexTTS2's 8 layers of kernel 5. Every other operation
    /// after the last transformer layer acts on one frame.
    public var headLeftReach: Int {
        let w = configuration.wavenet
        var reach = 0, dilation = 1
        for _ in 0..<w.numLayers {
            let total = (w.kernelSize - 1) * dilation
            reach += total - total / 2
            dilation *= w.dilationRate
        }
        return reach
    }

    /// The inputs of an estimator evaluation that stay the same over a whole CFM run — prompt mel, style and
    /// condition — merged once: `cond_x_merge_linear` is one product over `[x, prompt_x, cond_projection(mu),
    /// style]` per frame, so its part for the last three (with the bias) is computed here and each step adds the
    /// noisy mel's part. `[batch, T, hidden]`.
    public struct Condition: Sendable {
        let merged: Tensor
        public var batch: Int { merged.shape[0] }
        public var frames: Int { merged.shape[1] }
    }

    /// ``Condition`` for `promptX` `[batch, mel, T]` (prompt mel in the first frames, zeros elsewhere), `style`
    /// `[batch, style_dim]` and `mu` `[batch, T, content_dim]`.
    public func condition(promptX: Tensor, style: Tensor, mu: Tensor) throws -> Condition {
        let c = configuration.dit
        guard promptX.rank == 3, promptX.shape[1] == c.inChannels, promptX.shape[0] > 0, promptX.shape[2] > 0 else {
            throw ModelError.invalidInput(component: "S2M DiT", reason: "prompt_x \(promptX.shape) is not [batch, \(c.inChannels), frames ≥ 1]")
        }
        let (batch, time) = (promptX.shape[0], promptX.shape[2])
        guard style.shape == [batch, configuration.styleDim], mu.shape == [batch, time, c.contentDim] else {
            throw ModelError.invalidInput(
                component: "S2M DiT", reason: "prompt_x \(promptX.shape), style \(style.shape), mu \(mu.shape) do not agree")
        }
        let styleRows = try style.unsqueezed(1).expanded(to: [batch, time, configuration.styleDim])
        let input = try Tensor.concatenate([promptX.transposed(1, 2), condProjection(mu), styleRows], axis: 2)
        return Condition(merged: try mergeCondition(input))
    }

    /// One estimator evaluation (`DiT.forward` in eval mode) on a batch.
    /// - Parameters:
    ///   - x: noisy mel `[batch, mel, T]`.
    ///   - promptX: prompt mel in the first frames, zeros elsewhere, `[batch, mel, T]`.
    ///   - t: flow time per batch item.
    ///   - style: `[batch, style_dim]`.
    ///   - mu: condition `[batch, T, content_dim]`.
    ///   - validFrom: the first frame whose velocity the caller uses (the CFM passes the prompt length: it zeroes the
    ///     prompt frames after every step and cuts them at the end). Frames before it are returned as zeros and
    ///     mostly not computed: the last transformer layer attends from, and the long skip, WaveNet head and final
    ///     layer run on, frames `validFrom − headLeftReach ..< T` only (keys and values of every layer still cover
    ///     all frames). The frames from `validFrom` on are the full evaluation's. 0 (default) computes everything.
    /// - Returns: the velocity `[batch, mel, T]`.
    public func callAsFunction(x: Tensor, promptX: Tensor, t: [Float], style: Tensor, mu: Tensor,
                               validFrom: Int = 0) throws -> Tensor {
        guard promptX.shape == x.shape, t.count == x.shape.first else {
            throw ModelError.invalidInput(
                component: "S2M DiT",
                reason: "x \(x.shape), prompt_x \(promptX.shape), \(t.count) timesteps, style \(style.shape), mu \(mu.shape) do not agree")
        }
        return try callAsFunction(x: x, t: t, condition: condition(promptX: promptX, style: style, mu: mu),
                                  validFrom: validFrom)
    }

    /// One estimator evaluation with the step-invariant inputs merged beforehand (``condition(promptX:style:mu:)``);
    /// equal to the evaluation on those inputs up to the order of fp32 sums. Parameters as above.
    public func callAsFunction(x: Tensor, t: [Float], condition: Condition, validFrom: Int = 0) throws -> Tensor {
        let c = configuration.dit
        guard x.rank == 3, x.shape[1] == c.inChannels, x.shape[0] > 0, x.shape[2] > 0 else {
            throw ModelError.invalidInput(component: "S2M DiT", reason: "x \(x.shape) is not [batch, \(c.inChannels), frames ≥ 1]")
        }
        let (batch, time) = (x.shape[0], x.shape[2])
        guard t.count == batch, condition.batch == batch, condition.frames == time else {
            throw ModelError.invalidInput(
                component: "S2M DiT",
                reason: "x \(x.shape), \(t.count) timesteps, condition of \(condition.batch) × \(condition.frames) frames do not agree")
        }
        guard time <= Self.maximumFrames else {
            throw ModelError.invalidInput(component: "S2M DiT", reason: "\(time) frames exceed upstream's \(Self.maximumFrames)")
        }
        guard validFrom >= 0, validFrom < time else {
            throw ModelError.invalidInput(component: "S2M DiT", reason: "valid-from frame \(validFrom) is outside 0..<\(time)")
        }
        // Frames the head must see for the outputs from `validFrom` on to be exact.
        let first = max(0, validFrom - headLeftReach)
        let rows: Range<Int>? = first > 0 ? first..<time : nil
        let t1 = try timeEmbedder(t)  // [batch, hidden]
        let xT = try x.transposed(1, 2).contiguous()  // [batch, T, mel]
        var h = try mergeX(xT).adding(condition.merged)

        var skips: [Tensor] = []
        for (i, block) in blocks.enumerated() {
            let skip = i > c.depth / 2 ? skips.popLast() : nil
            h = try block(h, skip: skip, attentionModulation: block.attentionNorm.modulation(t1),
                          feedForwardModulation: block.feedForwardNorm.modulation(t1), rotary: rotary,
                          rows: i == blocks.count - 1 ? rows : nil)
            if i < c.depth / 2 { skips.append(h) }
        }
        // From here on every tensor has the frames `first..<T` (all of them when `rows` is nil).
        h = try finalNorm(h, modulation: finalNorm.modulation(t1))
        let xKept = try rows.map { try xT.sliced(axis: 1, range: $0) } ?? xT

        let residual = try skipLinear(Tensor.concatenate([h, xKept], axis: 2))  // [batch, T − first, hidden]
        let t2 = try waveNetTimeEmbedder(t)
        let wave = try waveNet(timeMajor: conv1(residual), g: t2)  // [batch, T, W]
        let merged = try wave.adding(residualProjection(residual))  // [batch, T, W]
        let modulation = try finalModulation(t1.silu())  // [batch, 2W]: shift, scale
        let w = configuration.wavenet.hiddenDim
        let normalized = try merged.layerNorm(weight: nil, bias: nil, eps: 1e-6)
        let modulated = try S2M.modulate(normalized, scale: modulation, scaleOffset: w, shift: modulation, shiftOffset: 0,
                                         scaleBias: 1)
        let velocity = try conv2(finalLinear(modulated).transposed(1, 2))  // [batch, mel, T − first]
        guard validFrom > 0 else { return velocity }
        // Frames before `validFrom` (the computed ones there are inexact: the head's reach was cut) become zeros.
        return try velocity.sliced(axis: 2, range: (validFrom - first)..<(time - first))
            .padded(left: validFrom, right: 0)
    }
}
