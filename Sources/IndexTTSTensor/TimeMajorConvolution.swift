import CIndexTTSDNNL
#if canImport(Glibc)
import Glibc
#endif

/// A 1-D convolution or transposed convolution prepared for time-major activations `[batch, time, channels]`.
///
/// - Convolutions (stride 1, zero padding, one group) run on oneDNN's brgemm convolution in tiles of a fixed row
///   count (`indextts_dnnl_tm_conv`): one primitive per layer, compiled and its weights reordered once, serves every
///   length. On channel-major rows oneDNN can only run im2col + GEMM, which on the 32–64 channels of a vocoder's late
///   stages reaches a quarter to a half of this rate. Prepared ``init(weight:bias:padding:dilation:addsResidual:)``
///   with `addsResidual` each call adds a residual as the convolution writes (no separate pass over the output).
/// - Transposed convolutions whose output is a whole number of rows per input row (undilated, kernel − 2·padding a
///   multiple of the stride: a vocoder's upsampling) run in polyphase form as one such tiled convolution to
///   stride·out channels. Others run as one SGEMM of the rows with the weights laid out `[in, kernel·out]`, then each
///   output row gathers its kernel taps (no atomics, rows in parallel).
///
/// fp32. Immutable after creation; every call brings its own oneDNN scratchpad, so calls from several threads at once
/// are safe.
public final class TimeMajorConvolution: @unchecked Sendable {
    private enum Engine {
        case tiled(OpaquePointer)
        /// `weights` `[in, kernel·out]`: column k·out + o is tap k of output channel o.
        case transposed(weights: Tensor, bias: [Float]?, kernel: Int, stride: Int, padding: Int, dilation: Int, outputPadding: Int)
        /// A transposed convolution as a convolution to `phases`·out channels whose output rows, read as `phases` rows
        /// of out channels each, are the transposed convolution's (polyphase form).
        case polyphase(TimeMajorConvolution, phases: Int)
    }

    private let engine: Engine
    public let inChannels: Int
    public let outChannels: Int
    /// Whether calls add a residual (`callAsFunction(_:adding:)` with one, and only then).
    public let addsResidual: Bool

    /// Values per tile of the wider side (input or output rows × channels): `INDEXTTS_TM_TILE` overrides (tuning).
    static let tileElements = tileSetting("INDEXTTS_TM_TILE", default: 65_536)

    /// A tile size in values from the environment variable `name` (at least 1,024), else `default` (tuning knobs of
    /// the tiled convolutions).
    static func tileSetting(_ name: String, default value: Int) -> Int {
        if let set = getenv(name).flatMap({ Int(String(cString: $0)) }), set >= 1024 { return set }
        return value
    }

    /// A convolution with `weight` `[out, in, kernel]` and `bias` `[out]` or nil (PyTorch's layouts), PyTorch's
    /// `padding` on both ends. Nil where oneDNN is unavailable or refuses the arguments, or where
    /// `INDEXTTS_CONV=im2col` asks for the portable path: callers keep their channel-major path for that case.

    public init?(weight: Tensor, bias: Tensor?, padding: Int = 0, dilation: Int = 1, addsResidual: Bool = false) {
        guard Tensor.oneDNNConvolution, weight.rank == 3, padding >= 0, dilation >= 1 else { return nil }
        let (outChannels, inChannels, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        if let bias, bias.count != outChannels { return nil }
        // Tiles of about 256 KB of the wider side: in L2 while a tile is computed, few calls per layer.
        let tile = min(max(Self.tileElements / max(inChannels, outChannels, 1) / 16 * 16, 64), 16_384)
        let w = weight.contiguous(), b = bias?.contiguous()
        let created = withExtendedLifetime((w, b)) {
            indextts_dnnl_tm_conv_create(inChannels, outChannels, kernel, dilation, padding, w.basePointer,
                                         b.map { UnsafePointer($0.basePointer) }, tile, addsResidual ? 1 : 0)
        }
        guard let created else { return nil }
        engine = .tiled(created)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.addsResidual = addsResidual
    }

    /// A transposed convolution with `weight` `[in, out, kernel]` (PyTorch's `ConvTranspose1d` layout) and `bias`
    /// `[out]` or nil. Nil for arguments PyTorch refuses (output padding not below max(stride, dilation)).
    public init?(transposedWeight weight: Tensor, bias: Tensor?, stride: Int, padding: Int = 0, dilation: Int = 1,
                 outputPadding: Int = 0) {
        guard weight.rank == 3, stride >= 1, dilation >= 1, padding >= 0, outputPadding >= 0,
              outputPadding < max(stride, dilation) else { return nil }
        let (inChannels, outChannels, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        if let bias, bias.count != outChannels { return nil }
        if let polyphase = Self.polyphase(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                                          outputPadding: outputPadding) {
            engine = .polyphase(polyphase, phases: stride)
            self.inChannels = inChannels
            self.outChannels = outChannels
            addsResidual = false
            return
        }
        let source = weight.contiguous()
        let packed = Tensor.make([inChannels, kernel * outChannels]) { out in
            let w = source.basePointer, p = out.baseAddress!
            for i in 0..<inChannels {
                for o in 0..<outChannels {
                    for k in 0..<kernel { p[(i * kernel + k) * outChannels + o] = w[(i * outChannels + o) * kernel + k] }
                }
            }
        }
        engine = .transposed(weights: packed, bias: bias?.scalars, kernel: kernel, stride: stride, padding: padding,
                             dilation: dilation, outputPadding: outputPadding)
        self.inChannels = inChannels
        self.outChannels = outChannels
        addsResidual = false
    }

    /// The polyphase form of a transposed convolution (undilated, no output padding): output row q·stride + p is
    /// Σ_m x[q + c_p − m]·W[k_p + m·stride] with k_p = (p + padding) mod stride and c_p = ⌊(p + padding) / stride⌋,
    /// so every phase p reads input rows q + δ for δ in one small window — a convolution over the window with
    /// stride·out output channels (phase-major, zero where a phase has no tap at δ), "same"-padded by the window's
    /// left extent, whose `[time, stride·out]` output is the transposed convolution's `[time·stride, out]` rows as they
    /// lie in memory. Its convolution runs on the tiled brgemm kernels instead of SGEMM + a gather of taps. Nil where
    /// the output length is not a whole number of input rows times the stride, or oneDNN is not used.
    private static func polyphase(weight: Tensor, bias: Tensor?, stride s: Int, padding: Int, dilation: Int,
                                  outputPadding: Int) -> TimeMajorConvolution? {
        let (inChannels, outChannels, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        guard Tensor.oneDNNConvolution, s > 1, dilation == 1, outputPadding == 0, kernel >= s,
              (kernel - 2 * padding) % s == 0 else { return nil }
        // Taps per phase: (δ, k) pairs.
        var taps: [[(delta: Int, k: Int)]] = []
        for p in 0..<s {
            let k0 = (p + padding) % s, c = (p + padding) / s
            taps.append(Swift.stride(from: k0, to: kernel, by: s).enumerated().map { m, k in (c - m, k) })
        }
        let deltas = taps.joined().map(\.delta)
        guard let low = deltas.min(), let high = deltas.max(), low <= 0,
              -low - high == (kernel - 2 * padding) / s - 1 else { return nil }
        let window = high - low + 1
        let w = weight.contiguous().scalars
        var packed = [Float](repeating: 0, count: s * outChannels * inChannels * window)  // [s·out, in, window]
        for (p, phaseTaps) in taps.enumerated() {
            for (delta, k) in phaseTaps {
                for o in 0..<outChannels {
                    for i in 0..<inChannels {
                        packed[((p * outChannels + o) * inChannels + i) * window + delta - low] = w[(i * outChannels + o) * kernel + k]
                    }
                }
            }
        }
        guard let packedWeight = try? Tensor(shape: [s * outChannels, inChannels, window], scalars: packed) else { return nil }
        let packedBias = bias.flatMap { b -> Tensor? in
            let values = b.scalars
            return try? Tensor(shape: [s * outChannels], scalars: (0..<s).flatMap { _ in values })
        }
        return TimeMajorConvolution(weight: packedWeight, bias: packedBias, padding: -low)
    }

    deinit {
        if case .tiled(let handle) = engine { indextts_dnnl_tm_conv_destroy(handle) }
    }

    /// Whether this transposed convolution runs in polyphase form (a tiled convolution; else SGEMM + gather).
    public var isPolyphase: Bool {
        if case .polyphase = engine { return true }
        return false
    }

    /// Output frames for `inTime` input frames (PyTorch's formula), nil when there are none.
    public func outputTime(for inTime: Int) -> Int? {
        guard inTime > 0 else { return nil }
        switch engine {
        case .tiled(let handle):
            let t = indextts_dnnl_tm_conv_out_time(handle, inTime)
            return t > 0 ? t : nil
        case .transposed(_, _, let kernel, let stride, let padding, let dilation, let outputPadding):
            let t = (inTime - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
            return t > 0 ? t : nil
        case .polyphase(let conv, let phases):
            return conv.outputTime(for: inTime).map { $0 * phases }
        }
    }

    /// An activation applied to a convolution's input as its tiles are gathered (no separate pass over the input).
    public enum InputActivation: Sendable, Equatable {
        /// A leaky ReLU of `v·scale` (`leakyRelu(slope:scale:)`).
        case leakyRelu(slope: Float, scale: Float = 1)
    }

    /// `x` `[batch, time, in]` → `[batch, time′, out]`, plus `residual` (`[batch, time′, out]`) for a convolution
    /// prepared with `addsResidual` (which requires one). With `activation`, the convolution reads `activation(x)`
    /// (the same values as activating first; transposed convolutions activate in a separate pass).
    public func callAsFunction(_ x: Tensor, activation: InputActivation? = nil, adding residual: Tensor? = nil) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == inChannels, x.shape[0] > 0, let outTime = outputTime(for: x.shape[1]) else {
            throw TensorError.shapeMismatch(
                operation: "timeMajorConv", message: "input \(x.shape) for \(inChannels) → \(outChannels) channels")
        }
        let outShape = [x.shape[0], outTime, outChannels]
        guard (residual != nil) == addsResidual else {
            throw TensorError.invalidArgument(
                operation: "timeMajorConv", message: addsResidual ? "prepared to add a residual: give one" : "not prepared to add a residual")
        }
        if let residual, residual.shape != outShape {
            throw TensorError.shapeMismatch(operation: "timeMajorConv", message: "residual \(residual.shape) for output \(outShape)")
        }
        var source = x.contiguous()
        switch engine {
        case .tiled(let handle):
            let added = residual?.contiguous()
            var (activate, scale, slope): (Int32, Float, Float) = (0, 1, 0)
            if case .leakyRelu(let s, let k)? = activation { (activate, scale, slope) = (1, k, s) }
            var status: Int32 = 0
            let out = withExtendedLifetime((source, added)) {
                Tensor.make(outShape) { out in
                    status = indextts_dnnl_tm_conv_run(handle, x.shape[0], x.shape[1], source.basePointer, out.baseAddress!,
                                                       added.map { UnsafePointer($0.basePointer) }, activate, scale, slope)
                }
            }
            guard status == 0 else {
                throw TensorError.invalidArgument(operation: "timeMajorConv", message: "oneDNN status \(status) for input \(x.shape)")
            }
            return out
        case .polyphase(let conv, _):
            let rows = try conv(source, activation: activation)  // [batch, time, phases·out]
            return try rows.reshaped(outShape)
        case .transposed(let weights, let bias, let kernel, let stride, let padding, let dilation, _):
            if case .leakyRelu(let slope, let scale)? = activation { source = source.leakyRelu(slope: slope, scale: scale) }
            return Self.transposed(source, weights: weights, bias: bias, kernel: kernel, stride: stride, padding: padding,
                                   dilation: dilation, outChannels: outChannels, outTime: outTime)
        }
    }

    /// out[b, j, o] = Σ_k cols[b, t, k, o] over the taps with t·stride + k·dilation − padding = j (k ascending, as
    /// the channel-major path adds them), then + bias[o]; cols = rows · weights.
    private static func transposed(_ x: Tensor, weights: Tensor, bias: [Float]?, kernel: Int, stride: Int, padding: Int,
                                   dilation: Int, outChannels: Int, outTime: Int) -> Tensor {
        let (batch, time, inChannels) = (x.shape[0], x.shape[1], x.shape[2])
        let width = kernel * outChannels
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: batch * time * width)
        defer { cols.deallocate() }
        withExtendedLifetime((x, weights)) {
            Tensor.gemm(m: batch * time, n: width, k: inChannels, a: x.basePointer, transA: false, lda: inChannels,
                        b: weights.basePointer, transB: false, ldb: width, c: cols, ldc: width, beta: 0)
        }
        let columns = UncheckedSendableBox(UnsafePointer(cols))
        return Tensor.make([batch, outTime, outChannels]) { out in
            let target = UncheckedSendableBox(out.baseAddress!)
            Parallel.forEachChunk(count: batch * outTime, minimumChunk: max(1, 16_384 / max(width, 1))) { range in
                for row in range {
                    let b = row / outTime, j = row % outTime
                    let o = target.value + row * outChannels
                    o.update(repeating: 0, count: outChannels)
                    for k in 0..<kernel {
                        let position = j + padding - k * dilation
                        guard position >= 0, position % stride == 0 else { continue }
                        let t = position / stride
                        guard t < time else { continue }
                        let c = columns.value + (b * time + t) * width + k * outChannels
                        var i = 0
                        while i + 16 <= outChannels {
                            let sum = UnsafeRawPointer(o + i).loadUnaligned(as: SIMD16<Float>.self)
                                + UnsafeRawPointer(c + i).loadUnaligned(as: SIMD16<Float>.self)
                            UnsafeMutableRawPointer(o + i).storeBytes(of: sum, as: SIMD16<Float>.self)
                            i += 16
                        }
                        while i < outChannels { o[i] += c[i]; i += 1 }
                    }
                    if let bias { for i in 0..<outChannels { o[i] += bias[i] } }
                }
            }
        }
    }
}

extension Tensor {
    /// `leakyRelu(slope:)` of `self·scale` in one pass: the values of `affine(scale:).leakyRelu(slope:)`.
    public func leakyRelu(slope: Float, scale: Float) -> Tensor {
        if scale == 1 { return leakyRelu(slope: slope) }
        return Elementwise.map(self) { v in
            let x = v * scale
            return x.replacing(with: x * slope, where: x .< 0)
        }
    }
}
