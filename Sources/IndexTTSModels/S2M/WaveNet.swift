import IndexTTSNN
import IndexTTSTensor

/// The VITS WaveNet (`WN` in `indextts/s2mel/modules/wavenet.py`) that forms the DiT's final layer: `layers` gated
/// dilated convolutions with a global condition, residual and skip outputs. `[batch, hidden, time]` in and out.
///
/// Layer i: `a = in_layers[i](x)` (kernel k, dilation rate^i), `acts = tanh(a[:H] + g_i[:H]) · σ(a[H:] + g_i[H:])`
/// with `g_i` the i-th 2H-slice of `cond_layer(g)`; `res_skip_layers[i](acts)` gives residual (first H) and skip
/// (last H) channels, the last layer skip only. The output is the sum of the skips.
///
/// Upstream builds every conv as encodec's `SConv1d`, which swallows the `padding` argument and pads by itself:
/// `(k−1)·dilation` frames in **reflect** mode, split ⌈·/2⌉ left / ⌊·/2⌋ right, with the `pad1d` work-around for
/// inputs no longer than the padding (zeros appended first, cut afterwards). All convs are weight-normalised
/// (`conv.conv.weight_g/_v`), fused on load. Dropout is inference-inactive.
struct WaveNet: Sendable {
    struct Layer: Sendable {
        var input: Conv1d
        var residualSkip: Conv1d
        let dilation: Int
    }

    let hidden: Int
    let kernel: Int
    let condition: Conv1d
    var layers: [Layer]

    /// The per-frame convolutions in bfloat16 (the global condition acts on one frame: fp32).
    func bfloat16() throws -> WaveNet {
        var copy = self
        copy.layers = try layers.map { layer in
            var converted = layer
            converted.input = try layer.input.bfloat16()
            converted.residualSkip = try layer.residualSkip.bfloat16()
            return converted
        }
        return copy
    }

    init(_ loader: ParameterLoader, configuration c: S2MConfiguration.WaveNet) {
        hidden = c.hiddenDim
        kernel = c.kernelSize
        condition = Conv1d(loader.scoped("cond_layer").scoped("conv").scoped("conv"),
                           .init(inChannels: c.hiddenDim, outChannels: 2 * c.hiddenDim * c.numLayers, kernelSize: 1))
        var dilation = 1
        var layers: [Layer] = []
        for i in 0..<c.numLayers {
            let residualSkipChannels = i < c.numLayers - 1 ? 2 * c.hiddenDim : c.hiddenDim
            layers.append(Layer(
                input: Conv1d(loader.scoped("in_layers").scoped("\(i)").scoped("conv").scoped("conv"),
                              .init(inChannels: c.hiddenDim, outChannels: 2 * c.hiddenDim, kernelSize: c.kernelSize, dilation: dilation)),
                residualSkip: Conv1d(loader.scoped("res_skip_layers").scoped("\(i)").scoped("conv").scoped("conv"),
                                     .init(inChannels: c.hiddenDim, outChannels: residualSkipChannels, kernelSize: 1)),
                dilation: dilation))
            dilation *= c.dilationRate
        }
        self.layers = layers
    }

    /// encodec's `pad1d(x, (left, right), mode="reflect")`.
    static func reflectPad(_ x: Tensor, left: Int, right: Int) throws -> Tensor {
        let length = x.shape[2], widest = max(left, right)
        guard length <= widest else { return try x.padded(left: left, right: right, mode: .reflect) }
        let extra = widest - length + 1
        let padded = try x.padded(left: 0, right: extra).padded(left: left, right: right, mode: .reflect)
        return try padded.sliced(axis: 2, range: 0..<(padded.shape[2] - extra))
    }

    /// - Parameters:
    ///   - x: `[batch, hidden, time]`.
    ///   - g: global condition `[batch, hidden]` (the second timestep embedding).
    func callAsFunction(_ x: Tensor, g: Tensor) throws -> Tensor {
        let (batch, time) = (x.shape[0], x.shape[2])
        let conditions = try condition(g.unsqueezed(2)).contiguous()  // [batch, 2·H·layers, 1]
        var x = x
        var output: Tensor? = nil
        for (i, layer) in layers.enumerated() {
            let total = (kernel - 1) * layer.dilation
            let padded = try Self.reflectPad(x, left: total - total / 2, right: total / 2)
            let a = try layer.input(padded).contiguous()  // [batch, 2H, time]
            let acts = Tensor.make([batch, hidden, time]) { out in
                let h = hidden
                for b in 0..<batch {
                    let ap = a.basePointer + b * 2 * h * time
                    let gp = conditions.basePointer + b * conditions.shape[1] + i * 2 * h
                    let op = out.baseAddress! + b * h * time
                    Parallel.forEachChunk(count: h, minimumChunk: max(1, 16_384 / max(time, 1))) { channels in
                        for c in channels {
                            VectorMath.gatedTanhSigmoid(ap + c * time, ap + (h + c) * time, gateA: gp[c], gateB: gp[h + c],
                                                        into: op + c * time, count: time)
                        }
                    }
                }
            }
            let rs = try layer.residualSkip(acts)
            if i < layers.count - 1 {
                x = try x.adding(rs.sliced(axis: 1, range: 0..<hidden))
                let skip = try rs.sliced(axis: 1, range: hidden..<(2 * hidden))
                output = try output.map { try $0.adding(skip) } ?? skip.contiguous()
            } else {
                output = try output.map { try $0.adding(rs) } ?? rs
            }
        }
        return output ?? Tensor.zeros(x.shape)
    }
}
