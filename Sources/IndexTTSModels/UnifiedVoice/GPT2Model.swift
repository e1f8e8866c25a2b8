import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// The GPT-2 transformer at the heart of UnifiedVoice: a stack of ``GPT2Block``s and the final `ln_f`, fed with
/// embeddings (IndexTTS2 deletes `wte` and replaces `wpe` by zeros, adding its own learned positions outside).
/// Weights are read by their verbatim `gpt.*` keys. Immutable after load; decoding state lives in ``State``.
public struct GPT2Model: Sendable {
    public let configuration: GPT2Configuration
    private(set) var blocks: [GPT2Block]
    let finalNorm: LayerNorm

    /// Per-request decoding state: one KV cache per layer.
    public final class State {
        public let caches: [KVCache]
        /// Positions consumed so far.
        public var length: Int { caches.first?.length ?? 0 }

        init(caches: [KVCache]) {
            self.caches = caches
        }

        /// Keeps only the batch items `indices` (beam search reordering).
        public func reorder(_ indices: [Int]) throws {
            for cache in caches { try cache.reorder(batchIndices: indices) }
        }

        /// A state of `batch` sequences that each continue this single-sequence state (a prompt shared by beams).
        public func broadcast(toBatch batch: Int) throws -> State {
            State(caches: try caches.map { try $0.broadcast(toBatch: batch) })
        }

        /// Forgets positions at and after `length` in every layer (continuing from a shared prefix).
        public func truncate(to length: Int) throws {
            for cache in caches { try cache.truncate(to: length) }
        }

        /// Positions each layer's cache can hold.
        public var capacity: Int { caches.first?.capacity ?? 0 }
        /// Sequences held.
        public var batch: Int { caches.first?.batch ?? 0 }
    }

    /// Loads the core from `loader` scoped at the model's `gpt` prefix.
    public init(_ loader: ParameterLoader, configuration: GPT2Configuration) throws {
        guard configuration.heads > 0, configuration.modelDimension % configuration.heads == 0 else {
            throw TensorError.invalidArgument(
                operation: "GPT2Model", message: "model_dim \(configuration.modelDimension) not divisible by \(configuration.heads) heads")
        }
        self.configuration = configuration
        blocks = (0..<configuration.layers).map { GPT2Block(loader.scoped("h.\($0)"), configuration) }
        finalNorm = LayerNorm(loader.scoped("ln_f"), dimensions: configuration.modelDimension, eps: configuration.layerNormEpsilon)
    }

    /// Loads `gpt.*` from a checkpoint store (keys under `prefix`, e.g. "model." for a wrapped state dict),
    /// verifying that every `gpt.*` key is used and none is missing.
    public static func load(from store: WeightStore, prefix: String = "", configuration: GPT2Configuration) throws -> GPT2Model {
        try ModuleLoader.load("UnifiedVoice.gpt", from: store, prefix: prefix + "gpt.") { loader in
            try GPT2Model(loader, configuration: configuration)
        }
    }

    /// The model with fp16 projection weights: half the bytes per decoded token (norms and biases stay fp32).
    /// Outputs move by about 1e-3 relative (see `GPT2ModelTests`).
    /// - Parameter afterEachBlock: called after each block is converted (a loader lets the fp32 source pages go
    ///   there, so that load never holds both copies of the whole stack).
    public func halfPrecision(afterEachBlock: () -> Void = {}) throws -> GPT2Model {
        var model = self
        model.blocks = try blocks.map { block in
            defer { afterEachBlock() }
            return try block.halfPrecision()
        }
        return model
    }

    /// Bytes of projection weights read per decoded token.
    public var projectionWeightBytes: Int { blocks.reduce(0) { $0 + $1.weightByteCount } }

    /// Fresh decoding state for `batch` sequences of up to `capacity` positions.
    public func makeState(batch: Int, capacity: Int) -> State {
        State(caches: blocks.map { _ in
            KVCache(batch: batch, heads: configuration.heads, headDim: configuration.headDimension, capacity: capacity)
        })
    }

    /// Runs `embeddings` `[batch, time, dim]` through the stack after what `state` already holds, returning the
    /// hidden states after `ln_f`, `[batch, time, dim]`.
    /// - Parameter attentionMask: `[batch, totalLength]` with 1 for real positions and 0 for padding, covering the
    ///   cached positions and the new ones (HF `attention_mask`); nil attends everywhere (causally).
    public func callAsFunction(_ embeddings: Tensor, state: State, attentionMask: Tensor? = nil) throws -> Tensor {
        guard embeddings.rank == 3, embeddings.shape[2] == configuration.modelDimension,
              embeddings.shape[0] == state.caches.first?.batch else {
            throw TensorError.shapeMismatch(
                operation: "GPT2Model", message: "embeddings \(embeddings.shape) for width \(configuration.modelDimension), batch \(state.caches.first?.batch ?? 0)")
        }
        var keyMask: Tensor?
        if let attentionMask {
            let total = state.length + embeddings.shape[1]
            guard attentionMask.shape == [embeddings.shape[0], total] else {
                throw TensorError.shapeMismatch(
                    operation: "GPT2Model", message: "attention mask \(attentionMask.shape), expected [\(embeddings.shape[0]), \(total)]")
            }
            // [B, Tk] of 0/1 → additive [B, 1, 1, Tk]
            keyMask = AttentionMask.allowing(try attentionMask.reshaped([embeddings.shape[0], 1, 1, total])).additive
        }
        var h = embeddings
        for (block, cache) in zip(blocks, state.caches) {
            h = try block(h, cache: cache, keyMask: keyMask)
        }
        return try finalNorm(h)
    }

    /// Several requests' decoding at once: `embeddings` `[Σ batch, time, dim]` holds each state's `batch` rows in
    /// order; every block's projections and MLP multiply all rows in one pass over the weights, attention runs per
    /// state over its own cached positions (lengths may differ). Row for row the same as running each state alone
    /// (the products' per-row sums may round differently when a different kernel serves the larger row count).
    /// Returns the hidden states after `ln_f`, `[Σ batch, time, dim]`.
    public func callAsFunction(_ embeddings: Tensor, states: [State]) throws -> Tensor {
        let rows = states.reduce(0) { $0 + ($1.caches.first?.batch ?? 0) }
        guard embeddings.rank == 3, embeddings.shape[2] == configuration.modelDimension, embeddings.shape[0] == rows,
              !states.isEmpty, states.allSatisfy({ $0.caches.count == blocks.count }),
              Set(states.map(ObjectIdentifier.init)).count == states.count else {
            throw TensorError.shapeMismatch(
                operation: "GPT2Model", message: "embeddings \(embeddings.shape) for width \(configuration.modelDimension), \(states.count) distinct states of \(rows) rows in all")
        }
        // Checked before any cache is written, so that a failing pass leaves no request's state half-advanced.
        if let full = states.first(where: { state in state.caches.contains { $0.length + embeddings.shape[1] > $0.capacity } }) {
            throw TensorError.invalidArgument(
                operation: "GPT2Model", message: "\(full.length) + \(embeddings.shape[1]) positions exceed a cache's capacity")
        }
        if states.count == 1 { return try self(embeddings, state: states[0]) }
        var h = embeddings
        for (index, block) in blocks.enumerated() {
            h = try block(h, caches: states.map { $0.caches[index] }, keyMask: nil)
        }
        return try finalNorm(h)
    }
}
