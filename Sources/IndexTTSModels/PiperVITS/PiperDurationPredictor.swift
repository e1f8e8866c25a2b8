import Foundation
import IndexTTSNN
import IndexTTSTensor

/// VITS's `DDSConv`: dilated depthwise-separable residual blocks (dilation kᶦ, "same" padding), each
/// depthwise conv → LayerNorm → GELU → 1×1 conv → LayerNorm → GELU, added to the input. `[1, C, T]` → same.
struct PiperDDSConv: Sendable {
    struct Layer: Sendable {
        let separable: Conv1d
        let norm1: PiperChannelNorm
        let pointwise: Conv1d
        let norm2: PiperChannelNorm
    }

    let layers: [Layer]

    init(_ loader: ParameterLoader, channels: Int, kernel: Int, layers count: Int, graph: PiperGraphBinder) {
        layers = (0..<count).map { i in
            let dilation = Int(pow(Double(kernel), Double(i)))
            return Layer(
                separable: graph.conv(scope: loader.scoped("convs_sep.\(i)"), in: channels, out: channels, kernel: kernel,
                                      groups: channels, dilation: dilation, padding: (kernel * dilation - dilation) / 2),
                norm1: PiperChannelNorm(loader.scoped("norms_1.\(i)"), channels: channels),
                pointwise: graph.conv(scope: loader.scoped("convs_1x1.\(i)"), in: channels, out: channels, kernel: 1),
                norm2: PiperChannelNorm(loader.scoped("norms_2.\(i)"), channels: channels))
        }
    }

    func callAsFunction(_ input: Tensor, conditioning: Tensor? = nil) throws -> Tensor {
        var x = input
        if let conditioning { x = try x.adding(conditioning) }
        for layer in layers {
            var y = try layer.norm1(layer.separable(x)).gelu()
            y = try layer.norm2(layer.pointwise(y)).gelu()
            x = try x.adding(y)
        }
        return x
    }
}

/// VITS's `ConvFlow` run in reverse: a rational-quadratic spline (10 bins, linear tails at ±5) on the second of two
/// channels, its knots predicted from the first channel and the predictor's conditioning.
struct PiperConvFlow: Sendable {
    let pre: Conv1d
    let convs: PiperDDSConv
    let proj: Conv1d
    let filterChannels: Int
    let bins: Int
    let tailBound: Float

    init(_ loader: ParameterLoader, filterChannels: Int, kernel: Int, bins: Int, tailBound: Float, graph: PiperGraphBinder) {
        pre = graph.conv(loader, "pre", in: 1, out: filterChannels, kernel: 1)
        convs = PiperDDSConv(loader.scoped("convs"), channels: filterChannels, kernel: kernel, layers: 3, graph: graph)
        proj = graph.conv(loader, "proj", in: filterChannels, out: 3 * bins - 1, kernel: 1)
        self.filterChannels = filterChannels
        self.bins = bins
        self.tailBound = tailBound
    }

    /// `z` `[1, 2, T]`, `conditioning` `[1, C, T]` → `[1, 2, T]`.
    func reverse(_ z: Tensor, conditioning: Tensor) throws -> Tensor {
        let t = z.shape[2]
        let x0 = try z.sliced(axis: 1, range: 0..<1).contiguous()
        let x1 = try z.sliced(axis: 1, range: 1..<2).scalars
        let h = try proj(convs(pre(x0), conditioning: conditioning)).scalars  // [3K − 1, T]
        let scale = 1 / Float(filterChannels).squareRoot()
        var out = [Float](repeating: 0, count: t)
        for i in 0..<t {
            let params = (0..<(3 * bins - 1)).map { h[$0 * t + i] }
            out[i] = PiperSpline.inverse(x1[i], widths: params[0..<bins].map { $0 * scale },
                                         heights: params[bins..<(2 * bins)].map { $0 * scale },
                                         derivatives: Array(params[(2 * bins)...]), tailBound: tailBound)
        }
        return try Tensor.concatenate([x0, Tensor(shape: [1, 1, t], scalars: out)], axis: 1)
    }
}

/// The inverse of `unconstrained_rational_quadratic_spline` with linear tails (Durkan et al.'s neural spline flows,
/// as VITS's `transforms.py` computes it, in fp32): identity outside [−B, B]; inside, the bin is found on the
/// cumulative heights and the quadratic solved for the root in its stable form.
enum PiperSpline {
    static let minBinWidth: Float = 1e-3
    static let minBinHeight: Float = 1e-3
    static let minDerivative: Float = 1e-3

    static func inverse(_ y: Float, widths uw: [Float], heights uh: [Float], derivatives ud: [Float], tailBound b: Float) -> Float {
        guard y >= -b && y <= b else { return y }
        let bins = uw.count
        func knots(_ unnormalised: [Float], minimum: Float) -> (cumulative: [Float], sizes: [Float]) {
            let peak = unnormalised.max() ?? 0
            let e = unnormalised.map { exp($0 - peak) }
            let total = e.reduce(0, +)
            let sizes = e.map { minimum + (1 - minimum * Float(bins)) * ($0 / total) }
            var cumulative = [Float](repeating: 0, count: bins + 1)
            var running: Float = 0
            for k in 0..<bins {
                running += sizes[k]
                cumulative[k + 1] = running
            }
            cumulative = cumulative.map { 2 * b * $0 - b }
            cumulative[0] = -b
            cumulative[bins] = b
            return (cumulative, (0..<bins).map { cumulative[$0 + 1] - cumulative[$0] })
        }
        let (cumWidths, widths) = knots(uw, minimum: minBinWidth)
        let (cumHeights, heights) = knots(uh, minimum: minBinHeight)
        // Edge derivatives are padded with log(exp(1 − min) − 1), so that min + softplus(·) = 1 there.
        let edge = log(exp(1 - minDerivative) - 1)
        let padded = [edge] + ud + [edge]
        let derivatives = padded.map { minDerivative + softplus($0) }
        // searchsorted with the last knot nudged up by 1e-6: the number of knots ≤ y, minus one.
        var bin = -1
        for k in 0...bins where y >= (k == bins ? cumHeights[k] + 1e-6 : cumHeights[k]) { bin += 1 }
        bin = min(max(bin, 0), bins - 1)
        let inputCumWidth = cumWidths[bin], binWidth = widths[bin]
        let inputCumHeight = cumHeights[bin], binHeight = heights[bin]
        let delta = binHeight / binWidth
        let d0 = derivatives[bin], d1 = derivatives[bin + 1]
        let shifted = y - inputCumHeight
        let a = shifted * (d0 + d1 - 2 * delta) + binHeight * (delta - d0)
        let bq = binHeight * d0 - shifted * (d0 + d1 - 2 * delta)
        let c = -delta * shifted
        let discriminant = bq * bq - 4 * a * c
        let root = (2 * c) / (-bq - discriminant.squareRoot())
        return root * binWidth + inputCumWidth
    }

    /// PyTorch's softplus (threshold 20: linear above).
    static func softplus(_ x: Float) -> Float { x > 20 ? x : log1p(exp(x)) }
}

/// VITS's `StochasticDurationPredictor` in reverse (inference): the conditioning (pre → DDSConv → proj of the text
/// encoder's hidden state) drives a noise sample `[1, 2, T]` back through the flows — flip, conv flow ×3 (the
/// fourth, "useless" one is skipped as upstream does), then the elementwise affine — and channel 0 is log w.
struct PiperDurationPredictor: Sendable {
    let pre: Conv1d
    let convs: PiperDDSConv
    let proj: Conv1d
    /// Reverse order: flows.7, .5, .3 (each preceded by a flip).
    let flows: [PiperConvFlow]
    /// The elementwise affine (flows.0): mean `m` and the exported constant exp(−logs), both `[2, 1]`.
    let affineMean: Tensor
    let affineInverseScale: Tensor

    init(_ loader: ParameterLoader, configuration c: PiperVITSConfiguration, graph: PiperGraphBinder) {
        let channels = c.hiddenChannels
        pre = graph.conv(loader, "pre", in: channels, out: channels, kernel: 1)
        convs = PiperDDSConv(loader.scoped("convs"), channels: channels, kernel: c.durationKernel, layers: 3, graph: graph)
        proj = graph.conv(loader, "proj", in: channels, out: channels, kernel: 1)
        flows = stride(from: 2 * c.durationFlows - 1, through: 3, by: -2).map { i in
            PiperConvFlow(loader.scoped("flows.\(i)"), filterChannels: channels, kernel: c.durationKernel, bins: 10,
                          tailBound: 5, graph: graph)
        }
        affineMean = loader.tensor("flows.0.m", shape: [2, 1])
        affineInverseScale = loader.tensor("flows.0.exp_neg_logs", shape: [2, 1])
    }

    /// `x` `[1, C, T]` (the text encoder's hidden state), `noise` `[1, 2, T]` (standard normal draws, already scaled
    /// by noise_w) → log-durations `[1, 1, T]`.
    func callAsFunction(_ x: Tensor, noise: Tensor) throws -> Tensor {
        let conditioning = try proj(convs(pre(x)))
        var z = noise
        for flow in flows {
            z = try flip(z)
            z = try flow.reverse(z, conditioning: conditioning)
        }
        z = try flip(z)
        z = try z.subtracting(affineMean.unsqueezed(0)).multiplying(affineInverseScale.unsqueezed(0))
        return try z.sliced(axis: 1, range: 0..<1).contiguous()
    }

    func flip(_ z: Tensor) throws -> Tensor {
        try Tensor.concatenate([z.sliced(axis: 1, range: 1..<2), z.sliced(axis: 1, range: 0..<1)], axis: 1)
    }
}
