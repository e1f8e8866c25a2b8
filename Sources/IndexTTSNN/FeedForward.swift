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

    /// The same block with bfloat16 weights (``ComputePrecision``).
    public func bfloat16() throws -> FeedForward {
        switch kind {
        case .gated(let gate, let up, let down):
            return FeedForward(.gated(gate: try gate.bfloat16(), up: try up.bfloat16(), down: try down.bfloat16()))
        case .plain(let up, let activation, let down):
            return FeedForward(.plain(up: try up.bfloat16(), activation: activation, down: try down.bfloat16()))
        }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        switch kind {
        case .gated(let gate, let up, let down):
            return try down(gate(x).siluMultiplying(up(x)))
        case .plain(let up, let activation, let down):
            return try down(activation.apply(up(x)))
        }
    }
}
