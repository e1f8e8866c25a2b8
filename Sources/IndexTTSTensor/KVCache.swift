/// Preallocated key/value cache for one attention layer of one request: `[batch, heads, capacity, headDim]`.
///
/// Per-request state, deliberately not `Sendable`: one decoding loop owns it. ``keys`` and ``values`` are strided
/// views of the filled prefix; appending writes only past that prefix, so views handed out earlier stay valid and
/// unchanged until ``reorder(batchIndices:)`` (which rewrites items in place) or ``truncate(to:)`` is called.
public final class KVCache {
    public let batch: Int
    public let heads: Int
    public let headDim: Int
    public let capacity: Int
    /// Number of positions filled.
    public private(set) var length = 0
    private var keyStorage: TensorStorage
    private var valueStorage: TensorStorage

    public init(batch: Int, heads: Int, headDim: Int, capacity: Int) {
        self.batch = batch
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        keyStorage = TensorStorage(count: batch * heads * capacity * headDim, repeating: 0)
        valueStorage = TensorStorage(count: batch * heads * capacity * headDim, repeating: 0)
    }

    /// Appends `[batch, heads, L, headDim]` keys and values.
    /// - Throws: on a shape mismatch or when the cache would exceed ``capacity``.
    public func append(keys: Tensor, values: Tensor) throws {
        let expected = [batch, heads, keys.shape.count == 4 ? keys.shape[2] : -1, headDim]
        guard keys.shape == expected, values.shape == expected else {
            throw TensorError.shapeMismatch(
                operation: "KVCache.append", message: "keys \(keys.shape), values \(values.shape), cache [\(batch), \(heads), _, \(headDim)]")
        }
        let added = keys.shape[2]
        guard length + added <= capacity else {
            throw TensorError.invalidArgument(
                operation: "KVCache.append", message: "\(length) + \(added) positions exceed the capacity \(capacity)")
        }
        for (source, storage) in [(keys.contiguous(), keyStorage), (values.contiguous(), valueStorage)] {
            for row in 0..<(batch * heads) {
                (storage.pointer + (row * capacity + length) * headDim)
                    .update(from: source.basePointer + row * added * headDim, count: added * headDim)
            }
        }
        length += added
    }

    /// Cached keys `[batch, heads, length, headDim]` (a view).
    public var keys: Tensor { view(of: keyStorage) }
    /// Cached values `[batch, heads, length, headDim]` (a view).
    public var values: Tensor { view(of: valueStorage) }

    private func view(of storage: TensorStorage) -> Tensor {
        Tensor(shape: [batch, heads, length, headDim],
               strides: [heads * capacity * headDim, capacity * headDim, headDim, 1], offset: 0, storage: storage)
    }

    /// Forgets positions at and after `newLength`.
    public func truncate(to newLength: Int) throws {
        guard newLength >= 0 && newLength <= length else {
            throw TensorError.invalidArgument(operation: "KVCache.truncate", message: "\(newLength) of \(length)")
        }
        length = newLength
    }

    /// Reorders batch items (beam search): item `i` becomes old item `batchIndices[i]`, in place. Only the items that
    /// change are written, and only their filled positions: the sources they need are stashed first (a beam step
    /// moves at most `batch − 1` items), instead of copying the whole cache into fresh storage every step. Views
    /// handed out earlier see the reordered contents.
    public func reorder(batchIndices: [Int]) throws {
        guard batchIndices.count == batch, batchIndices.allSatisfy({ $0 >= 0 && $0 < batch }) else {
            throw TensorError.invalidArgument(operation: "KVCache.reorder", message: "indices \(batchIndices) for batch \(batch)")
        }
        let moved = batchIndices.enumerated().filter { $0.offset != $0.element }
        guard !moved.isEmpty, length > 0 else { return }
        let sources = Array(Set(moved.map(\.element))).sorted()
        let block = heads * capacity * headDim, rows = length * headDim
        let stash = UnsafeMutablePointer<Float>.allocate(capacity: sources.count * heads * rows)
        defer { stash.deallocate() }
        for storage in [keyStorage, valueStorage] {
            for (k, source) in sources.enumerated() {
                for h in 0..<heads {
                    (stash + (k * heads + h) * rows).update(from: storage.pointer + source * block + h * capacity * headDim, count: rows)
                }
            }
            for (item, source) in moved {
                let k = sources.firstIndex(of: source)!
                for h in 0..<heads {
                    (storage.pointer + item * block + h * capacity * headDim).update(from: stash + (k * heads + h) * rows, count: rows)
                }
            }
        }
    }
}

extension KVCache {
    /// A cache of `batch` items that each start as a copy of this single-item cache (the prompt shared by all beams),
    /// with room for `capacity` positions (default: this cache's capacity).
    public func broadcast(toBatch newBatch: Int, capacity newCapacity: Int? = nil) throws -> KVCache {
        let capacity = newCapacity ?? self.capacity
        guard batch == 1, newBatch >= 1, capacity >= length else {
            throw TensorError.invalidArgument(
                operation: "KVCache.broadcast", message: "batch \(batch) → \(newBatch), \(length) positions into capacity \(capacity)")
        }
        let result = KVCache(batch: newBatch, heads: heads, headDim: headDim, capacity: capacity)
        if length > 0 {
            let k = keys, v = values
            try result.append(keys: k.expanded(to: [newBatch, heads, length, headDim]),
                              values: v.expanded(to: [newBatch, heads, length, headDim]))
        }
        return result
    }
}
