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
        try callAsFunction(x, caches: [cache], keyMask: keyMask)
    }

    /// Several requests' sequences at once: `x` `[Σ batch, time, dim]` holds each cache's `batch` rows in order (all
    /// with the same `time`). The projections and the MLP see every row in one product (one pass over the weights);
    /// attention runs per cache, over that request's own positions (caches may hold different lengths).
    func callAsFunction(_ x: Tensor, caches: [KVCache], keyMask: Tensor?) throws -> Tensor {
        let time = x.shape[1]
        let heads = configuration.heads, headDim = configuration.headDimension, d = configuration.modelDimension
        let qkv = try queryKeyValue(layerNorm1(x))
        let parts = try qkv.split(sizes: [d, d, d], axis: 2)
        // [B, T, D] → [B, H, T, hd]
        func heads4(_ t: Tensor, _ batch: Int) throws -> Tensor {
            try t.reshaped([batch, time, heads, headDim]).permuted([0, 2, 1, 3])
        }
        func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ cache: KVCache) throws -> Tensor {
            let batch = cache.batch
            try cache.append(keys: heads4(k, batch), values: heads4(v, batch))
            let attended = try Tensor.scaledDotProductAttention(
                query: heads4(q, batch), key: cache.keys, value: cache.values,
                mask: AttentionMask(isCausal: true, additive: keyMask))
            return try attended.permuted([0, 2, 1, 3]).reshaped([batch, time, d])
        }
        let merged: Tensor
        if caches.count == 1 {
            merged = try attend(parts[0], parts[1], parts[2], caches[0])
        } else {
            var row = 0
            var pieces: [Tensor] = []
            for cache in caches {
                let range = row..<(row + cache.batch)
                pieces.append(try attend(parts[0].sliced(axis: 0, range: range), parts[1].sliced(axis: 0, range: range),
                                         parts[2].sliced(axis: 0, range: range), cache))
                row += cache.batch
            }
            merged = try Tensor.concatenate(pieces, axis: 0)
        }
        let h = try x.adding(attentionProjection(merged))
        let mlp = try feedForwardProjection(feedForward(layerNorm2(h)).gelu(approximation: .tanh))
        return try h.adding(mlp)
    }
}
