/// Strided gather used by ``Tensor/contiguous()`` and the shape operations.
enum StridedCopy {
    /// Copies `source` in row-major order into `destination` (which holds `source.count` floats).
    static func gather(from source: Tensor, into destination: UnsafeMutablePointer<Float>) {
        let shape = source.shape
        let strides = source.strides
        let rank = shape.count
        let base = source.basePointer
        if rank == 0 {
            destination[0] = base[0]
            return
        }
        let total = source.count
        if total == 0 { return }
        let inner = shape[rank - 1]
        let innerStride = strides[rank - 1]
        let rows = total / inner
        // Rows are independent: gather them in parallel when the tensor is large.
        Parallel.forEachChunk(count: rows, minimumChunk: max(1, 32_768 / max(inner, 1))) { rowRange in
            var index = [Int](repeating: 0, count: max(rank - 1, 0))
            // Decompose the first row of this chunk into an index.
            var remainder = rowRange.lowerBound
            for axis in stride(from: rank - 2, through: 0, by: -1) {
                index[axis] = remainder % shape[axis]
                remainder /= shape[axis]
            }
            for row in rowRange {
                var position = 0
                for axis in 0..<(rank - 1) { position += index[axis] * strides[axis] }
                let src = base + position
                let dst = destination + row * inner
                if innerStride == 1 {
                    dst.update(from: src, count: inner)
                } else {
                    for i in 0..<inner { dst[i] = src[i * innerStride] }
                }
                // Advance the multi-index.
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    if index[axis] < shape[axis] { break }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }
}
