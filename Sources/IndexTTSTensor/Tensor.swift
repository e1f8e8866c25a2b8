/// An n-dimensional fp32 array: a shape, element strides and an offset into shared ``TensorStorage``.
///
/// Layout is row-major when contiguous (`strides[i] == product(shape[(i+1)...])`). Views produced by
/// ``permuted(_:)``, ``transposed(_:_:)``, ``sliced(axis:range:)`` and ``expanded(to:)`` share storage and
/// only change shape, strides and offset; operations that need dense input call ``contiguous()`` first.
/// Operations never write into their inputs, so a `Tensor` behaves as an immutable value.
public struct Tensor: Sendable {
    /// Extent of each axis.
    public let shape: [Int]
    /// Distance in elements between neighbours along each axis (0 for broadcast axes).
    public let strides: [Int]
    /// Element offset of index `[0, 0, …]` into ``storage``.
    public let offset: Int
    /// The buffer this tensor views.
    public let storage: TensorStorage

    /// Creates a view of `storage`; callers guarantee every reachable index is in bounds.
    public init(shape: [Int], strides: [Int], offset: Int, storage: TensorStorage) {
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.storage = storage
    }

    /// Creates a dense row-major tensor over the whole of `storage`.
    public init(shape: [Int], storage: TensorStorage) {
        self.init(shape: shape, strides: Tensor.contiguousStrides(for: shape), offset: 0, storage: storage)
    }

    /// Creates a dense tensor from row-major `scalars`.
    /// - Throws: ``TensorError/shapeMismatch(operation:message:)`` if `scalars.count` is not the shape's product.
    public init(shape: [Int], scalars: [Float]) throws {
        let n = Tensor.elementCount(shape)
        guard n == scalars.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.shapeMismatch(
                operation: "Tensor(shape:scalars:)", message: "shape \(shape) needs \(n) scalars, got \(scalars.count)")
        }
        let storage = TensorStorage(count: n)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: n) }
        self.init(shape: shape, storage: storage)
    }

    /// A rank-0 tensor holding `value`.
    public init(scalar value: Float) {
        self.init(shape: [], storage: TensorStorage(count: 1, repeating: value))
    }

    /// A dense tensor of `shape` filled with `value`.
    public static func full(_ shape: [Int], value: Float) -> Tensor {
        Tensor(shape: shape, storage: TensorStorage(count: elementCount(shape), repeating: value))
    }

    /// A dense tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, value: 0) }

    /// Creates a dense tensor whose contents `body` writes; `body` receives the row-major buffer.
    public static func make(
        _ shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void
    ) rethrows -> Tensor {
        let n = elementCount(shape)
        let storage = TensorStorage(count: n)
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: n))
        return Tensor(shape: shape, storage: storage)
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Tensor.elementCount(shape) }

    /// True when the elements are laid out densely in row-major order starting at ``offset``.
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[axis] != 1 && strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Returns `self` if dense, otherwise a dense copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return Tensor.make(shape) { out in
            StridedCopy.gather(from: self, into: out.baseAddress!)
        }
    }

    /// Pointer to element `[0, 0, …]`; valid while `self` (and hence its storage) is alive.
    public var basePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// Calls `body` with the elements in row-major order, copying only when the tensor is not dense.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let dense = contiguous()
        return try withExtendedLifetime(dense) {
            try body(UnsafeBufferPointer(start: dense.basePointer, count: dense.count))
        }
    }

    /// The elements in row-major order.
    public var scalars: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// Reads one element; `indices` must be in range.
    public subscript(_ indices: Int...) -> Float {
        precondition(indices.count == rank, "expected \(rank) indices, got \(indices.count)")
        var position = offset
        for (axis, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[axis], "index \(index) out of range for axis \(axis)")
            position += index * strides[axis]
        }
        return storage.pointer[position]
    }

    /// Row-major strides for a dense tensor of `shape`.
    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Product of the extents (1 for a scalar).
    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Resolves a possibly negative axis, throwing when out of range.
    public func normalizedAxis(_ axis: Int, operation: String) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0 && resolved < rank else {
            throw TensorError.invalidArgument(operation: operation, message: "axis \(axis) for rank-\(rank) tensor \(shape)")
        }
        return resolved
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(shape: \(shape))" }
}
