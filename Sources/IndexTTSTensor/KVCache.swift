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
    /// Positions `0..<sharedLength` hold the same keys and values in every batch item (set by ``broadcast(toBatch:capacity:)``);
    /// ``reorder(batchIndices:)`` skips them.
    public private(set) var sharedLength = 0
    private var keyStorage: TensorStorage
    private var valueStorage: TensorStorage

    public init(batch: Int, heads: Int, headDim: Int, capacity: Int) {
        self.batch = batch
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        // Sized for the longest sequence; only the positions filled take memory (zero pages until written).
        keyStorage = TensorStorage.zeroed(count: batch * heads * capacity * headDim)
        valueStorage = TensorStorage.zeroed(count: batch * heads * capacity * headDim)
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
        sharedLength = min(sharedLength, newLength)
    }

    /// Reorders batch items (beam search): item `i` becomes old item `batchIndices[i]`, in place. Only the items that
    /// change are written, and only the positions after the prefix all items share (``broadcast(toBatch:capacity:)``
    /// records it: the prompt every beam starts from). Moves are ordered so that each item is overwritten only after
    /// the items copied from it have been written; only a cycle (items swapping places) goes through a stash. A
    /// 3-beam step thus copies each moved item's generated positions once, instead of stashing every source and
    /// copying all positions twice. Views handed out earlier see the reordered contents.
    public func reorder(batchIndices: [Int]) throws {
        guard batchIndices.count == batch, batchIndices.allSatisfy({ $0 >= 0 && $0 < batch }) else {
            throw TensorError.invalidArgument(operation: "KVCache.reorder", message: "indices \(batchIndices) for batch \(batch)")
        }
        var pending = batchIndices.enumerated().filter { $0.offset != $0.element }.map { (item: $0.offset, source: $0.element) }
        let first = min(sharedLength, length)
        guard !pending.isEmpty, length > first else { return }
        let block = heads * capacity * headDim, span = (length - first) * headDim
        // Stashed sources (a cycle's): item → its slot in `stash`, read instead of the (overwritten) storage.
        var stashed: [Int: Int] = [:]
        var stash: UnsafeMutablePointer<Float>? = nil
        defer { stash?.deallocate() }
        let (keys, values) = (keyStorage.pointer, valueStorage.pointer)
        // One item's keys and values, heads split across cores (one core's copy does not reach the memory bandwidth).
        func copy(into item: Int, from source: Int) {
            let slot = stashed[source], stashBase = stash
            Parallel.forEachChunk(count: 2 * heads, minimumChunk: max(1, 16_384 / max(span, 1))) { units in
                for unit in units {
                    let (which, h) = (unit / heads, unit % heads)
                    let base = which == 0 ? keys : values
                    let destination = base + item * block + (h * capacity + first) * headDim
                    if let slot, let stashBase {
                        destination.update(from: stashBase + ((slot * 2 + which) * heads + h) * span, count: span)
                    } else {
                        destination.update(from: base + source * block + (h * capacity + first) * headDim, count: span)
                    }
                }
            }
        }
        while !pending.isEmpty {
            // An item no pending move still reads from can be overwritten now.
            if let ready = pending.firstIndex(where: { move in
                !pending.contains { $0.source == move.item && stashed[$0.source] == nil }
            }) {
                let move = pending.remove(at: ready)
                copy(into: move.item, from: move.source)
                continue
            }
            // Only cycles remain: stash one source so that its item can be overwritten.
            let source = pending[0].item
            if stash == nil { stash = UnsafeMutablePointer<Float>.allocate(capacity: batch * 2 * heads * span) }
            let slot = stashed.count
            stashed[source] = slot
            for (which, storage) in [keyStorage, valueStorage].enumerated() {
                for h in 0..<heads {
                    (stash! + ((slot * 2 + which) * heads + h) * span)
                        .update(from: storage.pointer + source * block + (h * capacity + first) * headDim, count: span)
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
        result.sharedLength = length
        return result
    }
}
