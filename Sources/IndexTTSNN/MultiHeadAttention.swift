import IndexTTSTensor

/// Multi-head attention, the one home for the attention block of every transformer in the project (DiT, conformers,
/// codec). Inputs and outputs are `[batch, time, channels]`.
///
/// `y = out(attention(q(x), k(c), v(c)))` with `c = context ?? x`, heads split on the channel axis
/// (`[batch, time, heads·headDim] → [batch, heads, time, headDim]`), optional rotary embedding on queries and keys,
/// scores `q·kᵀ·scale + mask + scoreBias(q)` and softmax over keys.
///
/// Projections are three `Linear`s, or one fused `Linear` whose output is `[q | k | v]` along the feature axis (as
/// gpt-fast's `wqkv` and HF's `c_attn`); either may carry biases. Keys and values may have fewer heads than queries
/// (grouped-query attention); each key head then serves `heads / keyValueHeads` consecutive query heads
/// (`repeat_interleave`, as gpt-fast).
public struct MultiHeadAttention: Sendable {
    /// The input projections.
    public enum Projections: Sendable {
        /// One `Linear` producing `[q | k | v]` (`heads·headDim + 2·keyValueHeads·headDim` features). Self-attention only.
        case fused(Linear)
        /// Separate query, key and value `Linear`s.
        case separate(query: Linear, key: Linear, value: Linear)
    }

    /// Adds a query-dependent bias to the (already scaled) scores: receives the projected (and rotated) queries
    /// `[batch, heads, Lq, headDim]` and the key count `Lk`, returns a tensor broadcastable to `[batch, heads, Lq, Lk]`.
    /// Used for relative position biases such as w2v-BERT's `relative_key` (`einsum(q, E[dist]) / √d`).
    public typealias ScoreBias = @Sendable (_ queries: Tensor, _ keyCount: Int) throws -> Tensor

    public let projections: Projections
    public let output: Linear
    public let heads: Int
    public let keyValueHeads: Int
    public let headDimensions: Int
    /// Score scale; nil means 1/√headDim.
    public let scale: Float?
    /// Per-head RMS norms of the projected queries and keys, applied over `headDim` before the rotary embedding
    /// (Qwen3's `q_norm`/`k_norm`); nil for none.
    public var headNorms: (query: RMSNorm, key: RMSNorm)?
    /// Arithmetic of the score and value products (``ComputePrecision``); ``bfloat16()`` sets it with the projections.
    public var precision: ComputePrecision = .float32

    public init(projections: Projections, output: Linear, heads: Int, keyValueHeads: Int? = nil, headDimensions: Int,
                scale: Float? = nil) {
        self.projections = projections
        self.output = output
        self.heads = heads
        self.keyValueHeads = keyValueHeads ?? heads
        self.headDimensions = headDimensions
        self.scale = scale
    }

    /// Loads a fused-projection block: `fused` (`weight [heads·d + 2·kvHeads·d, dim]`) and `output`
    /// (`weight [dim, heads·d]`), e.g. gpt-fast's `wqkv`/`wo`.
    public init(_ loader: ParameterLoader, dimensions: Int, heads: Int, keyValueHeads: Int? = nil, headDimensions: Int? = nil,
                fused: String, output: String, bias: Bool) {
        let d = headDimensions ?? dimensions / max(heads, 1)
        let kv = keyValueHeads ?? heads
        self.init(projections: .fused(Linear(loader.scoped(fused), inFeatures: dimensions, outFeatures: (heads + 2 * kv) * d, bias: bias)),
                  output: Linear(loader.scoped(output), inFeatures: heads * d, outFeatures: dimensions, bias: bias),
                  heads: heads, keyValueHeads: kv, headDimensions: d)
    }

    /// Loads a block with separate projections named `query`, `key`, `value`, `output` (e.g. `linear_q`, …).
    /// `contextDimensions` is the key/value input width for cross-attention (default `dimensions`).
    public init(_ loader: ParameterLoader, dimensions: Int, heads: Int, keyValueHeads: Int? = nil, headDimensions: Int? = nil,
                contextDimensions: Int? = nil, query: String, key: String, value: String, output: String, bias: Bool) {
        let d = headDimensions ?? dimensions / max(heads, 1)
        let kv = keyValueHeads ?? heads
        let c = contextDimensions ?? dimensions
        self.init(projections: .separate(query: Linear(loader.scoped(query), inFeatures: dimensions, outFeatures: heads * d, bias: bias),
                                         key: Linear(loader.scoped(key), inFeatures: c, outFeatures: kv * d, bias: bias),
                                         value: Linear(loader.scoped(value), inFeatures: c, outFeatures: kv * d, bias: bias)),
                  output: Linear(loader.scoped(output), inFeatures: heads * d, outFeatures: dimensions, bias: bias),
                  heads: heads, keyValueHeads: kv, headDimensions: d)
    }

    /// - Parameters:
    ///   - x: `[batch, Lq, dim]`.
    ///   - context: `[batch, Lk, contextDim]` for cross-attention (separate projections only); nil for self-attention.
    ///   - rotary: rotary embedding applied to queries and keys (nil: none). Its `style` decides the pairing
    ///     (`.interleaved` for gpt-fast/DiT, `.halves` for Llama-style).
    ///   - queryPositions / keyPositions: absolute positions for the rotary embedding (default `0..<L`).
    ///   - mask: causal / key-padding / additive masking (see ``AttentionMask``).
    ///   - scoreBias: optional query-dependent additive score bias (see ``ScoreBias``).
    ///   - cache: self-attention KV cache (`[batch, keyValueHeads, capacity, headDim]`): the new keys (normed and
    ///     rotated) and values are appended and attention runs over everything cached. Positions then default to
    ///     `cache.length ..< cache.length + Lq`; use a causal mask (aligned to the end of the keys).
    ///   - queryRows: self-attention only, no cache: attend from these rows of `x` only (keys and values still come
    ///     from every row); the result has `queryRows.count` rows, equal to those rows of the full result. For a
    ///     caller that needs only part of the output (the DiT's last layer). `queryPositions` then names the
    ///     positions of these rows (default: the rows' own indices).
    ///   - residual: added to the output (`[batch, Lq, dim]`, the residual stream of a pre-norm block): the output
    ///     projection accumulates onto it (`Linear`'s `adding:` forms).
    /// - Returns: `[batch, Lq, dim]` (`Lq = queryRows.count` when given).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, rotary: RotaryEmbedding? = nil,
                               queryPositions: [Int]? = nil, keyPositions: [Int]? = nil,
                               mask: AttentionMask = .none, scoreBias: ScoreBias? = nil,
                               cache: KVCache? = nil, queryRows: Range<Int>? = nil, adding residual: Tensor? = nil) throws -> Tensor {
        try attend(x.shape, project: { try $0(x) }, context: context, rotary: rotary, queryPositions: queryPositions,
                   keyPositions: keyPositions, mask: mask, scoreBias: scoreBias, cache: cache, queryRows: queryRows,
                   residual: residual)
    }

    /// Self-attention of activations already rounded to bfloat16 (``BFloat16Rows`` `[batch, L, dim]`, e.g. from
    /// ``Tensor/rmsNormModulated(bfloat16:eps:scale:scaleOffset:shift:shiftOffset:)``): bfloat16 projections read
    /// them as they are. Otherwise as
    /// ``callAsFunction(_:context:rotary:queryPositions:keyPositions:mask:scoreBias:cache:queryRows:adding:)``.
    public func callAsFunction(_ x: BFloat16Rows, rotary: RotaryEmbedding? = nil, queryPositions: [Int]? = nil,
                               keyPositions: [Int]? = nil, mask: AttentionMask = .none, cache: KVCache? = nil,
                               queryRows: Range<Int>? = nil, adding residual: Tensor? = nil) throws -> Tensor {
        try attend(x.shape, project: { try $0(x) }, context: nil, rotary: rotary, queryPositions: queryPositions,
                   keyPositions: keyPositions, mask: mask, scoreBias: nil, cache: cache, queryRows: queryRows,
                   residual: residual)
    }

    /// The block on an input of `shape` whose projections `project(linear)` computes.
    private func attend(_ shape: [Int], project: (Linear) throws -> Tensor, context: Tensor?, rotary: RotaryEmbedding?,
                        queryPositions: [Int]?, keyPositions: [Int]?, mask: AttentionMask, scoreBias: ScoreBias?,
                        cache: KVCache?, queryRows: Range<Int>?, residual: Tensor?) throws -> Tensor {
        guard shape.count == 3, context.map({ $0.rank == 3 && $0.shape[0] == shape[0] }) ?? true,
              heads > 0, keyValueHeads > 0, heads % keyValueHeads == 0 else {
            throw TensorError.shapeMismatch(operation: "MultiHeadAttention",
                                            message: "input \(shape), context \(context?.shape ?? []), heads \(heads)/\(keyValueHeads)")
        }
        let batch = shape[0]
        var lq = shape[1]
        if let queryRows {
            guard context == nil, cache == nil, queryRows.lowerBound >= 0, queryRows.upperBound <= lq, !queryRows.isEmpty else {
                throw TensorError.invalidArgument(
                    operation: "MultiHeadAttention",
                    message: "query rows \(queryRows) of \(lq) (self-attention without a cache only)")
            }
        }
        let d = headDimensions
        var q: Tensor, k: Tensor, v: Tensor
        switch projections {
        case .fused(let linear):
            guard context == nil else {
                throw TensorError.invalidArgument(operation: "MultiHeadAttention", message: "fused projections cannot take a context")
            }
            let parts = try project(linear).split(sizes: [heads * d, keyValueHeads * d, keyValueHeads * d], axis: 2)
            (q, k, v) = (parts[0], parts[1], parts[2])
        case .separate(let query, let key, let value):
            q = try project(query)
            if let context {
                (k, v) = (try key(context), try value(context))
            } else {
                (k, v) = (try project(key), try project(value))
            }
        }
        var lk = k.shape[1]
        if let queryRows {
            q = try q.sliced(axis: 1, range: queryRows)
            lq = queryRows.count
        }
        if cache != nil && context != nil {
            throw TensorError.invalidArgument(operation: "MultiHeadAttention", message: "a KV cache is for self-attention only")
        }
        // [batch, L, heads·d] → [batch, heads, L, d], views of the projections' output
        q = try q.unflattened(axis: 2, into: [heads, d])
        k = try k.unflattened(axis: 2, into: [keyValueHeads, d])
        if let headNorms {
            q = try headNorms.query(q)
            k = try headNorms.key(k)
        }
        q = try q.permuted([0, 2, 1, 3])
        k = try k.permuted([0, 2, 1, 3])
        v = try v.unflattened(axis: 2, into: [keyValueHeads, d]).permuted([0, 2, 1, 3])
        let offset = cache?.length ?? 0
        let rotatedQueries = queryPositions ?? queryRows.map { Array($0) } ?? Array(offset..<(offset + lq))
        let rotatedKeys = keyPositions ?? Array(offset..<(offset + lk))
        // Without a cache or a score bias (both need the rotated keys or queries themselves) the attention applies the
        // rotation, fused into the bfloat16 kernel where that runs.
        let rotaryInAttention = cache == nil && scoreBias == nil && keyValueHeads == heads ? rotary : nil
        if let rotary, rotaryInAttention == nil {
            q = try rotary.apply(q, positions: rotatedQueries)
            k = try rotary.apply(k, positions: rotatedKeys)
        }
        if let cache {
            try cache.append(keys: k, values: v)
            (k, v) = (cache.keys, cache.values)
            lk = cache.length
        }
        if keyValueHeads != heads {
            let repeats = heads / keyValueHeads
            k = try Self.repeatHeads(k, repeats)
            v = try Self.repeatHeads(v, repeats)
        }
        var mask = mask
        if let scoreBias {
            let bias = try scoreBias(q.contiguous(), lk)
            mask.additive = try mask.additive.map { try $0.adding(bias) } ?? bias
        }
        // A bfloat16 output projection takes the kernel's heads merged and rounded as they are written.
        if precision == .bfloat16, case .bfloat16 = output.weights,
           let merged = try Tensor.mergedBFloat16Attention(query: q, key: k, value: v, mask: mask, scale: scale,
                                                           rotary: rotaryInAttention,
                                                           queryPositions: rotaryInAttention == nil ? nil : rotatedQueries,
                                                           keyPositions: rotaryInAttention == nil ? nil : rotatedKeys) {
            return try residual.map { try output(merged, adding: $0) } ?? output(merged)
        }
        let y = try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, scale: scale, precision: precision,
                                                     rotary: rotaryInAttention,
                                                     queryPositions: rotaryInAttention == nil ? nil : rotatedQueries,
                                                     keyPositions: rotaryInAttention == nil ? nil : rotatedKeys)
        let merged = try y.permuted([0, 2, 1, 3]).contiguous().reshaped([batch, lq, heads * d])
        return try residual.map { try output(merged, adding: $0) } ?? output(merged)
    }

    /// The same block with bfloat16 projections and products (``ComputePrecision``).
    public func bfloat16() throws -> MultiHeadAttention {
        let converted: Projections
        switch projections {
        case .fused(let linear): converted = .fused(try linear.bfloat16())
        case .separate(let query, let key, let value):
            converted = .separate(query: try query.bfloat16(), key: try key.bfloat16(), value: try value.bfloat16())
        }
        var block = MultiHeadAttention(projections: converted, output: try output.bfloat16(), heads: heads,
                                       keyValueHeads: keyValueHeads, headDimensions: headDimensions, scale: scale)
        block.headNorms = headNorms
        block.precision = .bfloat16
        return block
    }

    /// `[b, kvHeads, L, d] → [b, kvHeads·repeats, L, d]`, each head repeated `repeats` times consecutively.
    static func repeatHeads(_ x: Tensor, _ repeats: Int) throws -> Tensor {
        let (b, h, l, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return try x.unsqueezed(2).expanded(to: [b, h, repeats, l, d]).contiguous().reshaped([b, h * repeats, l, d])
    }
}
