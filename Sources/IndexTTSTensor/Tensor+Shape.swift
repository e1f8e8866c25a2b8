/// Shape manipulation: views (no copy) and concatenation/splitting.
extension Tensor {
    /// Returns the same elements with a new shape; one extent may be `-1` (inferred).
    /// Views when the tensor is dense, copies otherwise.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw TensorError.invalidArgument(operation: "reshape", message: "bad target shape \(newShape)")
        }
        if let axis = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != axis }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(operation: "reshape", message: "cannot reshape \(shape) to \(newShape)")
            }
            resolved[axis] = count / known
        }
        guard Tensor.elementCount(resolved) == count else {
            throw TensorError.shapeMismatch(operation: "reshape", message: "cannot reshape \(shape) to \(newShape)")
        }
        let dense = contiguous()
        return Tensor(shape: resolved, strides: Tensor.contiguousStrides(for: resolved), offset: dense.offset,
                      storage: dense.storage)
    }

    /// Splits axis `axis` into axes of extents `sizes`, whose product must be its extent (as `torch.unflatten`). A
    /// view whatever the strides: e.g. `[batch, time, heads·d]` columns of a fused projection into
    /// `[batch, time, heads, d]` without copying.
    public func unflattened(axis: Int, into sizes: [Int]) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "unflatten")
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(1, *) == shape[axis] else {
            throw TensorError.shapeMismatch(operation: "unflatten", message: "axis \(axis) of \(shape) into \(sizes)")
        }
        var splitStrides = [Int](repeating: strides[axis], count: sizes.count)
        for i in stride(from: sizes.count - 2, through: 0, by: -1) { splitStrides[i] = splitStrides[i + 1] * sizes[i + 1] }
        return Tensor(shape: Array(shape[..<axis]) + sizes + Array(shape[(axis + 1)...]),
                      strides: Array(strides[..<axis]) + splitStrides + Array(strides[(axis + 1)...]),
                      offset: offset, storage: storage)
    }

    /// Reorders axes: result axis `i` is input axis `order[i]` (as `torch.permute`). A view.
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.count == rank, Set(order) == Set(0..<rank) else {
            throw TensorError.invalidArgument(operation: "permute", message: "order \(order) for rank \(rank)")
        }
        return Tensor(shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset, storage: storage)
    }

    /// Swaps two axes. A view.
    public func transposed(_ a: Int, _ b: Int) throws -> Tensor {
        let a = try normalizedAxis(a, operation: "transpose")
        let b = try normalizedAxis(b, operation: "transpose")
        var order = Array(0..<rank)
        order.swapAt(a, b)
        return try permuted(order)
    }

    /// Elements `range` along `axis`. A view.
    public func sliced(axis: Int, range: Range<Int>) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw TensorError.invalidArgument(
                operation: "slice", message: "range \(range) on axis \(axis) of extent \(shape[axis])")
        }
        var newShape = shape
        newShape[axis] = range.count
        return Tensor(shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[axis], storage: storage)
    }

    /// Selects one index along `axis`, removing that axis. A view.
    public func selected(axis: Int, index: Int) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "select")
        let view = try sliced(axis: axis, range: index..<(index + 1))
        var newShape = view.shape
        var newStrides = view.strides
        newShape.remove(at: axis)
        newStrides.remove(at: axis)
        return Tensor(shape: newShape, strides: newStrides, offset: view.offset, storage: storage)
    }

    /// Inserts an axis of extent 1 at `axis` (which may equal `rank`). A view.
    public func unsqueezed(_ axis: Int) throws -> Tensor {
        let resolved = axis < 0 ? axis + rank + 1 : axis
        guard resolved >= 0 && resolved <= rank else {
            throw TensorError.invalidArgument(operation: "unsqueeze", message: "axis \(axis) for rank \(rank)")
        }
        var newShape = shape
        var newStrides = strides
        newShape.insert(1, at: resolved)
        newStrides.insert(resolved < rank ? strides[resolved] * shape[resolved] : 1, at: resolved)
        return Tensor(shape: newShape, strides: newStrides, offset: offset, storage: storage)
    }

    /// Removes an axis of extent 1. A view.
    public func squeezed(_ axis: Int) throws -> Tensor {
        let axis = try normalizedAxis(axis, operation: "squeeze")
        guard shape[axis] == 1 else {
            throw TensorError.invalidArgument(operation: "squeeze", message: "axis \(axis) has extent \(shape[axis])")
        }
        var newShape = shape
        var newStrides = strides
        newShape.remove(at: axis)
        newStrides.remove(at: axis)
        return Tensor(shape: newShape, strides: newStrides, offset: offset, storage: storage)
    }

    /// Broadcasts to `target` (numpy rules, leading axes added as needed) with zero strides. A view.
    public func expanded(to target: [Int]) throws -> Tensor {
        guard target.count >= rank else {
            throw TensorError.shapeMismatch(operation: "expand", message: "\(shape) to \(target)")
        }
        let lead = target.count - rank
        var newStrides = [Int](repeating: 0, count: target.count)
        for axis in 0..<rank {
            let t = target[lead + axis]
            if shape[axis] == t {
                newStrides[lead + axis] = strides[axis]
            } else if shape[axis] == 1 {
                newStrides[lead + axis] = 0
            } else {
                throw TensorError.shapeMismatch(operation: "expand", message: "\(shape) to \(target)")
            }
        }
        return Tensor(shape: target, strides: newStrides, offset: offset, storage: storage)
    }

    /// Joins tensors along `axis`; all other extents must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else {
            throw TensorError.invalidArgument(operation: "concatenate", message: "no tensors")
        }
        let axis = try first.normalizedAxis(axis, operation: "concatenate")
        for t in tensors where t.rank != first.rank || (0..<first.rank).contains(where: { $0 != axis && t.shape[$0] != first.shape[$0] }) {
            throw TensorError.shapeMismatch(
                operation: "concatenate", message: "\(t.shape) does not match \(first.shape) outside axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *)
        let innerPerIndex = first.shape[(axis + 1)...].reduce(1, *)
        let outRow = outShape[axis] * innerPerIndex
        return Tensor.make(outShape) { out in
            var column = 0
            for t in tensors {
                let dense = t.contiguous()
                let block = t.shape[axis] * innerPerIndex
                let src = dense.basePointer
                for o in 0..<outer {
                    (out.baseAddress! + o * outRow + column).update(from: src + o * block, count: block)
                }
                column += block
            }
        }
    }

    /// Splits along `axis` into pieces of the given sizes (which must sum to the extent). Views.
    public func split(sizes: [Int], axis: Int) throws -> [Tensor] {
        let axis = try normalizedAxis(axis, operation: "split")
        guard sizes.reduce(0, +) == shape[axis], sizes.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(operation: "split", message: "sizes \(sizes) for extent \(shape[axis])")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try sliced(axis: axis, range: start..<(start + size))
        }
    }

    /// Splits along `axis` into `count` pieces as `torch.chunk` does (last piece may be smaller). Views.
    public func chunked(_ count: Int, axis: Int) throws -> [Tensor] {
        let axis = try normalizedAxis(axis, operation: "chunk")
        guard count > 0 else { throw TensorError.invalidArgument(operation: "chunk", message: "count \(count)") }
        let extent = shape[axis]
        let size = (extent + count - 1) / count
        var sizes: [Int] = []
        var left = extent
        while left > 0 { sizes.append(min(size, left)); left -= size }
        return try split(sizes: sizes, axis: axis)
    }
}
