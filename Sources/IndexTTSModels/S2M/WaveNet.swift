import CIndexTTSDNNL
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
    /// One gated layer, its convolutions as products over time-major rows (frames × channels): `input` is the
    /// dilated convolution (``InputConvolution``: as loaded, its weight `[2H, H, k]` laid out as `[2H, k·H]`, tap-major
    /// columns, so a frame's column row is its k source frames' channel rows one after another; or Winograd F(4, 5)),
    /// `residualSkip` the 1×1 convolution.
    struct Layer: Sendable {
        var input: InputConvolution
        var residualSkip: Linear
        let dilation: Int
    }

    /// How a layer's dilated convolution runs.
    enum InputConvolution: Sendable {
        /// One product over im2col rows: weight `[2H, k·H]` (tap-major columns), fp32 or bfloat16.
        case columns(Linear)
        /// Winograd F(4, 5) (``winograd()``: fp32, at most 5 taps).
        case winograd(TimeMajorWinogradConvolution)
    }

    let hidden: Int
    let kernel: Int
    let condition: Conv1d
    var layers: [Layer]

    /// The per-frame convolutions in bfloat16 (the global condition acts on one frame: fp32). Applies to the loaded
    /// layers; a layer already converted to Winograd (``winograd()``) no longer holds its im2col weights.
    func bfloat16() throws -> WaveNet {
        var copy = self
        copy.layers = try layers.map { layer in
            guard case .columns(let input) = layer.input else {
                throw ModelError.invalidInput(component: "S2M WaveNet",
                                              reason: "a Winograd layer cannot be converted to bfloat16; convert the loaded model")
            }
            var converted = layer
            converted.input = .columns(try input.bfloat16())
            converted.residualSkip = try layer.residualSkip.bfloat16()
            return converted
        }
        return copy
    }

    /// The fp32 dilated convolutions of at most 5 taps (IndexTTS2's: 8 layers of 5 taps, 512 → 1024, dilation 1)
    /// as Winograd F(4, 5) (``TimeMajorWinogradConvolution``: 40 % of the im2col product's arithmetic, agreeing with
    /// it to about 1e-6 relative); the others stay as they are. The im2col weights are not kept.
    func winograd() throws -> WaveNet {
        var copy = self
        copy.layers = try layers.map { layer in
            guard case .columns(let input) = layer.input, case .float32(let weight, .outIn) = input.weights,
                  kernel <= 5 else { return layer }
            // [2H, k·H] tap-major → [2H, k, H] → [2H, H, k].
            let original = try weight.reshaped([weight.shape[0], kernel, hidden]).permuted([0, 2, 1]).contiguous()
            var converted = layer
            converted.input = .winograd(try TimeMajorWinogradConvolution(weight: original, bias: input.bias,
                                                                         dilation: layer.dilation))
            return converted
        }
        return copy
    }

    /// Layers whose dilated convolution runs as Winograd F(4, 5).
    var winogradLayers: Int {
        layers.filter { if case .winograd = $0.input { return true } else { return false } }.count
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
            let input = Conv1d(loader.scoped("in_layers").scoped("\(i)").scoped("conv").scoped("conv"),
                               .init(inChannels: c.hiddenDim, outChannels: 2 * c.hiddenDim, kernelSize: c.kernelSize,
                                     dilation: dilation))
            let residualSkip = Conv1d(loader.scoped("res_skip_layers").scoped("\(i)").scoped("conv").scoped("conv"),
                                      .init(inChannels: c.hiddenDim, outChannels: residualSkipChannels, kernelSize: 1))
            // [2H, H, k] → [2H, k, H] → [2H, k·H]; [out, H, 1] → [out, H]. (A wrong-shaped checkpoint tensor is
            // already recorded by the loader, which then hands out zeros of the expected shape.)
            let tapMajor = (try? input.weight.permuted([0, 2, 1]).contiguous()
                .reshaped([2 * c.hiddenDim, c.kernelSize * c.hiddenDim])) ?? Tensor.zeros([2 * c.hiddenDim, c.kernelSize * c.hiddenDim])
            let pointwise = (try? residualSkip.weight.reshaped([residualSkipChannels, c.hiddenDim]))
                ?? Tensor.zeros([residualSkipChannels, c.hiddenDim])
            layers.append(Layer(input: .columns(Linear(weight: tapMajor, bias: input.bias)),
                                residualSkip: Linear(weight: pointwise, bias: residualSkip.bias), dilation: dilation))
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

    /// Which input frame each frame of the padded sequence holds (`reflectPad` of `time` frames), −1 for the zeros
    /// that `pad1d`'s work-around for short inputs leaves.
    static func paddedSources(time: Int, left: Int, right: Int) throws -> [Int] {
        let positions = try Tensor(shape: [1, 1, time], scalars: (0..<time).map { Float($0 + 1) })
        return try reflectPad(positions, left: left, right: right).contiguous().scalars.map { Int($0) - 1 }
    }

    /// - Parameters:
    ///   - x: `[batch, hidden, time]`.
    ///   - g: global condition `[batch, hidden]` (the second timestep embedding).
    /// - Returns: `[batch, hidden, time]`.
    func callAsFunction(_ x: Tensor, g: Tensor) throws -> Tensor {
        try self(timeMajor: x.transposed(1, 2).contiguous(), g: g).transposed(1, 2).contiguous()
    }

    /// The same on time-major input `[batch, time, hidden]` (frames as rows, as the DiT holds them), returning
    /// `[batch, time, hidden]`. Both batch items go through each product together.
    func callAsFunction(timeMajor x: Tensor, g: Tensor) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == hidden, g.shape == [x.shape[0], hidden] else {
            throw ModelError.invalidInput(component: "S2M WaveNet", reason: "input \(x.shape), condition \(g.shape)")
        }
        let (batch, time, h) = (x.shape[0], x.shape[1], hidden)
        let conditions = try condition(g.unsqueezed(2)).contiguous()  // [batch, 2·H·layers, 1]
        let perItem = conditions.shape[1]
        var x = x.contiguous()
        var output: Tensor? = nil
        for (i, layer) in layers.enumerated() {
            let total = (kernel - 1) * layer.dilation
            let sources = try Self.paddedSources(time: time, left: total - total / 2, right: total / 2)
            let source = x
            let columns = kernel * h
            // Row (b, t) of the columns: the padded frames t, t + d, …, t + (k−1)·d of item b, channel rows in a row.
            func fillRow(_ r: Int, _ write: (UnsafePointer<Float>?, Int) -> Void) {
                let (b, t) = (r / time, r % time)
                for j in 0..<kernel {
                    let s = sources[t + j * layer.dilation]
                    write(s < 0 ? nil : UnsafePointer(source.basePointer + (b * time + s) * h), j * h)
                }
            }
            let a: Tensor  // [batch·time, 2H]
            switch layer.input {
            case .winograd(let convolution):
                a = try convolution(source, frames: sources).reshaped([batch * time, 2 * h])
            case .columns(let input):
                if case .bfloat16 = input.weights {
                    let rows = BFloat16Rows.make([batch * time, columns]) { range, bits in
                        for (i, r) in range.enumerated() {
                            fillRow(r) { row, offset in
                                let target = bits + i * columns + offset
                                if let row { indextts_to_bf16(row, target, h) } else { target.update(repeating: 0, count: h) }
                            }
                        }
                    }
                    a = try input(rows)
                } else {
                    let cols = Tensor.make([batch * time, columns]) { out in
                        for r in 0..<(batch * time) {
                            fillRow(r) { row, offset in
                                let target = out.baseAddress! + r * columns + offset
                                if let row { target.update(from: row, count: h) } else { target.update(repeating: 0, count: h) }
                            }
                        }
                    }
                    a = try input(cols)
                }
            }
            let acts = Tensor.make([batch * time, h]) { out in
                let ap = a.basePointer, gp = conditions.basePointer, dst = out.baseAddress!
                Parallel.forEachChunk(count: batch * time, minimumChunk: max(1, 16_384 / max(h, 1))) { range in
                    for r in range {
                        let gates = gp + (r / time) * perItem + i * 2 * h
                        VectorMath.gatedTanhSigmoid(ap + r * 2 * h, ap + r * 2 * h + h, gatesA: gates, gatesB: gates + h,
                                                    into: dst + r * h, count: h)
                    }
                }
            }
            let rs = try layer.residualSkip(acts)  // [batch·time, 2H] (the last layer: [batch·time, H])
            let last = i == layers.count - 1
            let skipOffset = last ? 0 : h, width = rs.shape[1]
            let previous = output
            // x += residual half; output += skip half (the last layer: skip only).
            let nextX = last ? x : Tensor.make([batch, time, h]) { out in
                let (xp, rp, dst) = (x.basePointer, rs.basePointer, out.baseAddress!)
                Parallel.forEachChunk(count: batch * time, minimumChunk: max(1, 16_384 / max(h, 1))) { range in
                    for r in range {
                        let (xr, rr, o) = (xp + r * h, rp + r * width, dst + r * h)
                        for c in 0..<h { o[c] = xr[c] + rr[c] }
                    }
                }
            }
            output = Tensor.make([batch, time, h]) { out in
                let (rp, dst) = (rs.basePointer, out.baseAddress!)
                Parallel.forEachChunk(count: batch * time, minimumChunk: max(1, 16_384 / max(h, 1))) { range in
                    for r in range {
                        let skip = UnsafePointer(rp + r * width + skipOffset)
                        if let previous {
                            let (pr, o) = (previous.basePointer + r * h, dst + r * h)
                            for c in 0..<h { o[c] = pr[c] + skip[c] }
                        } else {
                            (dst + r * h).update(from: skip, count: h)
                        }
                    }
                }
            }
            x = nextX
        }
        return output ?? Tensor.zeros([batch, time, h])
    }
}
