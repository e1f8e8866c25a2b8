import CIndexTTSDNNL

/// A vocoder stage's residual blocks on time-major rows `[batch, time, channels]`, fused over time tiles
/// (`indextts_dnnl_tm_resstage`): HiFi-GAN's ResBlock type 2 — per block `y ← conv_m(leakyReLU(y)) + y` for each of its
/// convolutions (same kernel, growing dilations, PyTorch's "same" padding), from `y = x` — and the stage's output is the
/// sum of its blocks (the caller scales by 1/blocks, as the generator's mean does, inside the next activation).
///
/// Layer by layer, every convolution of a stage streams the whole activation through memory and is a parallel region
/// of its own; here each tile of rows goes through every block before the next tile (the first convolutions of a
/// block also compute the rows the later ones need around the tile), so the stage reads its input and writes its
/// output once, and the tiles are shared out between the threads of one OpenMP team (each running its convolutions
/// alone). The same sums as ``TimeMajorConvolution`` layer by layer, in another order (oneDNN may block them
/// differently per tile size).
///
/// fp32. Immutable after creation; every call brings its own buffers, so calls from several threads at once are safe.
public final class TimeMajorResidualStage: @unchecked Sendable {
    private let handle: OpaquePointer
    public let channels: Int
    public let blocks: Int

    /// Output rows per tile: about `INDEXTTS_TM_STAGE_TILE` values (default 49,152, ≈ 192 KB) per tile of channels.
    static let tileElements = TimeMajorConvolution.tileSetting("INDEXTTS_TM_STAGE_TILE", default: 49_152)

    /// `weights[b][m]` `[channels, channels, kernel_b]` and `biases[b][m]` `[channels]` (or nil) of block b's
    /// convolution m with dilation `dilations[b][m]`; the leaky ReLU's `slope`. Nil where oneDNN is not used
    /// (``Tensor/oneDNNConvolution``), for shapes it has no fast kernel for, even kernels, or blocks of differing lengths.
    public init?(weights: [[Tensor]], biases: [[Tensor?]], dilations: [[Int]], slope: Float) {
        guard Tensor.oneDNNConvolution, let first = weights.first?.first, first.rank == 3, weights.count == dilations.count,
              weights.count == biases.count else { return nil }
        let channels = first.shape[0], convs = weights[0].count
        var kernels: [Int] = [], flatDilations: [Int] = []
        var dense: [Tensor] = [], denseBiases: [Tensor?] = []
        for (b, block) in weights.enumerated() {
            guard block.count == convs, dilations[b].count == convs, biases[b].count == convs,
                  let kernel = block.first?.shape.last else { return nil }
            kernels.append(kernel)
            for (m, w) in block.enumerated() {
                guard w.shape == [channels, channels, kernel], dilations[b][m] >= 1 else { return nil }
                if let bias = biases[b][m], bias.count != channels { return nil }
                dense.append(w.contiguous())
                denseBiases.append(biases[b][m]?.contiguous())
                flatDilations.append(dilations[b][m])
            }
        }
        let tile = max(Self.tileElements / channels / 16 * 16, 64)
        let created: OpaquePointer? = withExtendedLifetime((dense, denseBiases)) {
            let wp: [UnsafePointer<Float>?] = dense.map { UnsafePointer($0.basePointer) }
            let bp: [UnsafePointer<Float>?] = denseBiases.map { $0.map { UnsafePointer($0.basePointer) } }
            return kernels.withUnsafeBufferPointer { k in
                flatDilations.withUnsafeBufferPointer { d in
                    wp.withUnsafeBufferPointer { w in
                        bp.withUnsafeBufferPointer { bb in
                            indextts_dnnl_tm_resstage_create(channels, weights.count, convs, k.baseAddress, d.baseAddress,
                                                             w.baseAddress, bb.baseAddress, tile, slope)
                        }
                    }
                }
            }
        }
        guard let created else { return nil }
        handle = created
        self.channels = channels
        blocks = weights.count
    }

    deinit { indextts_dnnl_tm_resstage_destroy(handle) }

    /// Output rows per tile.
    public var tile: Int { indextts_dnnl_tm_resstage_tile(handle) }

    /// `x` `[batch, time, channels]` → the sum of the blocks' outputs, same shape.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == channels, x.shape[0] > 0, x.shape[1] > 0 else {
            throw TensorError.shapeMismatch(operation: "timeMajorResidualStage", message: "input \(x.shape) for \(channels) channels")
        }
        let (batch, time) = (x.shape[0], x.shape[1])
        let source = x.contiguous()
        var status: Int32 = 0
        let out = withExtendedLifetime(source) {
            Tensor.make(x.shape) { out in
                for b in 0..<batch where status == 0 {
                    status = indextts_dnnl_tm_resstage_run(handle, time, source.basePointer + b * time * channels,
                                                           out.baseAddress! + b * time * channels)
                }
            }
        }
        guard status == 0 else {
            throw TensorError.invalidArgument(operation: "timeMajorResidualStage", message: "oneDNN status \(status) for input \(x.shape)")
        }
        return out
    }
}
