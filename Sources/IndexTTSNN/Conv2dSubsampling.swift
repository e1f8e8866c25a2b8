import IndexTTSTensor

/// WeNet's `Conv2dSubsampling2` (`input_layer: conv2d2`, the input layer of UnifiedVoice's conditioning Conformers):
/// features `[batch, T, F]` seen as a one-channel image, a 3×3 convolution to C channels with stride 2, bias and ReLU,
/// then `out`, a Linear over each output frame's C·F′ values in (channel, feature) order:
/// `[batch, T, F]` → `[batch, T′, C]` with T′ = (T − 3)/2 + 1 and F′ = (F − 3)/2 + 1. Keys: `conv.0.weight`
/// `[C, 1, 3, 3]`, `conv.0.bias`, `out.0.weight` `[C, C·F′]`, `out.0.bias`.
///
/// At IndexTTS2's size (F = 1024, C = 512) a frame has C·F′ = 261,632 convolution outputs — 250 MB for a 10 s clip,
/// which a one-block layer writes, faults in page by page and reads back for a product with a 535 MB weight. Here the
/// convolution runs for a block of channels at a time (``callAsFunction(_:blockColumns:)``: about 8,192 columns,
/// 8 MB for that clip), each block is multiplied with its columns of `out`'s weight in place (a strided view, no
/// copy), and the block products are summed onto the bias. The same sums as in one block, with the product's
/// inner dimension split into blocks. On 2 Zen 4 cores, per encoder pass over a 10 s clip: 0.40–0.47 s against
/// 0.60–0.70 s (the convolution 41–45 ms against 290–340 ms, most of it page faults on the 250 MB output;
/// docs/BENCHMARKS.md, round 9).
public struct Conv2dSubsampling2: Sendable {
    public let inputDim: Int
    public let channels: Int
    /// `[C, 1, 3, 3]` and `[C]`.
    public let convWeight: Tensor
    public let convBias: Tensor
    public let out: Linear

    public init(_ loader: ParameterLoader, inputDim: Int, channels: Int) {
        self.inputDim = inputDim
        self.channels = channels
        convWeight = loader.tensor("conv.0.weight", shape: [channels, 1, 3, 3])
        convBias = loader.tensor("conv.0.bias", shape: [channels])
        out = Linear(loader.scoped("out.0"), inFeatures: channels * Self.outputLength(inputDim), outFeatures: channels)
    }

    /// A layer over weights at hand: `convWeight` `[C, 1, 3, 3]`, `convBias` `[C]`, `out` over C·F′ inputs.
    public init(inputDim: Int, convWeight: Tensor, convBias: Tensor, out: Linear) {
        self.inputDim = inputDim
        channels = convWeight.rank == 4 ? convWeight.shape[0] : convBias.count
        self.convWeight = convWeight
        self.convBias = convBias
        self.out = out
    }

    /// (n − 3)/2 + 1: the frames (or feature columns) the stride-2 3×3 convolution leaves of n.
    public static func outputLength(_ n: Int) -> Int { (n - 3) / 2 + 1 }

    /// `[batch, T, inputDim]` → `[batch, T′, C]` (T ≥ 3), convolving about `blockColumns` of the C·F′ columns at a
    /// time (whole channels; at least one).
    /// - Throws: on a shape mismatch.
    public func callAsFunction(_ x: Tensor, blockColumns: Int = 8192) throws -> Tensor {
        guard x.rank == 3, x.shape[1] >= 3, x.shape[2] == inputDim, inputDim >= 3 else {
            throw TensorError.shapeMismatch(operation: "Conv2dSubsampling2",
                                            message: "features \(x.shape), expected [batch, ≥3 frames, \(inputDim)]")
        }
        guard convWeight.shape == [channels, 1, 3, 3], convBias.shape == [channels],
              out.bias.map({ $0.shape == [channels] }) ?? true else {
            throw TensorError.shapeMismatch(
                operation: "Conv2dSubsampling2",
                message: "conv weight \(convWeight.shape), conv bias \(convBias.shape), out bias \(out.bias?.shape ?? []) for \(channels) channels")
        }
        let weights = convWeight.contiguous().scalars, biases = convBias.contiguous().scalars
        let (batch, frames) = (x.shape[0], x.shape[1])
        let time = Self.outputLength(frames), width = Self.outputLength(inputDim)
        let rows = batch * time
        let split = SplitRows(x)
        let convolution = Convolution(weights: weights, biases: biases)
        guard case .float32(let weight, .outIn) = out.weights, weight.shape == [channels, channels * width] else {
            // Weights in another form: the whole convolution output, then the layer as it is.
            let flat = convolution(split, channels: 0..<channels, time: time, width: width)
            return try out(flat).reshaped([batch, time, channels])
        }
        let perBlock = Swift.max(1, Swift.min(channels, blockColumns / Swift.max(width, 1)))
        // Sums kept as `[C, rows]`: each block's product is computed as W[:, block]·columnsᵀ, whose left operand is
        // the weight's column slice read in place (row-major, rows C·F′ apart; as the right operand oneDNN would
        // repack it on every call) and whose output adds to the sums contiguously.
        var sums = [Float](repeating: 0, count: channels * rows)
        if let bias = out.bias?.contiguous().scalars {
            for o in 0..<channels { for r in 0..<rows { sums[o * rows + r] = bias[o] } }
        }
        var first = 0
        while first < channels {
            let block = first..<Swift.min(channels, first + perBlock)
            let columns = convolution(split, channels: block, time: time, width: width)  // [rows, block·F′]
            let slice = try weight.sliced(axis: 1, range: (block.lowerBound * width)..<(block.upperBound * width))
            let partial = try slice.matmul(columns.transposed(0, 1)).contiguous()  // [C, rows]
            withExtendedLifetime(partial) {
                let p = partial.basePointer
                sums.withUnsafeMutableBufferPointer { s in
                    for i in 0..<(channels * rows) { s[i] += p[i] }
                }
            }
            first = block.upperBound
        }
        return try Tensor(shape: [channels, rows], scalars: sums).transposed(0, 1).contiguous().reshaped([batch, time, channels])
    }

    /// Every input row split into its even and odd columns (each padded with zeros to `stride`, a whole number of
    /// vectors), so that every tap of the stride-2 convolution reads a contiguous vector.
    struct SplitRows {
        let stride: Int
        let frames: Int
        let features: Int
        let values: [Float]

        init(_ x: Tensor) {
            let input = x.contiguous()
            let (batch, frames, features) = (x.shape[0], x.shape[1], x.shape[2])
            let half = features / 2 + 1
            let stride = (half + 8) / 8 * 8
            var values = [Float](repeating: 0, count: batch * frames * 2 * stride)
            values.withUnsafeMutableBufferPointer { v in
                let dst = v.baseAddress!
                withExtendedLifetime(input) {
                    let src = UnsafePointer(input.basePointer)
                    for row in 0..<(batch * frames) {
                        let line = src + row * features
                        let even = dst + row * 2 * stride, odd = even + stride
                        var f = 0
                        while f < features {
                            even[f / 2] = line[f]
                            if f + 1 < features { odd[f / 2] = line[f + 1] }
                            f += 2
                        }
                    }
                }
            }
            (self.stride, self.frames, self.features, self.values) = (stride, frames, features, values)
        }
    }

    /// The convolution's bias and ReLU for a range of channels: element `[b·T′ + t, (c − first)·F′ + f] =
    /// relu(bias[c] + Σ_{i,j<3} w[c, 0, i, j]·x[b, 2t + i, 2f + j])`.
    struct Convolution {
        let weights: [Float]
        let biases: [Float]
        /// `weights` and `biases` broadcast to vectors, once per call of the layer.
        let taps: [SIMD8<Float>]
        let biasVectors: [SIMD8<Float>]

        init(weights: [Float], biases: [Float]) {
            (self.weights, self.biases) = (weights, biases)
            taps = weights.map { SIMD8<Float>(repeating: $0) }
            biasVectors = biases.map { SIMD8<Float>(repeating: $0) }
        }

        func callAsFunction(_ split: SplitRows, channels: Range<Int>, time: Int, width: Int) -> Tensor {
            typealias V = SIMD8<Float>
            let batch = split.values.count / Swift.max(split.frames * 2 * split.stride, 1)
            let rows = batch * time, rowLength = channels.count * width
            let (weights, biases, taps, biasVectors) = (weights, biases, taps, biasVectors)
            let (stride, frames) = (split.stride, split.frames)
            return split.values.withUnsafeBufferPointer { values in
                let source = values.baseAddress!
                return Tensor.make([rows, rowLength]) { out in
                    let dst = out.baseAddress!
                    Parallel.forEachChunk(count: rows, minimumChunk: Swift.max(1, 16_384 / Swift.max(rowLength, 1))) { range in
                        for row in range {
                            let b = row / time, t = row % time
                            // Input rows 2t, 2t + 1, 2t + 2: (even, odd) halves.
                            let base = source + (b * frames + 2 * t) * 2 * stride
                            let target = dst + row * rowLength
                            let full = width / 8 * 8
                            for c in channels {
                                let o = target + (c - channels.lowerBound) * width
                                func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
                                var f = 0
                                while f < full {
                                    var acc = biasVectors[c]
                                    for i in 0..<3 {
                                        let even = base + 2 * i * stride + f, odd = even + stride
                                        acc.addProduct(taps[9 * c + 3 * i], load(even))
                                        acc.addProduct(taps[9 * c + 3 * i + 1], load(odd))
                                        acc.addProduct(taps[9 * c + 3 * i + 2], load(even + 1))
                                    }
                                    UnsafeMutableRawPointer(o + f).storeBytes(of: VectorMath.maximum(acc, .zero), as: V.self)
                                    f += 8
                                }
                                while f < width {
                                    var acc = biases[c]
                                    for i in 0..<3 {
                                        let even = base + 2 * i * stride, odd = even + stride
                                        acc += weights[9 * c + 3 * i] * even[f] + weights[9 * c + 3 * i + 1] * odd[f]
                                            + weights[9 * c + 3 * i + 2] * even[f + 1]
                                    }
                                    o[f] = Swift.max(acc, 0)
                                    f += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
