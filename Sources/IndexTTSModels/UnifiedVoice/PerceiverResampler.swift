import IndexTTSNN
import IndexTTSTensor

/// `indextts/gpt/perceiver.py::PerceiverResampler` (depth 2, 64-wide heads): learned latents cross-attend to
/// `[latents; proj_context(context)]`, each layer followed by a GEGLU feed-forward (exact-erf GELU on the gate),
/// then an RMS norm computed as `F.normalize(x)·√dim·γ`. Maps `[batch, T, contextDim]` to `[batch, latents, dim]`.
/// The key-padding mask (`cond_mask_pad`: latents always valid, then the conformer's frame mask) is applied when
/// `validFrames` is below the context length.
struct PerceiverResampler: Sendable {
    struct Layer: Sendable {
        let query: Linear
        let keyValue: Linear
        let output: Linear
        let feedForwardIn: Linear
        let feedForwardOut: Linear
    }

    let dim: Int
    let heads: Int
    let headDim = 64
    let projectContext: Linear?
    /// `[latents, dim]`.
    let latents: Tensor
    let layers: [Layer]
    /// `[dim]`.
    let gamma: Tensor

    init(_ loader: ParameterLoader, dim: Int, contextDim: Int, latents count: Int, heads: Int, feedForwardMult: Int, depth: Int = 2) {
        self.dim = dim
        self.heads = heads
        projectContext = contextDim == dim ? nil : Linear(loader.scoped("proj_context"), inFeatures: contextDim, outFeatures: dim)
        latents = loader.tensor("latents", shape: [count, dim])
        let inner = headDim * heads
        let feedForwardInner = dim * feedForwardMult * 2 / 3  // int(dim · mult · 2/3)
        layers = (0..<depth).map { i in
            let l = loader.scoped("layers.\(i)")
            return Layer(query: Linear(l.scoped("0.to_q"), inFeatures: dim, outFeatures: inner, bias: false),
                         keyValue: Linear(l.scoped("0.to_kv"), inFeatures: dim, outFeatures: 2 * inner, bias: false),
                         output: Linear(l.scoped("0.to_out"), inFeatures: inner, outFeatures: dim, bias: false),
                         feedForwardIn: Linear(l.scoped("1.0"), inFeatures: dim, outFeatures: 2 * feedForwardInner),
                         feedForwardOut: Linear(l.scoped("1.2"), inFeatures: feedForwardInner, outFeatures: dim))
        }
        gamma = loader.tensor("norm.gamma", shape: [dim])
    }

    /// `[batch, T, contextDim]` → `[batch, latents, dim]`.
    func callAsFunction(_ context: Tensor, validFrames: Int? = nil) throws -> Tensor {
        let batch = context.shape[0]
        let x = try projectContext.map { try $0(context) } ?? context
        let count = latents.shape[0]
        var h = try latents.unsqueezed(0).expanded(to: [batch, count, dim]).contiguous()
        let inner = headDim * heads
        let mask = validFrames.map {
            $0 < context.shape[1] ? AttentionMask(keyLengths: Array(repeating: count + $0, count: batch)) : .none
        } ?? .none
        func heads4(_ t: Tensor) throws -> Tensor {  // [B, N, H·64] → [B, H, N, 64]
            try t.reshaped([batch, t.shape[1], heads, headDim]).permuted([0, 2, 1, 3])
        }
        for layer in layers {
            let source = try Tensor.concatenate([h, x], axis: 1)
            let kv = try layer.keyValue(source).split(sizes: [inner, inner], axis: 2)
            let attended = try Tensor.scaledDotProductAttention(query: heads4(layer.query(h)), key: heads4(kv[0]),
                                                                value: heads4(kv[1]), mask: mask)
            let merged = try attended.permuted([0, 2, 1, 3]).reshaped([batch, count, inner])
            h = try h.adding(layer.output(merged))
            let projected = try layer.feedForwardIn(h)
            let half = projected.shape[2] / 2
            let parts = try projected.split(sizes: [half, half], axis: 2)
            h = try h.adding(layer.feedForwardOut(parts[1].gelu(approximation: .none).multiplying(parts[0])))
        }
        // F.normalize(h, dim=-1) · √dim · γ, with normalize's ‖x‖ clamped at 1e-12.
        let scale = Float(dim).squareRoot()
        return Tensor.make(h.shape) { out in
            h.contiguous().withUnsafeBufferPointer { src in
                gamma.withUnsafeBufferPointer { g in
                    for row in 0..<(src.count / dim) {
                        var sum: Float = 0
                        for j in 0..<dim { sum += src[row * dim + j] * src[row * dim + j] }
                        let factor = scale / max(sum.squareRoot(), 1e-12)
                        for j in 0..<dim { out[row * dim + j] = src[row * dim + j] * factor * g[j] }
                    }
                }
            }
        }
    }
}
