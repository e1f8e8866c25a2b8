import IndexTTSTensor

/// `torch.nn.LayerNorm` over the last axis.
public struct LayerNorm: Sendable {
    public let weight: Tensor?
    public let bias: Tensor?
    public let eps: Float

    public init(_ loader: ParameterLoader, dimensions: Int, eps: Float = 1e-5, affine: Bool = true) {
        weight = affine ? loader.tensor("weight", shape: [dimensions]) : nil
        bias = affine ? loader.tensor("bias", shape: [dimensions]) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// RMS norm over the last axis (Llama/Qwen `RMSNorm`, `torch.nn.RMSNorm`).
public struct RMSNorm: Sendable {
    public let weight: Tensor
    public let eps: Float

    public init(_ loader: ParameterLoader, dimensions: Int, eps: Float = 1e-6) {
        weight = loader.tensor("weight", shape: [dimensions])
        self.eps = eps
    }

    public init(weight: Tensor, eps: Float = 1e-6) {
        self.weight = weight
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.rmsNorm(weight: weight, eps: eps) }
}

/// `torch.nn.GroupNorm` over `[batch, channels, *]`.
public struct GroupNorm: Sendable {
    public let groups: Int
    public let weight: Tensor?
    public let bias: Tensor?
    public let eps: Float

    public init(_ loader: ParameterLoader, groups: Int, channels: Int, eps: Float = 1e-5, affine: Bool = true) {
        self.groups = groups
        weight = affine ? loader.tensor("weight", shape: [channels]) : nil
        bias = affine ? loader.tensor("bias", shape: [channels]) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps)
    }
}

/// `torch.nn.BatchNorm1d`/`2d` in eval mode (running statistics); `num_batches_tracked` is read and ignored.
public struct BatchNorm: Sendable {
    public let runningMean: Tensor
    public let runningVariance: Tensor
    public let weight: Tensor?
    public let bias: Tensor?
    public let eps: Float

    public init(_ loader: ParameterLoader, channels: Int, eps: Float = 1e-5, affine: Bool = true) {
        runningMean = loader.tensor("running_mean", shape: [channels])
        runningVariance = loader.tensor("running_var", shape: [channels])
        weight = affine ? loader.tensor("weight", shape: [channels]) : nil
        bias = affine ? loader.tensor("bias", shape: [channels]) : nil
        self.eps = eps
        loader.ignore("num_batches_tracked")
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.batchNorm(runningMean: runningMean, runningVariance: runningVariance, weight: weight, bias: bias, eps: eps)
    }
}
