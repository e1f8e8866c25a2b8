import IndexTTSTensor

/// `torch.nn.Linear` (weight `[out, in]`) or Hugging Face GPT-2 `Conv1D` (weight `[in, out]`):
/// `[…, in] → […, out]`.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public let layout: Tensor.WeightLayout

    public init(weight: Tensor, bias: Tensor?, layout: Tensor.WeightLayout = .outIn) {
        self.weight = weight
        self.bias = bias
        self.layout = layout
    }

    /// Loads `weight` (and `bias` when `bias` is true) from `loader`.
    public init(_ loader: ParameterLoader, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                layout: Tensor.WeightLayout = .outIn) {
        let shape = layout == .outIn ? [outFeatures, inFeatures] : [inFeatures, outFeatures]
        self.init(weight: loader.tensor("weight", shape: shape),
                  bias: bias ? loader.tensor("bias", shape: [outFeatures]) : nil, layout: layout)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.linear(weight: weight, bias: bias, layout: layout)
    }
}

/// `torch.nn.Embedding`: ids → rows of `[vocabulary, dim]`.
public struct Embedding: Sendable {
    public let table: Tensor

    public init(_ loader: ParameterLoader, count: Int, dimensions: Int) {
        table = loader.tensor("weight", shape: [count, dimensions])
    }

    /// `[ids.count, dim]`.
    public func callAsFunction(_ ids: [Int]) throws -> Tensor { try Tensor.embedding(table, ids: ids) }
}
