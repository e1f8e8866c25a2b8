import IndexTTSNN
import IndexTTSTensor

/// w2v-BERT's self-attention with `relative_key` position bias (`Wav2Vec2BertSelfAttention`) on the shared
/// ``IndexTTSNN/MultiHeadAttention`` block: scaled dot-product scores plus, for query `l` and key `r`,
/// `q_l · E[clamp(r − l, −left, right) + left] / √d`, where `E` is the layer's `distance_embedding`
/// (`left + right + 1` rows of one head's width, shared by the heads), supplied through the block's score-bias hook.
struct W2VBertSelfAttention: Sendable {
    var attention: MultiHeadAttention
    let positionBias: RelativeKeyBias

    init(_ loader: ParameterLoader, configuration c: W2VBertConfiguration) {
        attention = MultiHeadAttention(loader, dimensions: c.hiddenSize, heads: c.numAttentionHeads,
                                       query: "linear_q", key: "linear_k", value: "linear_v", output: "linear_out", bias: true)
        positionBias = RelativeKeyBias(
            table: loader.scoped("distance_embedding").tensor("weight", shape: [c.relativePositions, c.headSize]),
            left: c.leftMaxPositionEmbeddings, right: c.rightMaxPositionEmbeddings)
    }

    /// `[batch, frames, hidden]` → `[batch, frames, hidden]`; padded keys masked out (−∞ written into the bias
    /// itself, so no second `[batch, heads, frames, frames]` tensor is needed for the mask).
    func callAsFunction(_ x: Tensor, mask: W2VBertMask) throws -> Tensor {
        let bias = positionBias
        let valid = mask.valid
        return try attention(x, scoreBias: { q, keys in try bias(q, keyCount: keys, validKeys: valid) })
    }
}

/// transformers' `relative_key` score term, `einsum("bhld,lrd->bhlr", q, E[clamp(r − l) + left]) / √d`, computed as
/// one GEMM of the queries against the `left + right + 1` embeddings followed by a gather along the clamped bands
/// (keys further left than `left` share row 0, further right than `right` the last row).
struct RelativeKeyBias: Sendable {
    /// `[left + right + 1, head_size]`.
    let table: Tensor
    let left: Int
    let right: Int

    /// Queries `[batch, heads, frames, head_size]` → bias `[batch, heads, frames, keyCount]`, −∞ at keys that
    /// `validKeys` (per batch item, when given) marks as padding.
    func callAsFunction(_ q: Tensor, keyCount: Int, validKeys: [[Bool]]? = nil) throws -> Tensor {
        let (batch, heads, frames) = (q.shape[0], q.shape[1], q.shape[2])
        let positions = table.shape[0]
        let projected = try q.linear(weight: table).contiguous()  // [batch, heads, frames, positions]
        let scale = Float(table.shape[1]).squareRoot()
        return withExtendedLifetime(projected) {
            Tensor.make([batch, heads, frames, keyCount]) { out in
                let src = UnsafePointer(projected.basePointer), dst = out.baseAddress!
                Parallel.forEachChunk(count: batch * heads * frames, minimumChunk: max(1, 4096 / max(keyCount, 1))) { rows in
                    for row in rows {
                        let l = row % frames
                        let weights = src + row * positions, o = dst + row * keyCount
                        let leftEdge = weights[0] / scale, rightEdge = weights[positions - 1] / scale
                        let firstBand = min(keyCount, max(0, l - left)), endBand = max(firstBand, min(keyCount, l + right + 1))
                        for r in 0..<firstBand { o[r] = leftEdge }
                        for r in firstBand..<endBand { o[r] = weights[r - l + left] / scale }
                        for r in endBand..<keyCount { o[r] = rightEdge }
                        if let validKeys {
                            let valid = validKeys[row / (heads * frames)]
                            for r in 0..<keyCount where !valid[r] { o[r] = -.infinity }
                        }
                    }
                }
            }
        }
    }
}
