import IndexTTSTensor

/// Hyper-parameters of a 1-D convolution (`torch.nn.Conv1d` / `ConvTranspose1d` arguments).
public struct Conv1dConfiguration: Codable, Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int
    public var dilation: Int
    public var groups: Int
    public var bias: Bool
    public var paddingMode: Tensor.PaddingMode
    /// Transposed convolutions only.
    public var outputPadding: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, paddingMode: Tensor.PaddingMode = .zeros,
                outputPadding: Int = 0) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.bias = bias
        self.paddingMode = paddingMode
        self.outputPadding = outputPadding
    }
}

/// `torch.nn.Conv1d`, `[batch, in, time] → [batch, out, time′]`; weight-normalised checkpoints are fused on load.
public struct Conv1d: Sendable {
    public let configuration: Conv1dConfiguration
    public let weight: Tensor
    public let bias: Tensor?
    /// `weight` as `[out, in·kernel]` bfloat16 after ``bfloat16()``: the product then runs in bfloat16.
    public let bfloat16Weight: BFloat16Matrix?

    public init(_ loader: ParameterLoader, _ configuration: Conv1dConfiguration) {
        self.configuration = configuration
        let c = configuration
        weight = loader.weightNormed("weight", shape: [c.outChannels, c.inChannels / max(c.groups, 1), c.kernelSize])
        bias = c.bias ? loader.tensor("bias", shape: [c.outChannels]) : nil
        bfloat16Weight = nil
    }

    init(configuration: Conv1dConfiguration, weight: Tensor, bias: Tensor?, bfloat16Weight: BFloat16Matrix?) {
        self.configuration = configuration
        self.weight = weight
        self.bias = bias
        self.bfloat16Weight = bfloat16Weight
    }

    /// The same convolution multiplying in bfloat16 (``ComputePrecision``); grouped convolutions stay fp32.
    public func bfloat16() throws -> Conv1d {
        guard configuration.groups == 1, bfloat16Weight == nil else { return self }
        let matrix = try BFloat16Matrix(weight.reshaped([weight.shape[0], weight.shape[1] * weight.shape[2]]))
        return Conv1d(configuration: configuration, weight: weight, bias: bias, bfloat16Weight: matrix)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let c = configuration
        return try x.conv1d(weight: weight, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation,
                            groups: c.groups, paddingMode: c.paddingMode, bfloat16Weight: bfloat16Weight)
    }
}

/// `torch.nn.ConvTranspose1d`, weight `[in, out/groups, kernel]`; weight-normalised checkpoints are fused on load.
public struct ConvTranspose1d: Sendable {
    public let configuration: Conv1dConfiguration
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ loader: ParameterLoader, _ configuration: Conv1dConfiguration) {
        self.configuration = configuration
        let c = configuration
        weight = loader.weightNormed("weight", shape: [c.inChannels, c.outChannels / max(c.groups, 1), c.kernelSize])
        bias = c.bias ? loader.tensor("bias", shape: [c.outChannels]) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let c = configuration
        return try x.convTranspose1d(weight: weight, bias: bias, stride: c.stride, padding: c.padding,
                                     outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups)
    }
}
