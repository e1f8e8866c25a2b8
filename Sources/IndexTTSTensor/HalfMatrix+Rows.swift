extension HalfMatrix {
    /// Rows `ids` widened to fp32, `[ids.count, columns]`: an fp16 matrix used as an embedding table (a tied
    /// input embedding and output head share one fp16 copy).
    /// - Throws: when an id is outside `0..<rows`.
    public func rows(_ ids: [Int]) throws -> Tensor {
        if let bad = ids.first(where: { $0 < 0 || $0 >= rows }) {
            throw TensorError.invalidArgument(operation: "HalfMatrix.rows", message: "id \(bad) outside 0..<\(rows)")
        }
        let n = columns
        return Tensor.make([ids.count, n]) { out in
            for (i, id) in ids.enumerated() {
                DTypeConversion.toFloat32(UnsafeRawPointer(storage.pointer + id * n), dtype: .float16, count: n,
                                          into: out.baseAddress! + i * n)
            }
        }
    }
}
