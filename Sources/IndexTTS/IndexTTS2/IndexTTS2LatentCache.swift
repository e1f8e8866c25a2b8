import Foundation
import IndexTTSTensor
import Synchronization

/// The GPT's conditioning of recent voices: the speaker latents (`get_conditioning`, `[1, 32, model_dim]`) and
/// emotion vectors (`get_emovec`, `[1, model_dim]`) of conditioning embeddings seen before, keyed by a SHA-256 of the
/// embedding's values, its length argument and the role. Both are deterministic functions of the embedding and the
/// loaded weights, so a repeated voice skips the GPT's two conformer encoders (about a second of compute and their
/// 1.1 GB of checkpoint pages at full size) and gets bit-identical tensors. Least recently used dropped beyond
/// ``capacity``; thread-safe; a reference type, so copies of a pipeline share it.
final class IndexTTS2LatentCache: Sendable {
    enum Role: String { case conditioning, emotion }

    let capacity: Int
    private struct State {
        var entries: [String: Tensor] = [:]
        var order: [String] = []
    }
    private let state = Mutex(State())

    init(capacity: Int = 32) { self.capacity = max(1, capacity) }

    static func key(_ role: Role, embedding: Tensor, length: Int?) -> String {
        var hash = ContentHash()
        hash.update("\(role.rawValue) \(embedding.shape) \(length.map(String.init) ?? "all")\n")
        hash.update(embedding.scalars)
        return hash.hexDigest()
    }

    /// The cached value for `key`, or `compute()`'s (then cached). Concurrent misses on one key may both compute;
    /// they store the same value.
    func value(for key: String, compute: () throws -> Tensor) rethrows -> Tensor {
        if let hit = state.withLock({ s -> Tensor? in
            guard let v = s.entries[key] else { return nil }
            if let i = s.order.firstIndex(of: key) { s.order.remove(at: i) }
            s.order.append(key)
            return v
        }) { return hit }
        let computed = try compute()
        state.withLock { s in
            if s.entries[key] == nil { s.order.append(key) }
            s.entries[key] = computed
            while s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
        return computed
    }

    var count: Int { state.withLock { $0.entries.count } }
}
