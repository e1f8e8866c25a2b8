import IndexTTSNN
import IndexTTSTensor

/// The WeNet-style Conformer that UnifiedVoice uses for speaker and emotion conditioning
/// (`indextts/gpt/conformer_encoder.py` with `input_layer: conv2d2`, `pos_enc_layer_type: rel_pos`, no macaron,
/// conv kernel 15, SiLU): `Conv2dSubsampling2` → ×√d → blocks → `after_norm`.
///
/// Upstream quirks kept: the relative-position attention adds `linear_pos(pe[0..<T′])` scores *without* WeNet's
/// `rel_shift`, and the sinusoid table is the checkpoint's own `embed.pos_enc.pe` buffer.
///
/// Padding mask: `infer_v2` passes the *channel* count as the length (`spk_cond_emb.shape[-1]`, the "masks quirk"),
/// which is at least the frame count for the official model (1024 ≥ 750 frames of a 15 s clip), so nothing is
/// masked there; a model whose feature width is below the frame count (the tiny end-to-end fixture) masks frames at
/// or beyond it. ``encode(_:inputLength:)`` reproduces WeNet's mask exactly: the subsampled mask is `mask[:, :, 2::2]`,
/// padded keys are dropped from attention, and the conv module zeroes padded frames before `pointwise_conv1` and
/// after `pointwise_conv2`.
struct ConformerEncoder: Sendable {
    let inputDim: Int
    let outputSize: Int
    let heads: Int
    /// `embed.conv` and `embed.out`: `[batch, T, inputDim]` → `[batch, T′, outputSize]`.
    let subsampling: Conv2dSubsampling2
    /// `[1, maxLen, outputSize]` sinusoids (`embed.pos_enc.pe`).
    let positionTable: Tensor
    let blocks: [ConformerBlock]
    let afterNorm: LayerNorm

    init(_ loader: ParameterLoader, inputDim: Int, module m: UnifiedVoiceConfiguration.ConditionModule) {
        self.inputDim = inputDim
        outputSize = m.outputSize
        heads = m.attentionHeads
        let embed = loader.scoped("embed")
        subsampling = Conv2dSubsampling2(embed, inputDim: inputDim, channels: m.outputSize)
        let table = embed.tensor("pos_enc.pe")
        positionTable = table
        blocks = (0..<m.numBlocks).map { ConformerBlock(loader.scoped("encoders.\($0)"), size: m.outputSize, heads: m.attentionHeads,
                                                         linearUnits: m.linearUnits) }
        afterNorm = LayerNorm(loader.scoped("after_norm"), dimensions: m.outputSize)
    }

    /// `[batch, T, inputDim]` → `[batch, (T − 3) / 2 + 1, outputSize]`, no padding.
    func callAsFunction(_ x: Tensor) throws -> Tensor { try encode(x, inputLength: nil).output }

    /// Subsampled frames that the mask of `inputLength` valid input frames keeps out of `time` (`mask[:, :, 2::2]`:
    /// subsampled frame i is valid when input frame 2i + 2 is).
    static func validSubsampledFrames(inputLength: Int?, time: Int) -> Int {
        guard let length = inputLength else { return time }
        return min(time, max(0, (length - 1) / 2))
    }

    /// As ``callAsFunction(_:)`` with WeNet's padding mask for `inputLength` valid input frames (nil: all valid).
    /// - Returns: the output over all frames and how many leading subsampled frames are valid.
    func encode(_ x: Tensor, inputLength: Int?) throws -> (output: Tensor, validFrames: Int) {
        guard x.rank == 3, x.shape[2] == inputDim, x.shape[1] >= 3 else {
            throw ModelError.invalidInput(component: "ConformerEncoder",
                                          reason: "features \(x.shape), expected [batch, ≥3 frames, \(inputDim)]")
        }
        // Conv2dSubsampling2: [B, 1, T, F] → conv 3×3 stride 2 → ReLU → [B, T′, C·F′] → Linear, in channel blocks.
        var h = try subsampling(x).affine(scale: Float(outputSize).squareRoot())
        let time = h.shape[1]
        guard positionTable.rank == 3, positionTable.shape[2] == outputSize, positionTable.shape[1] > time else {
            throw ModelError.invalidInput(
                component: "ConformerEncoder",
                reason: "\(time) subsampled frames exceed the \(positionTable.shape.dropLast().last ?? 0)-row position table")
        }
        let positions = try positionTable.sliced(axis: 1, range: 0..<time)
        let valid = Self.validSubsampledFrames(inputLength: inputLength, time: time)
        guard valid > 0 else {
            throw ModelError.invalidInput(component: "ConformerEncoder",
                                          reason: "length \(inputLength ?? 0) leaves no valid frame (upstream yields NaN)")
        }
        for block in blocks { h = try block(h, positions: positions, validFrames: valid) }
        return (try afterNorm(h), valid)
    }
}

/// One pre-norm Conformer block: x + MHA(LN x); x + Conv(LN x); x + FF(LN x); then `norm_final`.
struct ConformerBlock: Sendable {
    let normAttention: LayerNorm
    let attention: RelativePositionAttention
    let normConv: LayerNorm
    let conv: ConformerConvolution
    let normFeedForward: LayerNorm
    let feedForward1: Linear
    let feedForward2: Linear
    let normFinal: LayerNorm

    init(_ loader: ParameterLoader, size: Int, heads: Int, linearUnits: Int) {
        normAttention = LayerNorm(loader.scoped("norm_mha"), dimensions: size)
        attention = RelativePositionAttention(loader.scoped("self_attn"), size: size, heads: heads)
        normConv = LayerNorm(loader.scoped("norm_conv"), dimensions: size)
        conv = ConformerConvolution(loader.scoped("conv_module"), channels: size)
        normFeedForward = LayerNorm(loader.scoped("norm_ff"), dimensions: size)
        feedForward1 = Linear(loader.scoped("feed_forward.w_1"), inFeatures: size, outFeatures: linearUnits)
        feedForward2 = Linear(loader.scoped("feed_forward.w_2"), inFeatures: linearUnits, outFeatures: size)
        normFinal = LayerNorm(loader.scoped("norm_final"), dimensions: size)
    }

    /// `[batch, T, size]`, positions `[1, T, size]`; frames at or beyond `validFrames` are padding.
    func callAsFunction(_ x: Tensor, positions: Tensor, validFrames: Int? = nil) throws -> Tensor {
        let valid = validFrames ?? x.shape[1]
        var h = try x.adding(attention(normAttention(x), positions: positions, validFrames: valid))
        h = try h.adding(conv(normConv(h), validFrames: valid))
        h = try h.adding(feedForward2(feedForward1(normFeedForward(h)).silu()))
        return try normFinal(h)
    }
}

/// WeNet `RelPositionMultiHeadedAttention` as IndexTTS2 ships it:
/// scores = ((q + u)·kᵀ + (q + v)·(W_pos·pe)ᵀ) / √d_k, with no relative shift.
struct RelativePositionAttention: Sendable {
    let heads: Int
    let headDim: Int
    let query: Linear
    let key: Linear
    let value: Linear
    let output: Linear
    let position: Linear
    /// `[heads, d_k]`.
    let biasU: Tensor
    let biasV: Tensor

    init(_ loader: ParameterLoader, size: Int, heads: Int) {
        self.heads = heads
        headDim = size / heads
        query = Linear(loader.scoped("linear_q"), inFeatures: size, outFeatures: size)
        key = Linear(loader.scoped("linear_k"), inFeatures: size, outFeatures: size)
        value = Linear(loader.scoped("linear_v"), inFeatures: size, outFeatures: size)
        output = Linear(loader.scoped("linear_out"), inFeatures: size, outFeatures: size)
        position = Linear(loader.scoped("linear_pos"), inFeatures: size, outFeatures: size, bias: false)
        biasU = loader.tensor("pos_bias_u", shape: [heads, size / heads])
        biasV = loader.tensor("pos_bias_v", shape: [heads, size / heads])
    }

    /// `[batch, T, size]` → `[batch, T, size]`. Both score terms are one attention over concatenated features:
    /// [q + u, q + v] · [k, p]ᵀ, scaled by 1/√d_k.
    func callAsFunction(_ x: Tensor, positions: Tensor, validFrames: Int? = nil) throws -> Tensor {
        let (batch, time) = (x.shape[0], x.shape[1])
        let mask = validFrames.map { $0 < time ? AttentionMask(keyLengths: Array(repeating: $0, count: batch)) : .none } ?? .none
        func split(_ t: Tensor, batch: Int) throws -> Tensor {  // [B, T, H·d] → [B, T, H, d]
            try t.reshaped([batch, time, heads, headDim])
        }
        let q = try split(query(x), batch: batch)
        let k = try split(key(x), batch: batch)
        let v = try split(value(x), batch: batch).permuted([0, 2, 1, 3])
        var p = try split(position(positions), batch: 1)
        if batch > 1 { p = try p.expanded(to: [batch, time, heads, headDim]) }
        let queries = try Tensor.concatenate([q.adding(biasU), q.adding(biasV)], axis: 3).permuted([0, 2, 1, 3])
        let keys = try Tensor.concatenate([k, p], axis: 3).permuted([0, 2, 1, 3])
        let attended = try Tensor.scaledDotProductAttention(query: queries, key: keys, value: v, mask: mask,
                                                            scale: 1 / Float(headDim).squareRoot())
        return try output(attended.permuted([0, 2, 1, 3]).reshaped([batch, time, heads * headDim]))
    }
}

/// Conformer convolution module: pointwise 1→2C, GLU, depthwise k15 (same padding), LayerNorm, SiLU, pointwise.
struct ConformerConvolution: Sendable {
    let pointwise1: Conv1d
    let depthwise: Conv1d
    let norm: LayerNorm
    let pointwise2: Conv1d

    init(_ loader: ParameterLoader, channels: Int, kernelSize: Int = 15) {
        pointwise1 = Conv1d(loader.scoped("pointwise_conv1"),
                            Conv1dConfiguration(inChannels: channels, outChannels: 2 * channels, kernelSize: 1))
        depthwise = Conv1d(loader.scoped("depthwise_conv"),
                           Conv1dConfiguration(inChannels: channels, outChannels: channels, kernelSize: kernelSize,
                                               padding: (kernelSize - 1) / 2, groups: channels))
        norm = LayerNorm(loader.scoped("norm"), dimensions: channels)
        pointwise2 = Conv1d(loader.scoped("pointwise_conv2"),
                            Conv1dConfiguration(inChannels: channels, outChannels: channels, kernelSize: 1))
    }

    /// `[batch, T, C]` → `[batch, T, C]`; frames at or beyond `validFrames` are zeroed on the way in and out.
    func callAsFunction(_ x: Tensor, validFrames: Int? = nil) throws -> Tensor {
        let valid = validFrames ?? x.shape[1]
        let channelsFirst = try Self.zeroFrames(x, from: valid).permuted([0, 2, 1])
        let gated = try depthwise(pointwise1(channelsFirst).glu(axis: 1))
        let normed = try norm(gated.permuted([0, 2, 1])).silu()
        return try Self.zeroFrames(pointwise2(normed.permuted([0, 2, 1])).permuted([0, 2, 1]), from: valid)
    }

    /// `[batch, T, C]` with frames `valid..<T` set to zero (`masked_fill(~mask_pad, 0)`).
    static func zeroFrames(_ x: Tensor, from valid: Int) throws -> Tensor {
        let time = x.shape[1]
        guard valid < time else { return x }
        return try Tensor.concatenate([x.sliced(axis: 1, range: 0..<valid),
                                       Tensor.zeros([x.shape[0], time - valid, x.shape[2]])], axis: 1)
    }
}
