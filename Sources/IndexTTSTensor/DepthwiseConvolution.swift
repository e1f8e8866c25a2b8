/// Depthwise convolution over the time axis of time-major activations, the layout conformer and ConvNeXt blocks
/// keep between their linear layers (saves the two transposes a channel-major `conv1d(groups:)` would need).
extension Tensor {
    /// `torch.nn.Conv1d(C, C, K, groups=C)` applied to `self` `[batch, time, C]` after zero-padding the time axis
    /// with `padLeft` and `padRight` frames: `out[b, t, c] = bias[c] + Σ_k weight[c, 0, k]·x[b, t + k − padLeft, c]`.
    /// - Parameters:
    ///   - weight: `[C, 1, K]` (PyTorch's depthwise layout).
    ///   - bias: `[C]` or nil.
    /// - Returns: `[batch, time + padLeft + padRight − K + 1, C]`.
    public func depthwiseConv1dTimeMajor(weight: Tensor, bias: Tensor? = nil, padLeft: Int, padRight: Int) throws -> Tensor {
        guard rank == 3, weight.rank == 3, weight.shape[0] == shape[2], weight.shape[1] == 1, padLeft >= 0, padRight >= 0 else {
            throw TensorError.shapeMismatch(
                operation: "depthwiseConv1dTimeMajor",
                message: "input \(shape) (expected [batch, time, channels]), weight \(weight.shape), padding \(padLeft)/\(padRight)")
        }
        let (batch, frames, channels, kernel) = (shape[0], shape[1], shape[2], weight.shape[2])
        if let bias, bias.count != channels {
            throw TensorError.shapeMismatch(operation: "depthwiseConv1dTimeMajor", message: "bias \(bias.shape) for \(channels) channels")
        }
        let outFrames = frames + padLeft + padRight - kernel + 1
        guard kernel >= 1, outFrames >= 1 else {
            throw TensorError.invalidArgument(
                operation: "depthwiseConv1dTimeMajor", message: "kernel \(kernel) longer than \(frames) padded frames")
        }
        // Taps transposed to [K, C] so that each tap is a contiguous row over the channels.
        let w = weight.contiguous()
        var taps = [Float](repeating: 0, count: kernel * channels)
        w.withUnsafeBufferPointer { src in
            for c in 0..<channels { for k in 0..<kernel { taps[k * channels + c] = src[c * kernel + k] } }
        }
        let b = bias?.contiguous()
        let x = contiguous()
        return withExtendedLifetime((x, b)) {
            Tensor.make([batch, outFrames, channels]) { out in
                let src = UnsafePointer(x.basePointer), dst = out.baseAddress!
                let biasPointer = b.map { UnsafePointer($0.basePointer) }
                taps.withUnsafeBufferPointer { tapBuffer in
                    let tapBase = tapBuffer.baseAddress!
                    Parallel.forEachChunk(count: batch * outFrames, minimumChunk: max(1, 16_384 / max(channels * kernel, 1))) { rows in
                        for row in rows {
                            let bIndex = row / outFrames, t = row % outFrames
                            let o = dst + row * channels
                            if let biasPointer { o.update(from: biasPointer, count: channels) } else { o.update(repeating: 0, count: channels) }
                            let first = max(0, padLeft - t), last = min(kernel, frames + padLeft - t)
                            guard first < last else { continue }
                            for k in first..<last {
                                let input = src + (bIndex * frames + t + k - padLeft) * channels
                                let tap = tapBase + k * channels
                                var c = 0
                                while c + 8 <= channels {
                                    let acc = UnsafeRawPointer(o + c).loadUnaligned(as: SIMD8<Float>.self)
                                    let xv = UnsafeRawPointer(input + c).loadUnaligned(as: SIMD8<Float>.self)
                                    let wv = UnsafeRawPointer(tap + c).loadUnaligned(as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(o + c).storeBytes(of: acc.addingProduct(xv, wv), as: SIMD8<Float>.self)
                                    c += 8
                                }
                                while c < channels {
                                    o[c] += input[c] * tap[c]
                                    c += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
