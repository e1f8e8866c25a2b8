import IndexTTSNN
import IndexTTSTensor

/// BigVGAN's `AMPBlock1`, `[batch, channels, time] → [batch, channels, time]`: for each dilation d,
/// `x = x + convs2(act(convs1_d(act(x))))`, where `convs1_d` is a dilated convolution with "same" padding
/// (`(k·d − d)/2`), `convs2` an undilated one, and every `act` an ``AntiAliasedActivation`` (`activations` 0, 1, …
/// alternate between the two positions).
public struct AMPBlock: Sendable {
    let dilated: [Conv1d]
    let plain: [Conv1d]
    let activations: [AntiAliasedActivation]

    public init(_ loader: ParameterLoader, channels: Int, kernelSize: Int, dilations: [Int],
                activation: AntiAliasedActivation.Kind, logScale: Bool) {
        func conv(_ scope: ParameterLoader, dilation: Int) -> Conv1d {
            Conv1d(scope, Conv1dConfiguration(inChannels: channels, outChannels: channels, kernelSize: kernelSize,
                                              padding: (kernelSize * dilation - dilation) / 2, dilation: dilation))
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
