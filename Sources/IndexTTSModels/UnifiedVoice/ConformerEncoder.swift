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
    let subsamplingConv: (weight: Tensor, bias: Tensor)
    let subsamplingOut: Linear
    /// `[1, maxLen, outputSize]` sinusoids (`embed.pos_enc.pe`).
    let positionTable: Tensor
    let blocks: [ConformerBlock]
    let afterNorm: LayerNorm

    init(_ loader: ParameterLoader, inputDim: Int, module m: UnifiedVoiceConfiguration.ConditionModule) {
        self.inputDim = inputDim
        outputSize = m.outputSize
        heads = m.attentionHeads
        let embed = loader.scoped("embed")
        subsamplingConv = (embed.tensor("conv.0.weight", shape: [m.outputSize, 1, 3, 3]),
                           embed.tensor("conv.0.bias", shape: [m.outputSize]))
        subsamplingOut = Linear(embed.scoped("out.0"), inFeatures: m.outputSize * ((inputDim - 1) / 2), outFeatures: m.outputSize)
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

    /// `Conv2dSubsampling2`'s convolution (1 → C channels, 3×3, stride 2), bias and ReLU, written straight into the
    /// layout its `Linear` reads: `[batch, T, F]` → `[batch, T′, C·F′]` with T′ = (T − 3)/2 + 1, F′ = (F − 3)/2 + 1 and
    /// element `[b, t, c·F′ + f] = relu(bias[c] + Σ_{i,j<3} w[c, 0, i, j]·x[b, 2t + i, 2f + j])` — the same sum as
    /// `conv2d` followed by `permute(0, 2, 1, 3)`, in one pass (the unfused chain wrote and re-read 4× the 250 MB output
    /// of a 10 s clip at full size). Each input row is split into its even and odd columns once, so every tap is a
    /// contiguous vector.
    func subsampled(_ x: Tensor) throws -> Tensor {
        let (batch, frames, features) = (x.shape[0], x.shape[1], x.shape[2])
        let time = (frames - 3) / 2 + 1, width = (features - 3) / 2 + 1, channels = outputSize
        let weights = subsamplingConv.weight.contiguous().scalars, biases = subsamplingConv.bias.contiguous().scalars
        guard weights.count == channels * 9, biases.count == channels else {
            throw ModelError.invalidInput(component: "ConformerEncoder", reason: "subsampling conv weight \(subsamplingConv.weight.shape)")
        }
        let input = x.contiguous()
        let half = features / 2 + 1  // even columns 0, 2, … and odd columns 1, 3, … of one input row
        let taps = weights.map { SIMD8<Float>(repeating: $0) }, biasVectors = biases.map { SIMD8<Float>(repeating: $0) }
        return withExtendedLifetime(input) { Tensor.make([batch, time, channels * width]) { out in
            let dst = out.baseAddress!, src = UnsafePointer(input.basePointer)
            Parallel.forEachChunk(count: batch * time, minimumChunk: 1) { rows in
                typealias V = SIMD8<Float>
                // Three input rows × (even, odd) columns, each padded to a whole number of vectors.
                let stride = (half + 8) / 8 * 8
                let split = UnsafeMutablePointer<Float>.allocate(capacity: 6 * stride)
                split.initialize(repeating: 0, count: 6 * stride)
                defer { split.deallocate() }
                for row in rows {
                    let b = row / time, t = row % time
                    for i in 0..<3 {
                        let line = src + (b * frames + 2 * t + i) * features
                        let even = split + (2 * i) * stride, odd = split + (2 * i + 1) * stride
                        var f = 0
                        while f < features {
                            even[f / 2] = line[f]
                            if f + 1 < features { odd[f / 2] = line[f + 1] }
                            f += 2
                        }
                    }
                    let target = dst + row * channels * width
                    let full = width / 8 * 8
                    for c in 0..<channels {
                        let bias = biasVectors[c]
                        let o = target + c * width
                        func tap(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
                        var f = 0
                        while f < full {
                            var acc = bias
                            for i in 0..<3 {
                                let even = split + (2 * i) * stride + f, odd = split + (2 * i + 1) * stride + f
                                acc.addProduct(taps[9 * c + 3 * i], tap(even))
                                acc.addProduct(taps[9 * c + 3 * i + 1], tap(odd))
                                acc.addProduct(taps[9 * c + 3 * i + 2], tap(even + 1))
                            }
                            UnsafeMutableRawPointer(o + f).storeBytes(of: VectorMath.maximum(acc, .zero), as: V.self)
                            f += 8
                        }
                        while f < width {
                            var acc = biases[c]
                            for i in 0..<3 {
                                let even = split + (2 * i) * stride, odd = split + (2 * i + 1) * stride
                                acc += weights[9 * c + 3 * i] * even[f] + weights[9 * c + 3 * i + 1] * odd[f]
                                    + weights[9 * c + 3 * i + 2] * even[f + 1]
                            }
                            o[f] = max(acc, 0)
                            f += 1
                        }
                    }
                }
            }
        } }
    }

    /// As ``callAsFunction(_:)`` with WeNet's padding mask for `inputLength` valid input frames (nil: all valid).
    /// - Returns: the output over all frames and how many leading subsampled frames are valid.
    func encode(_ x: Tensor, inputLength: Int?) throws -> (output: Tensor, validFrames: Int) {
        guard x.rank == 3, x.shape[2] == inputDim, x.shape[1] >= 3 else {
            throw ModelError.invalidInput(component: "ConformerEncoder",
                                          reason: "features \(x.shape), expected [batch, ≥3 frames, \(inputDim)]")
        }
        // Conv2dSubsampling2: [B, 1, T, F] → conv 3×3 stride 2 → ReLU → [B, T′, C·F′] → Linear.
        let flat = try subsampled(x)
        let time = flat.shape[1]
        var h = try subsamplingOut(flat).affine(scale: Float(outputSize).squareRoot())
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
