import Foundation
import IndexTTSNN
import IndexTTSTensor

/// VITS's channel-wise LayerNorm (`modules.LayerNorm`): normalises `[1, C, T]` over C at every time step
/// (`gamma`/`beta`, eps 1e-5).
struct PiperChannelNorm: Sendable {
    let gamma: Tensor
    let beta: Tensor

    init(_ loader: ParameterLoader, channels: Int) {
        gamma = loader.tensor("gamma", shape: [channels])
        beta = loader.tensor("beta", shape: [channels])
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.transposed(1, 2).contiguous().layerNorm(weight: gamma, bias: beta, eps: 1e-5).transposed(1, 2).contiguous()
    }
}

/// VITS's `attentions.MultiHeadAttention` with relative positions (`window_size` 4, embeddings shared by the
/// heads), self-attention over `[1, C, T]` without padding (one utterance, every position valid):
///   score(i, j) = (q_i·k_j + q_i·E_k[j − i + w]) / √d   (the relative term only for |j − i| ≤ w)
///   out_i = Σ_j p(i, j)·(v_j + E_v[j − i + w])          (E_v only for |j − i| ≤ w)
struct PiperRelativeAttention: Sendable {
    /// conv_q, conv_k and conv_v stacked: `[3C, C, 1]` and `[3C]` (one product instead of three).
    let qkvWeight: Tensor
    let qkvBias: Tensor
    let o: Conv1d
    /// `[2w + 1, d]` key and value embeddings of the relative positions −w…w.
    let relativeKeys: Tensor
    let relativeValues: Tensor
    let heads: Int
    let window: Int

    init(_ loader: ParameterLoader, channels: Int, heads: Int, window: Int, graph: PiperGraphBinder) {
        let d = channels / heads
        let q = graph.conv(loader, "conv_q", in: channels, out: channels, kernel: 1)
        let k = graph.conv(loader, "conv_k", in: channels, out: channels, kernel: 1)
        let v = graph.conv(loader, "conv_v", in: channels, out: channels, kernel: 1)
        o = graph.conv(loader, "conv_o", in: channels, out: channels, kernel: 1)
        let zeros = Tensor.zeros([channels])
        qkvWeight = (try? Tensor.concatenate([q.weight, k.weight, v.weight], axis: 0)) ?? Tensor.zeros([3 * channels, channels, 1])
        qkvBias = (try? Tensor.concatenate([q.bias ?? zeros, k.bias ?? zeros, v.bias ?? zeros], axis: 0)) ?? Tensor.zeros([3 * channels])
        relativeKeys = loader.tensor("emb_rel_k", shape: [1, 2 * window + 1, d])
        relativeValues = loader.tensor("emb_rel_v", shape: [1, 2 * window + 1, d])
        self.heads = heads
        self.window = window
    }

    /// All heads at once as batched products over `[heads, …]` views (no per-head copies): scores Qᵀ·K plus the
    /// relative-key band (Qᵀ·E_kᵀ, `[heads, T, 2w+1]`), scaled and soft-maxed row by row; the output channel-major
    /// as V·Pᵀ plus E_vᵀ·Bᵀ, with B the band of P (`B[h, i, r + w] = P[h, i, i + r]`).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let channels = x.shape[1], t = x.shape[2], d = channels / heads, w = window, band = 2 * window + 1
        let qkv = try x.conv1d(weight: qkvWeight, bias: qkvBias)  // [1, 3C, T]
        let query = try qkv.sliced(axis: 1, range: 0..<channels).reshaped([heads, d, t])
        let key = try qkv.sliced(axis: 1, range: channels..<2 * channels).reshaped([heads, d, t])
        let value = try qkv.sliced(axis: 1, range: 2 * channels..<3 * channels).reshaped([heads, d, t])
        let queryRows = try query.transposed(1, 2)  // [H, T, d]
        let products = try queryRows.matmul(key).contiguous()  // [H, T, T]
        let relative = try queryRows.matmul(relativeKeys.transposed(1, 2)).contiguous()  // [H, T, 2w+1]
        let scale = 1 / Float(d).squareRoot()
        let logits = Tensor.make([heads, t, t]) { out in
            let dst = out.baseAddress!, src = products.basePointer, rel = relative.basePointer
            for row in 0..<heads * t {
                let i = row % t, o = dst + row * t, p = src + row * t, r = rel + row * band
                for j in 0..<t { o[j] = p[j] }
                for offset in max(-w, -i)...min(w, t - 1 - i) { o[i + offset] += r[offset + w] }
                for j in 0..<t { o[j] *= scale }
            }
        }
        let probabilities = try logits.softmax(axis: -1).contiguous()  // [H, T, T]
        let bandProbabilities = Tensor.make([heads, t, band]) { out in
            let dst = out.baseAddress!, p = probabilities.basePointer
            dst.update(repeating: 0, count: out.count)
            for row in 0..<heads * t {
                let i = row % t
                for offset in max(-w, -i)...min(w, t - 1 - i) { dst[row * band + offset + w] = p[row * t + i + offset] }
            }
        }
        let attended = try value.matmul(probabilities.transposed(1, 2))  // [H, d, T]
        let relativeValues = try self.relativeValues.transposed(1, 2).matmul(bandProbabilities.transposed(1, 2))  // [H, d, T]
        return try o(attended.adding(relativeValues).reshaped([1, channels, t]))
    }
}

/// VITS's text encoder (`TextEncoder` + `attentions.Encoder`): embedding ×√C, six post-norm blocks of relative
/// attention and a two-conv ReLU feed-forward (kernel 3), then a 1×1 projection to the prior's mean and log-scale.
/// `[T] ids → x [1, C, T]` (the hidden state the duration predictor reads), `m`, `logs` `[1, C, T]`.
struct PiperTextEncoder: Sendable {
    struct Block: Sendable {
        let attention: PiperRelativeAttention
        let norm1: PiperChannelNorm
        let ffn1: Conv1d
        let ffn2: Conv1d
        let norm2: PiperChannelNorm
    }

    let embedding: Tensor
    let blocks: [Block]
    let projection: Conv1d
    let channels: Int

    init(_ loader: ParameterLoader, configuration c: PiperVITSConfiguration, graph: PiperGraphBinder) {
        let channels = c.hiddenChannels
        embedding = loader.tensor("emb.weight", shape: [c.symbols, channels])
        let encoder = loader.scoped("encoder")
        blocks = (0..<c.encoderLayers).map { i in
            // The feed-forward pads explicitly (a Pad node before each Conv), "same" for its odd kernel.
            let ffn = encoder.scoped("ffn_layers.\(i)"), k = c.encoderKernel
            return Block(
                attention: PiperRelativeAttention(encoder.scoped("attn_layers.\(i)"), channels: channels,
                                                  heads: c.encoderHeads, window: c.encoderWindow, graph: graph),
                norm1: PiperChannelNorm(encoder.scoped("norm_layers_1.\(i)"), channels: channels),
                ffn1: graph.conv(ffn, "conv_1", in: channels, out: c.encoderFilterChannels, kernel: k, padding: (k - 1) / 2),
                ffn2: graph.conv(ffn, "conv_2", in: c.encoderFilterChannels, out: channels, kernel: k, padding: (k - 1) / 2),
                norm2: PiperChannelNorm(encoder.scoped("norm_layers_2.\(i)"), channels: channels))
        }
        projection = graph.conv(loader, "proj", in: channels, out: 2 * c.interChannels, kernel: 1)
        self.channels = channels
    }

    func callAsFunction(_ ids: [Int]) throws -> (x: Tensor, m: Tensor, logs: Tensor) {
        var x = try Tensor.embedding(embedding, ids: ids).affine(scale: Float(channels).squareRoot())
            .transposed(0, 1).contiguous().unsqueezed(0)  // [1, C, T]
        for block in blocks {
            x = try block.norm1(x.adding(block.attention(x)))
            let y = try block.ffn2(block.ffn1(x).relu())
            x = try block.norm2(x.adding(y))
        }
        let stats = try projection(x)
        let half = stats.shape[1] / 2
        let halves = try stats.split(sizes: [half, half], axis: 1)
        return (x, halves[0].contiguous(), halves[1].contiguous())
    }
}
