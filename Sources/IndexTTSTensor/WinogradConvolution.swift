import CIndexTTSKernels
import Foundation

/// The process-wide switch for the models' Winograd convolutions (BigVGAN's resblocks, the S2M WaveNet head).
public enum Winograd {
    /// Whether models use Winograd convolutions where they offer them: `INDEXTTS_WINOGRAD=off` (or `0`, `no`,
    /// `false`) turns them off for the process (read once at first use).
    public static let enabledByEnvironment = !EnvironmentSwitch.isOff("INDEXTTS_WINOGRAD")
}

/// The tensor core's on/off environment variables (`INDEXTTS_POOL`, `INDEXTTS_WINOGRAD`).
enum EnvironmentSwitch {
    /// Whether `name` is set to `off`, `0`, `no` or `false` (any case).
    static func isOff(_ name: String) -> Bool {
        guard let value = getenv(name) else { return false }
        return ["off", "0", "no", "false"].contains(String(cString: value).lowercased())
    }
}

/// A stride-1, one-group 1-D convolution with zero padding on both ends, computed with Winograd's minimal filtering
/// F(4, 4): `[batch, inChannels, time]` → `[batch, outChannels, outTime]`, `outTime = time + 2·padding −
/// dilation·(kernel − 1)`, the same function as ``Tensor/conv1d(weight:bias:stride:padding:dilation:groups:paddingMode:bfloat16Weight:)``.
///
/// The filter is cut into J = ⌈kernel/4⌉ sub-filters of 4 taps (the last one zero-padded); each block of 4 outputs of
/// one dilation phase takes 7 multiplications per sub-filter instead of 16. The input's tiles are transformed
/// (`indextts_winograd44_input`), multiplied by the transformed weights in 7 matrix products `[out, J·in] ·
/// [J·in, tiles]` (OpenBLAS, or oneDNN where it runs the products), and transformed back. Per output: 7·J/4
/// products instead of `kernel` (kernel 11: 5.25 against 11; 7: 3.5 against 7; 3: 1.75 against 3) — about half the
/// arithmetic of the direct convolution on BigVGAN's resblocks, as large products. The transforms round differently
/// from the direct sum: the result differs from it by a few 1e-6 relative (points 0, ±1, ±2, 1/2, ∞; measured
/// 2.9e-6 of the largest output over 768 channels and 12 taps, against 1.2e-7 for the direct fp32 sum).
///
/// The transformed weights take `7·J/kernel` times the original's memory (1.9× at kernel 11, 2× at 7, 2.3× at 3);
/// the original is not kept. Immutable; safe to share between threads.
public struct WinogradConvolution1d: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let dilation: Int
    public let padding: Int
    /// Sub-filters of 4 taps (J).
    let subfilters: Int
    /// `[7, outChannels, J·inChannels]`.
    let transformed: Tensor
    let bias: Tensor?

    /// Prepares `weight` `[outChannels, inChannels, kernel]` (PyTorch's layout) and `bias` `[outChannels]`.
    /// - Throws: ``TensorError`` for an empty weight or one that is not rank 3, a mismatched bias, a padding outside
    ///   0…2³⁰, a dilation outside 1…2²⁰ or a kernel wider than 2¹⁶ taps.
    public init(weight: Tensor, bias: Tensor?, padding: Int, dilation: Int) throws {
        // Spans and paddings far beyond any model are refused, so that lengths computed from them cannot overflow.
        guard weight.rank == 3, weight.count > 0, (0...(1 << 30)).contains(padding), (1...(1 << 20)).contains(dilation),
              weight.shape[2] <= 1 << 16 else {
            throw TensorError.invalidArgument(
                operation: "WinogradConvolution1d", message: "weight \(weight.shape), padding \(padding), dilation \(dilation)")
        }
        let (o, i, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        if let bias, bias.count != o {
            throw TensorError.shapeMismatch(operation: "WinogradConvolution1d", message: "bias \(bias.shape) for \(o) channels")
        }
        let j = (k + 3) / 4
        let w = weight.contiguous()
        transformed = Tensor.make([7, o, j * i]) { u in
            let target = UncheckedSendableBox(u.baseAddress!)
            Parallel.forEachChunk(count: o, minimumChunk: 1) { range in
                let work = UnsafeMutablePointer<Float>.allocate(capacity: 4 * j * i)
                defer { work.deallocate() }
                indextts_winograd44_weights(w.basePointer, o, i, k, j, range.lowerBound, range.upperBound, target.value, work)
            }
        }
        self.bias = bias?.contiguous()
        (inChannels, outChannels, kernel, self.dilation, self.padding, subfilters) = (i, o, k, dilation, padding, j)
    }

    /// Output length for an input of `time` frames (≤ 0 when the input is shorter than the kernel's span).
    public func outputLength(time: Int) -> Int { time + 2 * padding - dilation * (kernel - 1) }

    /// Output tiles per chunk: enough columns that each product amortises packing its `[out, J·in]` weights (OpenBLAS
    /// packs them on every call: ≥ 256 columns, more where the transformed input and products of a chunk fit in
    /// 32 MiB).
    static func chunkTiles(outChannels: Int, columns: Int) -> Int {
        let perTile = 7 * (columns + outChannels)
        return max(256, (8 << 20) / max(perTile, 1)) / 8 * 8
    }

    /// `x` `[batch, inChannels, time]` → `[batch, outChannels, outTime]`.
    /// - Throws: ``TensorError`` for a mismatched input or one shorter than the kernel's span.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try self(x, chunkTiles: Self.chunkTiles(outChannels: outChannels, columns: subfilters * inChannels))
    }

    /// The same in chunks of `chunkTiles` output tiles (tests use small chunks to cross many chunk edges).
    func callAsFunction(_ x: Tensor, chunkTiles: Int) throws -> Tensor {
        guard x.rank == 3, x.shape[1] == inChannels else {
            throw TensorError.shapeMismatch(
                operation: "WinogradConvolution1d", message: "input \(x.shape) for \(inChannels) input channels")
        }
        let (batch, time) = (x.shape[0], x.shape[2])
        let outTime = outputLength(time: time)
        guard outTime >= 1 else {
            throw TensorError.invalidArgument(
                operation: "WinogradConvolution1d",
                message: "input length \(time) (padded \(time + 2 * padding)) shorter than the kernel span \(dilation * (kernel - 1) + 1)")
        }
        let input = x.contiguous()
        let (d, j, i, o) = (dilation, subfilters, inChannels, outChannels)
        let columns = j * i
        // Tiles: every block of 4·d outputs holds one tile per dilation phase.
        let tileCount = (outTime + 4 * d - 1) / (4 * d) * d
        // Chunks of equal size (a short last chunk would make a narrow product that still packs all the weights).
        let chunkCount = (tileCount + max(1, chunkTiles) - 1) / max(1, chunkTiles)
        let chunk = (tileCount + chunkCount - 1) / chunkCount
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 7 * (columns + o) * chunk)
        defer { scratch.deallocate() }
        let weights = UnsafePointer(transformed.basePointer)
        let biasPointer = bias.map { UnsafePointer($0.basePointer) }
        return Tensor.make([batch, o, outTime]) { out in
            for b in 0..<batch {
                let src = UncheckedSendableBox(UnsafePointer(input.basePointer + b * i * time))
                let dst = UncheckedSendableBox(out.baseAddress! + b * o * outTime)
                for tile0 in stride(from: 0, to: tileCount, by: chunk) {
                    let tiles = min(chunk, tileCount - tile0)
                    let s = UncheckedSendableBox(scratch), products = UncheckedSendableBox(scratch + 7 * columns * tiles)
                    Parallel.forEachChunk(count: i, minimumChunk: max(1, 4096 / tiles)) { range in
                        let work = UnsafeMutablePointer<Float>.allocate(capacity: indextts_winograd44_input_work(d, j, tiles))
                        defer { work.deallocate() }
                        indextts_winograd44_input(src.value, time, i, range.lowerBound, range.upperBound, padding, d, j,
                                                  tile0, tiles, s.value, work)
                    }
                    for xi in 0..<7 {
                        Tensor.gemm(m: o, n: tiles, k: columns, a: weights + xi * o * columns, transA: false, lda: columns,
                                    b: s.value + xi * columns * tiles, transB: false, ldb: tiles,
                                    c: products.value + xi * o * tiles, ldc: tiles, beta: 0)
                    }
                    Parallel.forEachChunk(count: o, minimumChunk: max(1, 4096 / tiles)) { range in
                        let work = UnsafeMutablePointer<Float>.allocate(capacity: 4 * tiles)
                        defer { work.deallocate() }
                        indextts_winograd44_output(products.value, o, range.lowerBound, range.upperBound, d, tile0, tiles,
                                                   outTime, biasPointer, dst.value, work)
                    }
                }
            }
        }
    }
}
