import IndexTTSTensor

/// Position-wise feed-forward block of a transformer, `[batch, time, dim] → [batch, time, dim]` (any leading axes).
///
/// - ``Kind/gated``: SwiGLU, `w2(silu(w1·x) ⊙ w3·x)` (Llama, gpt-fast, the S2M DiT).
/// - ``Kind/plain``: `out(activation(in·x))` (conformers, GPT-2 MLP, w2v-BERT).
public struct FeedForward: Sendable {
    /// Non-linearity of the plain block.
    public enum Activation: Sendable, Equatable {
        case relu
        case silu
        case gelu(Tensor.GELUApproximation)
        case mish

        func apply(_ x: Tensor) -> Tensor {
            switch self {
            case .relu: return x.relu()
            case .silu: return x.silu()
            case .gelu(let approximation): return x.gelu(approximation: approximation)
            case .mish: return x.mish()
            }
        }
    }

    public enum Kind: Sendable {
        /// `w2(silu(w1 x) * w3 x)`.
        case gated(gate: Linear, up: Linear, down: Linear)
        /// `down(activation(up x))`.
        case plain(up: Linear, activation: Activation, down: Linear)
        /// SwiGLU with the gate and up weights stacked into one `[2·hidden, dim]` product (gate rows first), as
        /// ``bfloat16()`` prepares it: one pass over `x`, and with bfloat16 weights `silu(gate)·up` goes to `down`
        /// already rounded (``Tensor/siluGatedLinear(bfloat16:bias:)``). The same function as ``gated``.
        case gatedStacked(gateUp: Linear, down: Linear)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// Loads SwiGLU weights named `gate`/`up`/`down` (gpt-fast: `w1`, `w3`, `w2`).
    public static func gated(_ loader: ParameterLoader, dimensions: Int, hidden: Int, gate: String = "w1", up: String = "w3",
                             down: String = "w2", bias: Bool = false) -> FeedForward {
        FeedForward(.gated(gate: Linear(loader.scoped(gate), inFeatures: dimensions, outFeatures: hidden, bias: bias),
                           up: Linear(loader.scoped(up), inFeatures: dimensions, outFeatures: hidden, bias: bias),
                           down: Linear(loader.scoped(down), inFeatures: hidden, outFeatures: dimensions, bias: bias)))
    }

    /// Loads a plain two-layer block with weights named `up`/`down` (e.g. `w_1`/`w_2`, `intermediate_dense`/`output_dense`).
    public static func plain(_ loader: ParameterLoader, dimensions: Int, hidden: Int, activation: Activation,
                             up: String, down: String, bias: Bool = true) -> FeedForward {
        FeedForward(.plain(up: Linear(loader.scoped(up), inFeatures: dimensions, outFeatures: hidden, bias: bias),
                           activation: activation,
                           down: Linear(loader.scoped(down), inFeatures: hidden, outFeatures: dimensions, bias: bias)))
    }

    /// SwiGLU's fp32 gate and up weights of the same `[hidden, dim]` shape (either layout; both with or both without
    /// bias) stacked into one `[2·hidden, dim]` matrix, gate rows first, with their biases; nil for other weights.
    private static func stackedGateUp(_ gate: Linear, _ up: Linear) throws -> (weight: Tensor, bias: Tensor?)? {
        guard case .float32(let g, let gateLayout) = gate.weights, case .float32(let u, let upLayout) = up.weights,
              (gate.bias == nil) == (up.bias == nil), g.rank == 2, u.rank == 2,
              (gateLayout == .outIn ? g.shape : g.shape.reversed()) == (upLayout == .outIn ? u.shape : u.shape.reversed())
        else { return nil }
        let outIn = { (w: Tensor, layout: Tensor.WeightLayout) in layout == .outIn ? w : try w.transposed(0, 1).contiguous() }
        let stacked = try Tensor.concatenate([outIn(g, gateLayout), outIn(u, upLayout)], axis: 0)
        let bias = try gate.bias.map { try Tensor.concatenate([$0.reshaped([-1]), up.bias!.reshaped([-1])], axis: 0) }
        return (stacked, bias)
    }

    /// The same fp32 block with SwiGLU's gate and up products stacked into one (``Kind/gatedStacked(gateUp:down:)``:
    /// one SGEMM reads `x` once for both; `silu(gate)·up` then reads the two halves of its rows). Other blocks, and
    /// SwiGLU whose gate and up weights are not both fp32 of one shape, stay as they are. The same function.
    public func stacked() throws -> FeedForward {
        guard case .gated(let gate, let up, let down) = kind, let (weight, bias) = try Self.stackedGateUp(gate, up) else {
            return self
        }
        return FeedForward(.gatedStacked(gateUp: Linear(weight: weight, bias: bias), down: down))
    }

    /// The same block with bfloat16 weights (``ComputePrecision``). SwiGLU with fp32 gate and up weights of the same
    /// `[hidden, dim]` shape (either layout; both with or both without bias) becomes ``Kind/gatedStacked(gateUp:down:)``.
    public func bfloat16() throws -> FeedForward {
        switch kind {
        case .gated(let gate, let up, let down):
            if let (stacked, bias) = try Self.stackedGateUp(gate, up) {
                let gateUp = Linear(weights: .bfloat16(try BFloat16Matrix(stacked, packedAsTransposedRightOperand: true)), bias: bias)
                return FeedForward(.gatedStacked(gateUp: gateUp, down: try down.bfloat16()))
            }
            return FeedForward(.gated(gate: try gate.bfloat16(), up: try up.bfloat16(), down: try down.bfloat16()))
        case .plain(let up, let activation, let down):
            return FeedForward(.plain(up: try up.bfloat16(), activation: activation, down: try down.bfloat16()))
        case .gatedStacked(let gateUp, let down):
            return FeedForward(.gatedStacked(gateUp: try gateUp.bfloat16(), down: try down.bfloat16()))
        }
    }

    /// The block on activations already rounded to bfloat16 (``BFloat16Rows``): a bfloat16 stacked SwiGLU reads
    /// them as they are; other blocks get them widened back to fp32.
    public func callAsFunction(_ x: BFloat16Rows) throws -> Tensor {
        if case .gatedStacked(let gateUp, let down) = kind, case .bfloat16(let stacked) = gateUp.weights,
           case .bfloat16(let matrix) = down.weights {
            return try Tensor.swiGLU(bfloat16Rows: x, gateUp: stacked, gateUpBias: gateUp.bias, down: matrix,
                                     downBias: down.bias)
        }
        return try self(x.float32())
    }

    /// `residual + self(x)` on activations rounded to bfloat16 (the residual stream of a pre-norm block).
    public func callAsFunction(_ x: BFloat16Rows, adding residual: Tensor) throws -> Tensor {
        if case .gatedStacked(_, let down) = kind, case .bfloat16 = down.weights {
            return try self(x).adding(residual)
        }
        return try self(x.float32(), adding: residual)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try apply(x, adding: nil) }

    /// `residual + self(x)` (the residual stream of a pre-norm block): an fp32 down projection accumulates onto
    /// the residual (`Linear`'s `adding:` forms).
    public func callAsFunction(_ x: Tensor, adding residual: Tensor) throws -> Tensor { try apply(x, adding: residual) }

    private func apply(_ x: Tensor, adding residual: Tensor?) throws -> Tensor {
        func project(_ down: Linear, _ hidden: Tensor) throws -> Tensor {
            try residual.map { try down(hidden, adding: $0) } ?? down(hidden)
        }
        func added(_ y: Tensor) throws -> Tensor { try residual.map { try y.adding($0) } ?? y }
        switch kind {
        case .gated(let gate, let up, let down):
            return try project(down, gate(x).siluMultiplying(up(x)))
        case .plain(let up, let activation, let down):
            return try project(down, activation.apply(up(x)))
        case .gatedStacked(let gateUp, let down):
            if case .bfloat16(let stacked) = gateUp.weights, case .bfloat16(let matrix) = down.weights {
                return try added(x.swiGLU(bfloat16: stacked, gateUpBias: gateUp.bias, down: matrix, downBias: down.bias))
            }
            let both = try gateUp(x)
            if case .bfloat16(let matrix) = down.weights {
                return try added(both.siluGatedLinear(bfloat16: matrix, bias: down.bias))
            }
            let hidden = both.shape[both.rank - 1] / 2
            let halves = try both.split(sizes: [hidden, hidden], axis: both.rank - 1)
            return try project(down, halves[0].siluMultiplying(halves[1]))
        }
    }
}
