import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// A Qwen3 causal language model as transformers 4.52.1 `Qwen3ForCausalLM` computes it (IndexTTS2's emotion-text
/// model `qwen0.6bemo4-merge` is one): token embedding, `num_hidden_layers` pre-norm decoder layers
/// (`x + attn(input_layernorm(x))`, then `+ mlp(post_attention_layernorm(x))`), final RMSNorm and the output head
/// (tied to the embedding or its own `lm_head`).
///
/// Attention is the shared ``MultiHeadAttention`` with separate `q/k/v/o_proj`, grouped key/value heads, per-head
/// q/k RMSNorm before the rotary embedding (`rotate_half` pairing, θ = `rope_theta`), causal masking and a
/// ``KVCache`` per layer; the MLP is the shared SwiGLU ``FeedForward`` (`gate_proj`, `up_proj`, `down_proj`).
///
/// Weights keep their stored precision by default: fp16 and bf16 checkpoints become fp16 matrices (bf16 rounded
/// to fp16 as upstream's `torch_dtype="float16"` load does; a tied head shares the embedding's one fp16 copy),
/// widened to fp32 inside the kernels; all arithmetic is fp32. Shapes: hidden states `[1, time, hidden]`, logits
/// `[positions, vocab]`. Immutable after load; per-request state lives in ``Qwen3CausalLM/State``.
/// port of transformers Qwen3ForCausalLM / Qwen3DecoderLayer / Qwen3Attention / Qwen3MLP / Qwen3RMSNorm (4.52.1)
public struct Qwen3CausalLM: Sendable {
    /// How weights are held after loading.
    public enum WeightPrecision: String, Sendable, CaseIterable {
        /// fp32 checkpoints stay fp32; fp16 and bf16 checkpoints become fp16.
        case stored
        /// Everything widened to fp32 (twice the memory of fp16; for comparisons).
        case float32
    }

    enum TokenTable: Sendable {
        case float32(Tensor)
        case float16(HalfMatrix)
    }

    struct Layer: Sendable {
        var attention: MultiHeadAttention
        var mlp: FeedForward
        let inputNorm: RMSNorm
        let postAttentionNorm: RMSNorm
    }

    public let configuration: Qwen3Configuration
    let embedding: TokenTable
    let layers: [Layer]
    let norm: RMSNorm
    let head: Linear
    let rotary: RotaryEmbedding
    /// The checkpoint's dtype (of `model.embed_tokens.weight`).
    public let storedDType: DType
    /// Whether the weights are held as fp16.
    public let isHalfPrecision: Bool

    /// Per-request decoding state: one KV cache per layer, `[1, keyValueHeads, capacity, headDim]`.
    public final class State {
        public let caches: [KVCache]
        public var length: Int { caches.first?.length ?? 0 }
        public var capacity: Int { caches.first?.capacity ?? 0 }
        init(caches: [KVCache]) { self.caches = caches }
    }

    /// Loads `model.safetensors` (or the file at `weightsPath`) with `configuration`.
    public static func load(weights weightsPath: String, configuration: Qwen3Configuration,
                            precision: WeightPrecision = .stored) throws -> Qwen3CausalLM {
        try load(from: WeightStore.open(path: weightsPath), configuration: configuration, precision: precision)
    }

    /// Builds the model from `store`, naming every missing, unexpected and misshapen key.
    public static func load(from store: WeightStore, configuration c: Qwen3Configuration,
                            precision: WeightPrecision = .stored) throws -> Qwen3CausalLM {
        try c.validate(source: "\(store.source) configuration")
        let embedKey = "model.embed_tokens.weight"
        let dtype = (try? store.entry(embedKey).dtype) ?? .float32
        let half = precision == .stored && (dtype == .float16 || dtype == .bfloat16)
        // A tied checkpoint saved with its (identical) lm_head copy loads as transformers does: the copy is unused.
        let ignoring = c.tieWordEmbeddings ? ["lm_head.weight"] : []
        return try ModuleLoader.load("Qwen3ForCausalLM", from: store, ignoring: ignoring) { loader in
            let h = c.hiddenSize, eps = Float(c.rmsNormEps)
            // (in a closure so that the fp32 copy of an fp16 table is released before the layers load)
            let embedding: TokenTable = try {
                let table = loader.tensor(embedKey, shape: [c.vocabSize, h])
                return half ? .float16(try HalfMatrix(table)) : .float32(table)
            }()
            var layers: [Layer] = []
            layers.reserveCapacity(c.numHiddenLayers)
            for i in 0..<c.numHiddenLayers {
                let l = loader.scoped("model.layers.\(i)")
                var attention = MultiHeadAttention(
                    l.scoped("self_attn"), dimensions: h, heads: c.numAttentionHeads, keyValueHeads: c.numKeyValueHeads,
                    headDimensions: c.headDim, query: "q_proj", key: "k_proj", value: "v_proj", output: "o_proj",
                    bias: c.attentionBias)
                var mlp = FeedForward.gated(l.scoped("mlp"), dimensions: h, hidden: c.intermediateSize,
                                            gate: "gate_proj", up: "up_proj", down: "down_proj")
                if half {
                    attention = try halved(attention)
                    mlp = try halved(mlp)
                }
                attention.headNorms = (RMSNorm(l.scoped("self_attn.q_norm"), dimensions: c.headDim, eps: eps),
                                       RMSNorm(l.scoped("self_attn.k_norm"), dimensions: c.headDim, eps: eps))
                layers.append(Layer(attention: attention, mlp: mlp,
                                    inputNorm: RMSNorm(l.scoped("input_layernorm"), dimensions: h, eps: eps),
                                    postAttentionNorm: RMSNorm(l.scoped("post_attention_layernorm"), dimensions: h, eps: eps)))
            }
            let norm = RMSNorm(loader.scoped("model.norm"), dimensions: h, eps: eps)
            let head: Linear
            if c.tieWordEmbeddings {
                switch embedding {
                case .float32(let t): head = Linear(weight: t, bias: nil)
                case .float16(let m): head = Linear(weights: .float16(m), bias: nil)
                }
            } else {
                let untied = Linear(loader.scoped("lm_head"), inFeatures: h, outFeatures: c.vocabSize, bias: false)
                head = half ? try untied.halfPrecision() : untied
            }
            return Qwen3CausalLM(configuration: c, embedding: embedding, layers: layers, norm: norm, head: head,
                                 rotary: RotaryEmbedding(dimensions: c.headDim, base: Float(c.ropeTheta), style: .halves),
                                 storedDType: dtype, isHalfPrecision: half)
        }
    }

    private static func halved(_ a: MultiHeadAttention) throws -> MultiHeadAttention {
        guard case .separate(let q, let k, let v) = a.projections else { return a }
        return MultiHeadAttention(projections: .separate(query: try q.halfPrecision(), key: try k.halfPrecision(),
                                                         value: try v.halfPrecision()),
                                  output: try a.output.halfPrecision(), heads: a.heads, keyValueHeads: a.keyValueHeads,
                                  headDimensions: a.headDimensions, scale: a.scale)
    }

    private static func halved(_ f: FeedForward) throws -> FeedForward {
        guard case .gated(let gate, let up, let down) = f.kind else { return f }
        return FeedForward(.gated(gate: try gate.halfPrecision(), up: try up.halfPrecision(), down: try down.halfPrecision()))
    }

    /// Bytes the weight matrices occupy (embedding counted once when tied).
    public var weightByteCount: Int {
        let c = configuration
        let table: Int
        switch embedding {
        case .float32(let t): table = t.count * 4
        case .float16(let m): table = m.byteCount
        }
        var total = table + (c.tieWordEmbeddings ? 0 : head.weightByteCount)
        for layer in layers {
            if case .separate(let q, let k, let v) = layer.attention.projections {
                total += q.weightByteCount + k.weightByteCount + v.weightByteCount
            }
            total += layer.attention.output.weightByteCount
            if case .gated(let g, let u, let d) = layer.mlp.kind {
                total += g.weightByteCount + u.weightByteCount + d.weightByteCount
            }
        }
        return total
    }

    /// Fresh decoding state with room for `capacity` positions.
    public func makeState(capacity: Int) throws -> State {
        guard capacity >= 1, capacity <= configuration.maxPositionEmbeddings else {
            throw ModelError.invalidInput(component: "Qwen3", reason:
                "capacity \(capacity) is outside 1...\(configuration.maxPositionEmbeddings) (max_position_embeddings)")
        }
        let c = configuration
        return State(caches: (0..<c.numHiddenLayers).map { _ in
            KVCache(batch: 1, heads: c.numKeyValueHeads, headDim: c.headDim, capacity: capacity)
        })
    }

    /// Embeddings of `ids`, `[1, ids.count, hidden]`.
    func embed(_ ids: [Int]) throws -> Tensor {
        if let bad = ids.first(where: { $0 < 0 || $0 >= configuration.vocabSize }) {
            throw ModelError.invalidInput(component: "Qwen3", reason: "token id \(bad) is outside 0..<\(configuration.vocabSize)")
        }
        let rows: Tensor
        switch embedding {
        case .float32(let table): rows = try Tensor.embedding(table, ids: ids)
        case .float16(let matrix): rows = try matrix.rows(ids)
        }
        return try rows.reshaped([1, ids.count, configuration.hiddenSize])
    }

    /// Runs the new tokens `ids` (positions `state.length…`) through the decoder, appending their keys and values to
    /// `state`. Returns logits `[ids.count, vocab]` when `allPositions`, else `[1, vocab]` for the last position (what
    /// `generate` computes).
    public func forward(_ ids: [Int], state: State, allPositions: Bool = false) throws -> Tensor {
        guard !ids.isEmpty else { throw ModelError.invalidInput(component: "Qwen3", reason: "no tokens") }
        guard state.caches.count == layers.count, state.length + ids.count <= state.capacity else {
            throw ModelError.invalidInput(component: "Qwen3", reason:
                "\(state.length) cached + \(ids.count) new positions exceed the state's capacity \(state.capacity)")
        }
        var x = try embed(ids)
        for (layer, cache) in zip(layers, state.caches) {
            let attended = try layer.attention(layer.inputNorm(x), rotary: rotary, mask: .causal, cache: cache)
            let h = try x.adding(attended)
            x = try h.adding(layer.mlp(layer.postAttentionNorm(h)))
        }
        var hidden = try x.reshaped([ids.count, configuration.hiddenSize])
        if !allPositions && ids.count > 1 {
            hidden = try hidden.sliced(axis: 0, range: (ids.count - 1)..<ids.count)
        }
        return try head(norm(hidden).contiguous())
    }

    /// Logits for every position of `ids` from an empty state, `[ids.count, vocab]`.
    public func logits(_ ids: [Int]) throws -> Tensor {
        try forward(ids, state: makeState(capacity: ids.count), allPositions: true)
    }
}
