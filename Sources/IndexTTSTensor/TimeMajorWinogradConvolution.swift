import CIndexTTSKernels

/// A stride-1, one-group 1-D convolution of up to 5 taps over time-major rows, computed with Winograd's
/// minimal filtering F(4, 5): `[batch, time, inChannels]` → `[batch, outTime, outChannels]`, where the padded input
/// is described by a frame table (``callAsFunction(_:frames:)``) so that zero, reflect or any other padding costs no
/// copy.
///
/// Every tile of 4 output frames of one dilation phase (frames t, t + d, t + 2d, t + 3d) reads 8 input frames (t + d·j
/// on the padded sequence); 8 multiplications per tile instead of 20 (5 taps), run as 8 matrix products
/// `[tiles, in] · [in, out]` (OpenBLAS) between an input transform (`indextts_winograd45_input`) and an output
/// transform that adds the bias: 2 products per output frame instead of 5, 40 % of the direct arithmetic, and a
/// product of depth `in` instead of an im2col product of depth 5·`in`.
/// Points 0, ±1, ±2, ±1/2, ∞ (`tools/winograd/derive.py`); the transforms round differently from the direct sum, by
/// about 1e-6 of the largest output over 512 input channels (the direct fp32 sum: a few 1e-7).
///
/// The transformed weights `[8, in, out]` take 8/`kernel` times the original's memory (1.6× at 5 taps). Immutable;
/// safe to share between threads.
public struct TimeMajorWinogradConvolution: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let dilation: Int
    /// `[8, inChannels, outChannels]`.
    let transformed: Tensor
    let bias: Tensor?

    /// Prepares `weight` `[outChannels, inChannels, kernel]` (PyTorch's layout, kernel 1…5) and `bias` `[outChannels]`.
    /// - Throws: ``TensorError`` for a weight that is empty, not rank 3 or wider than 5 taps, a mismatched bias or a
    ///   dilation outside 1…2²⁰.
    public init(weight: Tensor, bias: Tensor?, dilation: Int = 1) throws {
        guard weight.rank == 3, weight.count > 0, (1...5).contains(weight.shape[2]), (1...(1 << 20)).contains(dilation) else {
            throw TensorError.invalidArgument(
                operation: "TimeMajorWinogradConvolution",
                message: "weight \(weight.shape) (expects [out, in, 1…5]), dilation \(dilation)")
        }
        let (o, i, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        if let bias, bias.count != o {
            throw TensorError.shapeMismatch(operation: "TimeMajorWinogradConvolution", message: "bias \(bias.shape) for \(o) channels")
        }
        let w = weight.contiguous()
        transformed = Tensor.make([8, i, o]) { u in
            let target = UncheckedSendableBox(u.baseAddress!)
            Parallel.forEachChunk(count: i, minimumChunk: 1) { range in
                indextts_winograd45_weights(w.basePointer, o, i, k, range.lowerBound, range.upperBound, target.value)
            }
        }
        self.bias = bias?.contiguous()
        (inChannels, outChannels, kernel, self.dilation) = (i, o, k, dilation)
    }

    /// Tiles per chunk: the transformed input and the products of a chunk within 32 MiB, at least 64 tiles.
    static func chunkTiles(inChannels: Int, outChannels: Int) -> Int {
        max(64, (8 << 20) / max(8 * (inChannels + outChannels), 1))
    }

    /// Convolves every batch item of `x` `[batch, time, inChannels]` over the padded sequence `frames`: entry p is the
    /// frame (`0 ..< time`) that padded position p holds, or −1 for a frame of zeros (the same table for every item).
    /// Output frame t sums taps κ over padded positions t + κ·dilation: `outTime = frames.count − dilation·(kernel − 1)`.
    /// - Returns: `[batch, outTime, outChannels]`.
    /// - Throws: ``TensorError`` for a mismatched input, a table entry outside −1 ..< time or a table shorter than
    ///   the kernel.
    public func callAsFunction(_ x: Tensor, frames: [Int]) throws -> Tensor {
        try self(x, frames: frames, chunkTiles: Self.chunkTiles(inChannels: inChannels, outChannels: outChannels))
    }

    /// The same in chunks of `chunkTiles` tiles (tests use small chunks to cross many chunk edges).
    func callAsFunction(_ x: Tensor, frames: [Int], chunkTiles: Int) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == inChannels else {
            throw TensorError.shapeMismatch(
                operation: "TimeMajorWinogradConvolution", message: "input \(x.shape) for \(inChannels) input channels (expects [batch, time, in])")
        }
        let (batch, time) = (x.shape[0], x.shape[1])
        let d = dilation
        let outTime = frames.count - d * (kernel - 1)
        guard outTime >= 1 else {
            throw TensorError.invalidArgument(
                operation: "TimeMajorWinogradConvolution",
                message: "\(frames.count) padded frames for a kernel of \(kernel) taps at dilation \(d)")
        }
        if let bad = frames.first(where: { $0 < -1 || $0 >= time }) {
            throw TensorError.invalidArgument(
                operation: "TimeMajorWinogradConvolution", message: "frame table entry \(bad) outside -1..<\(time)")
        }
        let input = x.contiguous()
        let (i, o) = (inChannels, outChannels)
        // Per item, one tile of each dilation phase per block of 4·d output frames.
        let perItem = (outTime + 4 * d - 1) / (4 * d) * d
        let tileCount = batch * perItem
        guard tileCount > 0 else { return Tensor.zeros([batch, outTime, o]) }  // an empty batch
        // Chunks of equal size (a short last chunk would make narrow products that still pack all the weights).
        let chunkCount = (tileCount + max(1, chunkTiles) - 1) / max(1, chunkTiles)
        let chunk = (tileCount + chunkCount - 1) / chunkCount
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 8 * (i + o) * chunk)
        defer { scratch.deallocate() }
        var inputRows = [UnsafePointer<Float>?](repeating: nil, count: 8 * chunk)
        var outputRows = [UnsafeMutablePointer<Float>?](repeating: nil, count: 4 * chunk)
        let weights = UnsafePointer(transformed.basePointer)
        let biasPointer = bias.map { UnsafePointer($0.basePointer) }
        return Tensor.make([batch, outTime, o]) { out in
            let source = UnsafePointer(input.basePointer), target = out.baseAddress!
            for first in stride(from: 0, to: tileCount, by: chunk) {
                let tiles = min(chunk, tileCount - first)
                for n in 0..<tiles {
                    let (b, tile) = ((first + n) / perItem, (first + n) % perItem)
                    let start = 4 * d * (tile / d) + tile % d  // the tile's first output frame
                    for j in 0..<8 {
                        let p = start + d * j
                        let frame = p < frames.count ? frames[p] : -1
                        inputRows[8 * n + j] = frame < 0 ? nil : source + (b * time + frame) * i
                    }
                    for r in 0..<4 {
                        let t = start + d * r
                        outputRows[4 * n + r] = t < outTime ? target + (b * outTime + t) * o : nil
                    }
                }
                let v = UncheckedSendableBox(scratch), products = UncheckedSendableBox(scratch + 8 * i * tiles)
                inputRows.withUnsafeBufferPointer { rows in
                    let table = UncheckedSendableBox(rows.baseAddress!)
                    Parallel.forEachChunk(count: tiles, minimumChunk: max(1, 16_384 / i)) { range in
                        indextts_winograd45_input(table.value, i, range.lowerBound, range.upperBound, tiles, v.value)
                    }
                }
                for xi in 0..<8 {
                    Tensor.gemm(m: tiles, n: o, k: i, a: v.value + xi * tiles * i, transA: false, lda: i,
                                b: weights + xi * i * o, transB: false, ldb: o,
                                c: products.value + xi * tiles * o, ldc: o, beta: 0)
                }
                outputRows.withUnsafeBufferPointer { rows in
                    let table = UncheckedSendableBox(rows.baseAddress!)
                    Parallel.forEachChunk(count: tiles, minimumChunk: max(1, 16_384 / o)) { range in
                        indextts_winograd45_output(products.value, o, range.lowerBound, range.upperBound, tiles,
                                                   biasPointer, table.value)
                    }
                }
            }
        }
    }
}
