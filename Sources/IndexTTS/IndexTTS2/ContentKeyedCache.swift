import Synchronization

/// A least-recently-used map from content keys (``ContentHash`` digests of what a value was computed from) to values
/// that are deterministic functions of that content: the one home of the bookkeeping behind the voice analysis cache
/// (``IndexTTS2VoiceCache``) and the GPT conditioning cache (``IndexTTS2LatentCache``). Thread-safe; a reference type,
/// so copies of an engine or pipeline share it. Beyond ``capacity`` entries the least recently used is dropped.
public final class ContentKeyedCache<Value: Sendable>: Sendable {
    public let capacity: Int
    private struct State {
        var entries: [String: Value] = [:]
        /// Keys, least recently used first.
        var order: [String] = []
        var hits = 0
        var misses = 0
    }
    private let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The cached value for `key` (counted as a hit or a miss), most recently used from now on.
    public func lookup(_ key: String) -> Value? {
        state.withLock { s in
            guard let value = s.entries[key] else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            if let i = s.order.firstIndex(of: key) { s.order.remove(at: i) }
            s.order.append(key)
            return value
        }
    }

    /// Stores `value` under `key` as the most recently used, dropping the least recently used beyond ``capacity``.
    public func insert(_ value: Value, for key: String) {
        state.withLock { s in
            if let i = s.order.firstIndex(of: key) { s.order.remove(at: i) }
            s.entries[key] = value
            s.order.append(key)
            while s.order.count > capacity {
                s.entries[s.order.removeFirst()] = nil
            }
        }
    }

    /// The cached value for `key`, or `compute()`'s (then cached). Concurrent misses on one key may both compute;
    /// they store the same value.
    public func value(for key: String, compute: () throws -> Value) rethrows -> Value {
        if let hit = lookup(key) { return hit }
        let computed = try compute()
        insert(computed, for: key)
        return computed
    }

    /// (entries, hits, misses) so far.
    public var statistics: (count: Int, hits: Int, misses: Int) {
        state.withLock { ($0.entries.count, $0.hits, $0.misses) }
    }

    public func removeAll() {
        state.withLock { $0 = State() }
    }
}
