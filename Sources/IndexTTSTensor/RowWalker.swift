/// Iterates the rows (all axes but the last) of a shape, giving each operand's element offset for the row.
enum RowWalker {
    static func walk(shape: [Int], strides: [[Int]], rows: Range<Int>, _ body: (Int, [Int]) -> Void) {
        let rank = shape.count
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var remainder = rows.lowerBound
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            index[axis] = remainder % shape[axis]
            remainder /= shape[axis]
        }
        var offsets = [Int](repeating: 0, count: strides.count)
        for row in rows {
            for k in 0..<strides.count {
                var position = 0
                for axis in 0..<(rank - 1) { position += index[axis] * strides[k][axis] }
                offsets[k] = position
            }
            body(row, offsets)
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
