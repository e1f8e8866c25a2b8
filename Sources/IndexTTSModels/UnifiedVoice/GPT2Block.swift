import IndexTTSNN
import IndexTTSTensor

/// One pre-LN GPT-2 block as Hugging Face `GPT2Block` computes it: x + attn(ln_1(x)), then x + mlp(ln_2(x)), with
/// `Conv1D` weights stored `[in, out]` and the `gelu_new` (tanh) activation.
/// port of transformers GPT2Block / GPT2Attention / GPT2MLP (transformers 4.52.1, as IndexTTS2 pins)
public struct GPT2Block: Sendable {
    let configuration: GPT2Configuration
    let layerNorm1: LayerNorm
    var queryKeyValue: Linear
    var attentionProjection: Linear
    let layerNorm2: LayerNorm
    var feedForward: Linear
    var feedForwardProjection: Linear

    init(_ loader: ParameterLoader, _ c: GPT2Configuration) {
        configuration = c
        let d = c.modelDimension
        layerNorm1 = LayerNorm(loader.scoped("ln_1"), dimensions: d, eps: c.layerNormEpsilon)
        queryKeyValue = Linear(loader.scoped("attn.c_attn"), inFeatures: d, outFeatures: 3 * d, layout: .inOut)
        attentionProjection = Linear(loader.scoped("attn.c_proj"), inFeatures: d, outFeatures: d, layout: .inOut)
        layerNorm2 = LayerNorm(loader.scoped("ln_2"), dimensions: d, eps: c.layerNormEpsilon)
        feedForward = Linear(loader.scoped("mlp.c_fc"), inFeatures: d, outFeatures: 4 * d, layout: .inOut)
        feedForwardProjection = Linear(loader.scoped("mlp.c_proj"), inFeatures: 4 * d, outFeatures: d, layout: .inOut)
        // Causal-mask buffers that older transformers versions saved with the weights.
        loader.ignore("attn.bias", "attn.masked_bias")
    }

    /// The block with fp16 projection weights.
    func halfPrecision() throws -> GPT2Block {
        var block = self
        block.queryKeyValue = try queryKeyValue.halfPrecision()
        block.attentionProjection = try attentionProjection.halfPrecision()
        block.feedForward = try feedForward.halfPrecision()
        block.feedForwardProjection = try feedForwardProjection.halfPrecision()
        return block
    }

    var weightByteCount: Int {
        [queryKeyValue, attentionProjection, feedForward, feedForwardProjection].reduce(0) { $0 + $1.weightByteCount }
    }

    /// `[batch, time, dim]` → `[batch, time, dim]`; keys and values of the new positions are appended to `cache`.
    func callAsFunction(_ x: Tensor, cache: KVCache, keyMask: Tensor?) throws -> Tensor {
        let (batch, time) = (x.shape[0], x.shape[1])
        let heads = configuration.heads, headDim = configuration.headDimension, d = configuration.modelDimension
        let qkv = try queryKeyValue(layerNorm1(x))
        let parts = try qkv.split(sizes: [d, d, d], axis: 2)
        // [B, T, D] → [B, H, T, hd]
        func heads4(_ t: Tensor) throws -> Tensor { try t.reshaped([batch, time, heads, headDim]).permuted([0, 2, 1, 3]) }
        try cache.append(keys: heads4(parts[1]), values: heads4(parts[2]))
        let attended = try Tensor.scaledDotProductAttention(
            query: heads4(parts[0]), key: cache.keys, value: cache.values,
            mask: AttentionMask(isCausal: true, additive: keyMask))
        let merged = try attended.permuted([0, 2, 1, 3]).reshaped([batch, time, d])
        let h = try x.adding(attentionProjection(merged))
        let mlp = try feedForwardProjection(feedForward(layerNorm2(h)).gelu(approximation: .tanh))
        return try h.adding(mlp)
    }
}
