import IndexTTSNN
import IndexTTSTensor

/// BigVGAN's `AMPBlock1`, `[batch, channels, time] → [batch, channels, time]`: for each dilation d,
/// `x = x + convs2(act(convs1_d(act(x))))`, where `convs1_d` is a dilated convolution with "same" padding
/// (`(k·d − d)/2`), `convs2` an undilated one, and every `act` an ``AntiAliasedActivation`` (`activations` 0, 1, …
/// alternate between the two positions).
public struct AMPBlock: Sendable {
    let dilated: [ResblockConvolution]
    let plain: [ResblockConvolution]
    let activations: [AntiAliasedActivation]

    /// - Parameter winograd: whether the convolutions run as Winograd F(4, 4) (``WinogradConvolution1d``).
    public init(_ loader: ParameterLoader, channels: Int, kernelSize: Int, dilations: [Int],
                activation: AntiAliasedActivation.Kind, logScale: Bool, winograd: Bool = false) {
        func conv(_ scope: ParameterLoader, dilation: Int) -> ResblockConvolution {
            ResblockConvolution(Conv1d(scope, Conv1dConfiguration(
                inChannels: channels, outChannels: channels, kernelSize: kernelSize,
                padding: (kernelSize * dilation - dilation) / 2, dilation: dilation)), winograd: winograd)
        }
        dilated = dilations.enumerated().map { conv(loader.scoped("convs1").scoped("\($0.offset)"), dilation: $0.element) }
        plain = dilations.indices.map { conv(loader.scoped("convs2").scoped("\($0)"), dilation: 1) }
        activations = (0..<(2 * dilations.count)).map {
            AntiAliasedActivation(loader.scoped("activations").scoped("\($0)"), channels: channels, kind: activation, logScale: logScale)
        }
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        var x = input
        for (i, (c1, c2)) in zip(dilated, plain).enumerated() {
            let branch = try c2(activations[2 * i + 1](c1(activations[2 * i](x))))
            x = try branch.adding(x)
        }
        return x
    }
}

/// One of a resblock's stride-1 convolutions, run directly (``Conv1d``: oneDNN, or im2col + GEMM) or as Winograd
/// F(4, 4) with its weights transformed at load (the direct weights are then dropped).
enum ResblockConvolution: Sendable {
    case direct(Conv1d)
    case winograd(WinogradConvolution1d)

    init(_ conv: Conv1d, winograd: Bool) {
        let c = conv.configuration
        // Preparing cannot fail here (the loader hands out weights of the declared shape, zero placeholders where it
        // recorded a bad key, and the configuration's dilations are validated); were it to, the direct convolution
        // computes the same function.
        if winograd, c.stride == 1, c.groups == 1, c.paddingMode == .zeros,
           let prepared = try? WinogradConvolution1d(weight: conv.weight, bias: conv.bias, padding: c.padding, dilation: c.dilation) {
            self = .winograd(prepared)
        } else {
            self = .direct(conv)
        }
    }

    var isWinograd: Bool { if case .winograd = self { true } else { false } }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        switch self {
        case .direct(let conv): try conv(x)
        case .winograd(let conv): try conv(x)
        }
    }
}
