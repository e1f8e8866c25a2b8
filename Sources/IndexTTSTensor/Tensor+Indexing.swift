/// Gathers and resampling along axes.
extension Tensor {
    /// Embedding lookup: rows of `table` `[vocabulary, dim]` for `ids` → `[ids.count, dim]`.
    /// - Throws: naming the first id outside `0..<vocabulary`.
    public static func embedding(_ table: Tensor, ids: [Int]) throws -> Tensor {
        guard table.rank == 2 else {
            throw TensorError.shapeMismatch(operation: "embedding", message: "table \(table.shape) is not [vocabulary, dim]")
        }
        let (vocabulary, dim) = (table.shape[0], table.shape[1])
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw TensorError.invalidArgument(operation: "embedding", message: "id \(bad) outside vocabulary of \(vocabulary)")
        }
        let t = table.contiguous()
        return Tensor.make([ids.count, dim]) { out in
            for (row, id) in ids.enumerated() {
                (out.baseAddress! + row * dim).update(from: t.basePointer + id * dim, count: dim)
            }
        }
    }

    /// Nearest-neighbour resampling of the last axis of `[…, length]` to `size`, as
    /// `torch.nn.functional.interpolate(mode="nearest")`: source index ⌊i·(length/size)⌋ in fp32, clamped.
    /// When `scaleFactor` is given, PyTorch uses 1/scaleFactor as the step instead of length/size.
    public func interpolateNearest(size: Int, scaleFactor: Float? = nil) throws -> Tensor {
        guard rank >= 1, size > 0, shape[rank - 1] > 0 else {
            throw TensorError.invalidArgument(operation: "interpolateNearest", message: "input \(shape) to size \(size)")
        }
        let length = shape[rank - 1]
        let step: Float = scaleFactor.map { 1 / $0 } ?? Float(length) / Float(size)
        let source = (0..<size).map { i -> Int in
            if size == length { return i }
            return Swift.min(Int((Float(i) * step).rounded(.down)), length - 1)
        }
        let x = contiguous()
        let rows = x.count / length
        return Tensor.make(Array(shape.dropLast()) + [size]) { out in
            let src = UnsafePointer(x.basePointer), dst = out.baseAddress!
            Parallel.forEachChunk(count: rows, minimumChunk: Swift.max(1, 16_384 / size)) { range in
                for r in range {
                    let s = src + r * length, d = dst + r * size
                    for i in 0..<size { d[i] = s[source[i]] }
                }
            }
        }
    }
}
