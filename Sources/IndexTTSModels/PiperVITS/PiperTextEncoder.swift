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
    let q: Conv1d
    let k: Conv1d
    let v: Conv1d
    let o: Conv1d
    /// `[2w + 1, d]` key and value embeddings of the relative positions −w…w.
    let relativeKeys: Tensor
    let relativeValues: Tensor
    let heads: Int
    let window: Int

    init(_ loader: ParameterLoader, channels: Int, heads: Int, window: Int, graph: PiperGraphBinder) {
        let d = channels / heads
        q = graph.conv(loader, "conv_q", in: channels, out: channels, kernel: 1)
        k = graph.conv(loader, "conv_k", in: channels, out: channels, kernel: 1)
        v = graph.conv(loader, "conv_v", in: channels, out: channels, kernel: 1)
        o = graph.conv(loader, "conv_o", in: channels, out: channels, kernel: 1)
        relativeKeys = loader.tensor("emb_rel_k", shape: [1, 2 * window + 1, d])
        relativeValues = loader.tensor("emb_rel_v", shape: [1, 2 * window + 1, d])
        self.heads = heads
        self.window = window
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let channels = x.shape[1], t = x.shape[2], d = channels / heads, w = window
        let query = try q(x), key = try k(x), value = try v(x)
        let scale = 1 / Float(d).squareRoot()
        let ek = relativeKeys.scalars, ev = relativeValues.scalars
        var outputs: [Tensor] = []
        for h in 0..<self.heads {
            let range = h * d..<(h + 1) * d
            let qh = try query.selected(axis: 0, index: 0).sliced(axis: 0, range: range).contiguous()  // [d, T]
            let kh = try key.selected(axis: 0, index: 0).sliced(axis: 0, range: range)
            let vh = try value.selected(axis: 0, index: 0).sliced(axis: 0, range: range)
            let qs = qh.scalars
            var scores = try qh.transposed(0, 1).matmul(kh).scalars  // [T, T]
            for i in 0..<t {
                for r in -w...w where i + r >= 0 && i + r < t {
                    var dot: Float = 0
                    for c in 0..<d { dot += qs[c * t + i] * ek[(r + w) * d + c] }
                    scores[i * t + i + r] += dot
                }
            }
            for i in 0..<t * t { scores[i] *= scale }
            let p = try Tensor(shape: [t, t], scalars: scores).softmax(axis: -1)
            var out = try p.matmul(vh.transposed(0, 1)).scalars  // [T, d]
            let ps = p.scalars
            for i in 0..<t {
                for r in -w...w where i + r >= 0 && i + r < t {
                    let weight = ps[i * t + i + r]
                    for c in 0..<d { out[i * d + c] += weight * ev[(r + w) * d + c] }
                }
            }
            outputs.append(try Tensor(shape: [t, d], scalars: out).transposed(0, 1))  // [d, T]
        }
        return try o(Tensor.concatenate(outputs, axis: 0).unsqueezed(0))
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
