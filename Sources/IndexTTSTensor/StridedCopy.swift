/// Strided gather used by ``Tensor/contiguous()`` and the shape operations.
enum StridedCopy {
    /// Copies `source` in row-major order into `destination` (which holds `source.count` floats).
    static func gather(from source: Tensor, into destination: UnsafeMutablePointer<Float>) {
        let shape = source.shape
        let rank = shape.count
        let base = source.basePointer
        if rank == 0 {
            destination[0] = base[0]
            return
        }
        let total = source.count
        if total == 0 { return }
        let inner = shape[rank - 1]
        let innerStride = source.strides[rank - 1]
        // Rows are independent: gather them in parallel when the tensor is large.
        Parallel.forEachChunk(count: total / inner, minimumChunk: max(1, 32_768 / max(inner, 1))) { rows in
            RowWalker.walk(shape: shape, strides: [source.strides], rows: rows) { row, offsets in
                let src = base + offsets[0]
                let dst = destination + row * inner
                if innerStride == 1 {
                    dst.update(from: src, count: inner)
                } else {
                    for i in 0..<inner { dst[i] = src[i * innerStride] }
                }
            }
        }
    }
}
