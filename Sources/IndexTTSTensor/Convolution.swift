import CIndexTTSDNNL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Convolutions: 1-D ones on oneDNN's direct convolution where it works (``Tensor/oneDNNConvolution``), else, and
/// for the rest, im2col + OpenBLAS GEMM, with direct kernels for pointwise and depthwise cases.
/// Weight layouts are PyTorch's: conv `[out, in/groups, kernel…]`, transposed conv `[in, out/groups, kernel]`.
extension Tensor {
    /// How `conv1d` fills the padded border (`torch.nn.Conv1d(padding_mode:)`).
    public enum PaddingMode: String, Sendable, Codable {
        case zeros, reflect, replicate, circular
    }

    /// Pads the last axis of `[…, T]` with `left`/`right` elements.
    /// - Throws: when reflect padding is not smaller than `T`, or circular padding exceeds it.
    public func padded(left: Int, right: Int, mode: PaddingMode = .zeros, value: Float = 0) throws -> Tensor {
        guard left >= 0, right >= 0, rank >= 1 else {
            throw TensorError.invalidArgument(operation: "pad", message: "left \(left), right \(right) for \(shape)")
        }
        if left == 0 && right == 0 { return self }
        let t = shape[rank - 1]
        switch mode {
        case .reflect where left >= t || right >= t:
            throw TensorError.invalidArgument(
                operation: "pad", message: "reflect padding (\(left), \(right)) must be smaller than the length \(t)")
        case .circular where left > t || right > t:
            throw TensorError.invalidArgument(
                operation: "pad", message: "circular padding (\(left), \(right)) exceeds the length \(t)")
        case .replicate where t == 0:
            throw TensorError.invalidArgument(operation: "pad", message: "replicate padding of an empty axis")
        default: break
        }
        let x = contiguous()
        let rows = x.count / max(t, 1)
        let outT = t + left + right
        return Tensor.make(Array(shape.dropLast()) + [outT]) { out in
            let src = UnsafePointer(x.basePointer), dst = out.baseAddress!
            for r in 0..<rows {
                let s = src + r * t, d = dst + r * outT
                (d + left).update(from: s, count: t)
                for i in 0..<left {
                    let j = i - left  // source index, negative
                    switch mode {
                    case .zeros: d[i] = value
                    case .reflect: d[i] = s[-j]
                    case .replicate: d[i] = s[0]
                    case .circular: d[i] = s[t + j]
                    }
                }
                for i in 0..<right {
                    let j = t + i
                    switch mode {
                    case .zeros: d[left + j] = value
                    case .reflect: d[left + j] = s[2 * t - 2 - j]
                    case .replicate: d[left + j] = s[t - 1]
                    case .circular: d[left + j] = s[i]
                    }
                }
            }
        }
    }

    /// 1-D convolution: `[batch, inChannels, time]` → `[batch, outChannels, outTime]` with
    /// `outTime = (time + left + right − dilation·(kernel − 1) − 1)/stride + 1`.
    /// - Parameters:
    ///   - weight: `[outChannels, inChannels/groups, kernel]`.
    ///   - bias: `[outChannels]` or nil.
    ///   - padding: symmetric padding on both ends, filled according to `paddingMode`. For asymmetric (causal)
    ///     padding call ``padded(left:right:mode:value:)`` first and pass 0 here.
    ///   - bfloat16Weight: `weight` as a prepared `[outChannels, inChannels·kernel]` bfloat16 matrix (one group
    ///     only): the product then runs in bfloat16 with fp32 accumulation (``ComputePrecision/bfloat16``).
    public func conv1d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                       groups: Int = 1, paddingMode: PaddingMode = .zeros,
                       bfloat16Weight: BFloat16Matrix? = nil) throws -> Tensor {
        try conv1d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups,
                   paddingMode: paddingMode, bfloat16Weight: bfloat16Weight, oneDNN: Self.oneDNNConvolution)
    }

    /// Whether fp32 convolutions with one group and a kernel wider than one frame run on oneDNN's direct
    /// convolution (`indextts_dnnl_conv1d`): where oneDNN works, unless `INDEXTTS_CONV=im2col` asks for the portable
    /// path (im2col copy + SGEMM). On 2 Zen 4 cores oneDNN measured 1.3× (768 channels) to 8× (24 channels) faster
    /// than im2col + OpenBLAS on BigVGAN's shapes, whose narrow late stages make a skinny GEMM.
    public static let oneDNNConvolution: Bool = {
        if let value = getenv("INDEXTTS_CONV"), String(cString: value).lowercased() == "im2col" { return false }
        return OneDNN.ready
    }()

    /// ``conv1d(weight:bias:stride:padding:dilation:groups:paddingMode:bfloat16Weight:)`` with the engine chosen
    /// (`oneDNN: false` forces im2col + SGEMM; tests compare the two).
    func conv1d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, dilation: Int, groups: Int,
                paddingMode: PaddingMode, bfloat16Weight: BFloat16Matrix?, oneDNN: Bool) throws -> Tensor {
        guard rank == 3, weight.rank == 3, groups >= 1, stride >= 1, dilation >= 1, padding >= 0 else {
            throw TensorError.invalidArgument(
                operation: "conv1d", message: "input \(shape), weight \(weight.shape), stride \(stride), dilation \(dilation), groups \(groups)")
        }
        let (batch, inChannels) = (shape[0], shape[1])
        let (outChannels, inPerGroup, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        guard inChannels % groups == 0, outChannels % groups == 0, inPerGroup == inChannels / groups else {
            throw TensorError.shapeMismatch(
                operation: "conv1d", message: "input \(shape) with weight \(weight.shape) and \(groups) groups")
        }
        if let bias, bias.count != outChannels {
            throw TensorError.shapeMismatch(operation: "conv1d", message: "bias \(bias.shape) for \(outChannels) channels")
        }
        let x = try padded(left: padding, right: padding, mode: paddingMode).contiguous()
        let paddedTime = x.shape[2]
        let span = dilation * (kernel - 1) + 1
        guard paddedTime >= span else {
            throw TensorError.invalidArgument(
                operation: "conv1d", message: "input length \(shape[2]) (padded \(paddedTime)) shorter than the kernel span \(span)")
        }
        let outTime = (paddedTime - span) / stride + 1
        let outPerGroup = outChannels / groups
        let w = weight.contiguous()
        let biasValues = bias?.scalars
        let denseBias = bias?.contiguous()  // oneDNN reads the bias in place
        if let bfloat16Weight, groups != 1 || bfloat16Weight.rows != outChannels || bfloat16Weight.columns != inPerGroup * kernel {
            throw TensorError.shapeMismatch(
                operation: "conv1d", message: "bf16 weight [\(bfloat16Weight.rows), \(bfloat16Weight.columns)] for weight \(weight.shape), \(groups) groups")
        }
        return Tensor.make([batch, outChannels, outTime]) { out in
            let dst = out.baseAddress!, src = UnsafePointer(x.basePointer), wp = UnsafePointer(w.basePointer)
            if inPerGroup == 1 && outPerGroup == 1 {
                Tensor.depthwiseConv1d(src: src, weight: wp, dst: dst, rows: batch * inChannels, channels: inChannels,
                                       inTime: paddedTime, outTime: outTime, kernel: kernel, stride: stride, dilation: dilation)
            } else if oneDNN, groups == 1, bfloat16Weight == nil, kernel > 1,
                      indextts_dnnl_conv1d(batch, inChannels, paddedTime, outChannels, kernel, stride, dilation, src, wp,
                                           denseBias.map { UnsafePointer($0.basePointer) }, dst) == 0 {
                return  // bias included
            } else if let bfloat16Weight, stride == 1 {
                // bfloat16 product: the input's rows rounded straight into the bfloat16 column matrix (im2col and the
                // product's rounding of an fp32 operand in one pass, the same bits).
                let colRows = inPerGroup * kernel
                let cols = UnsafeMutablePointer<UInt16>.allocate(capacity: colRows * outTime)
                defer { cols.deallocate() }
                let source = UncheckedSendableBox(src), target = UncheckedSendableBox(cols)
                for b in 0..<batch {
                    let xg = b * inChannels * paddedTime
                    Parallel.forEachChunk(count: colRows, minimumChunk: max(1, 16_384 / max(outTime, 1))) { range in
                        for row in range {
                            let c = row / kernel, k = row % kernel
                            indextts_to_bf16(source.value + xg + c * paddedTime + k * dilation, target.value + row * outTime, outTime)
                        }
                    }
                    Tensor.bfloat16Product(m: outChannels, n: outTime, k: colRows, a: .bfloat16(bfloat16Weight),
                                           transA: false, lda: colRows, b: .bfloat16Bits(cols), transB: false, ldb: outTime,
                                           c: dst + b * outChannels * outTime, ldc: outTime, beta: 0)
                }
            } else {
                let colRows = inPerGroup * kernel
                let pointwise = kernel == 1 && stride == 1
                let cols = pointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: colRows * outTime)
                defer { cols?.deallocate() }
                for b in 0..<batch {
                    for g in 0..<groups {
                        let xg = src + (b * inChannels + g * inPerGroup) * paddedTime
                        var operand = xg, ld = paddedTime
                        if let cols {
                            Tensor.im2col1d(src: xg, cols: cols, channels: inPerGroup, inTime: paddedTime, outTime: outTime,
                                            kernel: kernel, stride: stride, dilation: dilation)
                            operand = UnsafePointer(cols)
                            ld = outTime
                        }
                        if let bfloat16Weight {
                            Tensor.bfloat16Product(m: outPerGroup, n: outTime, k: colRows, a: .bfloat16(bfloat16Weight),
                                                   transA: false, lda: colRows, b: .float32(operand), transB: false, ldb: ld,
                                                   c: dst + b * outChannels * outTime, ldc: outTime, beta: 0)
                        } else {
                            Tensor.gemm(m: outPerGroup, n: outTime, k: colRows,
                                        a: wp + g * outPerGroup * colRows, transA: false, lda: colRows,
                                        b: operand, transB: false, ldb: ld,
                                        c: dst + (b * outChannels + g * outPerGroup) * outTime, ldc: outTime, beta: 0)
                        }
                    }
                }
            }
            if let biasValues {
                Tensor.addChannelBias(dst, bias: biasValues, rows: batch * outChannels, length: outTime)
            }
        }
    }

    /// 2-D convolution (zero padding): `[batch, inChannels, height, width]` → `[batch, outChannels, outH, outW]`;
    /// weight `[outChannels, inChannels/groups, kernelH, kernelW]`.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                       dilation: (Int, Int) = (1, 1), groups: Int = 1) throws -> Tensor {
        guard rank == 4, weight.rank == 4, groups >= 1, stride.0 >= 1, stride.1 >= 1, dilation.0 >= 1, dilation.1 >= 1,
              padding.0 >= 0, padding.1 >= 0 else {
            throw TensorError.invalidArgument(operation: "conv2d", message: "input \(shape), weight \(weight.shape)")
        }
        let (batch, inChannels, height, width) = (shape[0], shape[1], shape[2], shape[3])
        let (outChannels, inPerGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        guard inChannels % groups == 0, outChannels % groups == 0, inPerGroup == inChannels / groups else {
            throw TensorError.shapeMismatch(operation: "conv2d", message: "input \(shape) with weight \(weight.shape), \(groups) groups")
        }
        if let bias, bias.count != outChannels {
            throw TensorError.shapeMismatch(operation: "conv2d", message: "bias \(bias.shape) for \(outChannels) channels")
        }
        let spanH = dilation.0 * (kh - 1) + 1, spanW = dilation.1 * (kw - 1) + 1
        guard height + 2 * padding.0 >= spanH, width + 2 * padding.1 >= spanW else {
            throw TensorError.invalidArgument(operation: "conv2d", message: "input \(shape) smaller than the kernel span")
        }
        let outH = (height + 2 * padding.0 - spanH) / stride.0 + 1
        let outW = (width + 2 * padding.1 - spanW) / stride.1 + 1
        let x = contiguous(), w = weight.contiguous()
        let outPerGroup = outChannels / groups
        let colRows = inPerGroup * kh * kw, colCols = outH * outW
        let biasValues = bias?.scalars
        return Tensor.make([batch, outChannels, outH, outW]) { out in
            let dst = out.baseAddress!, src = UnsafePointer(x.basePointer)
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: colRows * colCols)
            defer { cols.deallocate() }
            for b in 0..<batch {
                for g in 0..<groups {
                    let xg = src + (b * inChannels + g * inPerGroup) * height * width
                    Parallel.forEachChunk(count: colRows, minimumChunk: max(1, 8192 / max(colCols, 1))) { range in
                        for row in range {
                            let c = row / (kh * kw), ky = (row / kw) % kh, kx = row % kw
                            let plane = xg + c * height * width
                            let dstRow = cols + row * colCols
                            for oy in 0..<outH {
                                let iy = oy * stride.0 + ky * dilation.0 - padding.0
                                for ox in 0..<outW {
                                    let ix = ox * stride.1 + kx * dilation.1 - padding.1
                                    dstRow[oy * outW + ox] = (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                        ? plane[iy * width + ix] : 0
                                }
                            }
                        }
                    }
                    Tensor.gemm(m: outPerGroup, n: colCols, k: colRows,
                                a: w.basePointer + g * outPerGroup * colRows, transA: false, lda: colRows,
                                b: cols, transB: false, ldb: colCols,
                                c: dst + (b * outChannels + g * outPerGroup) * colCols, ldc: colCols, beta: 0)
                }
            }
            if let biasValues {
                Tensor.addChannelBias(dst, bias: biasValues, rows: batch * outChannels, length: colCols)
            }
        }
    }

    /// Transposed 1-D convolution: `[batch, inChannels, time]` → `[batch, outChannels, outTime]` with
    /// `outTime = (time − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1`;
    /// weight `[inChannels, outChannels/groups, kernel]`.
    public func convTranspose1d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                                outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1) throws -> Tensor {
        guard rank == 3, weight.rank == 3, groups >= 1, stride >= 1, dilation >= 1, padding >= 0, outputPadding >= 0,
              outputPadding < max(stride, dilation) else {
            throw TensorError.invalidArgument(
                operation: "convTranspose1d", message: "input \(shape), weight \(weight.shape), stride \(stride), output padding \(outputPadding)")
        }
        let (batch, inChannels, inTime) = (shape[0], shape[1], shape[2])
        let (weightIn, outPerGroup, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        guard weightIn == inChannels, inChannels % groups == 0 else {
            throw TensorError.shapeMismatch(operation: "convTranspose1d", message: "input \(shape) with weight \(weight.shape)")
        }
        let outChannels = outPerGroup * groups
        if let bias, bias.count != outChannels {
            throw TensorError.shapeMismatch(operation: "convTranspose1d", message: "bias \(bias.shape) for \(outChannels) channels")
        }
        let outTime = (inTime - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
        guard outTime > 0 else {
            throw TensorError.invalidArgument(operation: "convTranspose1d", message: "output length \(outTime) for input \(shape)")
        }
        let inPerGroup = inChannels / groups
        let x = contiguous(), w = weight.contiguous()
        let colRows = outPerGroup * kernel
        let biasValues = bias?.scalars
        return Tensor.make([batch, outChannels, outTime]) { out in
            let dst = out.baseAddress!
            dst.update(repeating: 0, count: out.count)
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: colRows * inTime)
            defer { cols.deallocate() }
            for b in 0..<batch {
                for g in 0..<groups {
                    // cols[co·K + k, t] = Σ_ci W[ci, co, k]·x[ci, t]
                    Tensor.gemm(m: colRows, n: inTime, k: inPerGroup,
                                a: w.basePointer + g * inPerGroup * colRows, transA: true, lda: colRows,
                                b: x.basePointer + (b * inChannels + g * inPerGroup) * inTime, transB: false, ldb: inTime,
                                c: cols, ldc: inTime, beta: 0)
                    let og = dst + (b * outChannels + g * outPerGroup) * outTime
                    let colsView = UnsafePointer(cols)
                    Parallel.forEachChunk(count: outPerGroup, minimumChunk: max(1, 4096 / max(inTime * kernel, 1))) { range in
                        for co in range {
                            let o = og + co * outTime
                            for k in 0..<kernel {
                                let row = colsView + (co * kernel + k) * inTime
                                let shift = k * dilation - padding
                                for t in 0..<inTime {
                                    let pos = t * stride + shift
                                    if pos >= 0 && pos < outTime { o[pos] += row[t] }
                                }
                            }
                        }
                    }
                }
            }
            if let biasValues {
                Tensor.addChannelBias(dst, bias: biasValues, rows: batch * outChannels, length: outTime)
            }
        }
    }

    static func im2col1d(src: UnsafePointer<Float>, cols: UnsafeMutablePointer<Float>, channels: Int, inTime: Int,
                         outTime: Int, kernel: Int, stride: Int, dilation: Int) {
        Parallel.forEachChunk(count: channels * kernel, minimumChunk: max(1, 16_384 / max(outTime, 1))) { range in
            for row in range {
                let c = row / kernel, k = row % kernel
                let s = src + c * inTime + k * dilation
                let d = cols + row * outTime
                if stride == 1 {
                    d.update(from: s, count: outTime)
                } else {
                    for t in 0..<outTime { d[t] = s[t * stride] }
                }
            }
        }
    }

    static func depthwiseConv1d(src: UnsafePointer<Float>, weight: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>,
                                rows: Int, channels: Int, inTime: Int, outTime: Int, kernel: Int, stride: Int,
                                dilation: Int) {
        typealias V = SIMD8<Float>
        Parallel.forEachChunk(count: rows, minimumChunk: max(1, 8192 / max(outTime * kernel, 1))) { range in
            for row in range {
                let c = row % channels
                let s = src + row * inTime, d = dst + row * outTime, wk = weight + c * kernel
                d.update(repeating: 0, count: outTime)
                for k in 0..<kernel {
                    let wv = wk[k]
                    let base = s + k * dilation
                    if stride == 1 {
                        Elementwise.zipDense(UnsafePointer(d), 1, base, 1, d, count: outTime) { acc, v in acc + v * wv }
                    } else {
                        for t in 0..<outTime { d[t] += wv * base[t * stride] }
                    }
                }
            }
        }
    }

    static func addChannelBias(_ dst: UnsafeMutablePointer<Float>, bias: [Float], rows: Int, length: Int) {
        let channels = bias.count
        Parallel.forEachChunk(count: rows, minimumChunk: max(1, Elementwise.parallelThreshold / max(length, 1))) { range in
            for r in range {
                let value = bias[r % channels]
                Elementwise.mapDense(UnsafePointer(dst + r * length), dst + r * length, count: length) { $0 + value }
            }
        }
    }
}
