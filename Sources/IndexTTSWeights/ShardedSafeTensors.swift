import Foundation

extension WeightStore {
    /// Opens a checkpoint split into safetensors shards as Hugging Face saves large models: `index` is the
    /// `model.safetensors.index.json` (`{"metadata": {...}, "weight_map": {tensor key: shard file name}}`), the shards
    /// lie beside it. The store holds every shard's tensors under their own keys (each entry keeps its shard mapped),
    /// in shard order (as the index first names each shard), then file order; ``source`` is the index path.
    /// - Throws: ``WeightsError/unreadable(path:reason:)`` for an unreadable index or a missing shard,
    ///   ``WeightsError/corrupt(path:reason:)`` naming the index for a malformed map, a shard file outside the folder,
    ///   or a tensor the map names but its shard lacks, one a shard holds that the map does not list, or one held
    ///   twice; errors of ``open(path:)`` for a bad shard.
    public static func openSharded(index: String) throws -> WeightStore {
        guard let data = FileManager.default.contents(atPath: index) else {
            throw WeightsError.unreadable(path: index, reason: "no such file")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw WeightsError.corrupt(path: index, reason: "not valid JSON: \(error.localizedDescription)")
        }
        guard let root = json as? [String: Any], let map = root["weight_map"] as? [String: Any], !map.isEmpty else {
            throw WeightsError.corrupt(path: index, reason: "needs a non-empty object \"weight_map\" (tensor key → shard file)")
        }
        var byShard: [String: Set<String>] = [:]
        var order: [String] = []
        for key in map.keys.sorted() {
            guard let shard = map[key] as? String, !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                throw WeightsError.corrupt(path: index, reason: "weight_map[\"\(key)\"] must name a shard file in the same folder")
            }
            if byShard[shard] == nil { order.append(shard) }
            byShard[shard, default: []].insert(key)
        }
        // Shards in name order (model-00001-of-00002.safetensors, …), as they are numbered.
        order.sort()
        let folder = (index as NSString).deletingLastPathComponent
        var entries: [TensorEntry] = []
        var seen: [String: String] = [:]
        var metadata: [String: String] = [:]
        if let meta = root["metadata"] as? [String: Any] {
            for (k, v) in meta { metadata[k] = "\(v)" }
        }
        for shard in order {
            let path = (folder as NSString).appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: path) else {
                throw WeightsError.unreadable(path: path, reason: "shard listed in \(index) is missing")
            }
            let store = try open(path: path)
            guard store.format == .safetensors else {
                throw WeightsError.corrupt(path: index, reason: "shard \(shard) is \(store.format.rawValue), not safetensors")
            }
            let expected = byShard[shard] ?? []
            let held = Set(store.keys)
            if let missing = expected.subtracting(held).sorted().first {
                throw WeightsError.corrupt(path: index, reason: "weight_map puts \(missing) in \(shard), which does not hold it")
            }
            if let extra = held.subtracting(expected).sorted().first {
                throw WeightsError.corrupt(path: index, reason: "\(shard) holds \(extra), which weight_map does not list there")
            }
            for entry in store.entries {
                if let other = seen[entry.name] {
                    throw WeightsError.corrupt(path: index, reason: "\(entry.name) is in both \(other) and \(shard)")
                }
                seen[entry.name] = shard
                entries.append(entry)
            }
        }
        return WeightStore(source: index, format: .safetensors, entries: entries, metadata: metadata)
    }
}
