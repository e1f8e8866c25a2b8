import IndexTTSTensor
import IndexTTSWeights

/// Hands checkpoint tensors to modules by verbatim key while a module is built, and records what was asked for.
///
/// Missing keys and wrong shapes do not stop construction: they are collected (a zero placeholder stands in), so
/// that ``ModuleLoader/load(_:from:prefix:ignoring:build:)`` can report every problem at once. Used only during
/// loading, on one thread; not `Sendable`.
public final class ParameterLoader {
    final class Record {
        var consumed = Set<String>()
        var missing: [String] = []
        var wrongShapes: [String] = []
        var failures: [String] = []
    }

    let store: WeightStore
    /// Key prefix of this scope, e.g. `"encoder.layers.0."`.
    public let prefix: String
    let record: Record

    init(store: WeightStore, prefix: String, record: Record) {
        self.store = store
        self.prefix = prefix
        self.record = record
    }

    /// A loader for the child module `name` (keys `prefix + name + "."`).
    public func scoped(_ name: String) -> ParameterLoader {
        ParameterLoader(store: store, prefix: prefix + name + ".", record: record)
    }

    /// True if the checkpoint has `name` in this scope.
    public func contains(_ name: String) -> Bool { store.contains(prefix + name) }

    /// The tensor `name` in this scope; `shape` (when given) must match exactly.
    public func tensor(_ name: String, shape: [Int]? = nil) -> Tensor {
        let key = prefix + name
        guard store.contains(key) else {
            record.missing.append(key)
            return Tensor.zeros(shape ?? [0])
        }
        record.consumed.insert(key)
        do {
            let entry = try store.entry(key)
            if let shape, entry.shape != shape {
                record.wrongShapes.append("\(key) is \(entry.shape), expected \(shape)")
                return Tensor.zeros(shape)
            }
            return try entry.load()
        } catch {
            record.failures.append("\(key): \(error)")
            return Tensor.zeros(shape ?? [0])
        }
    }

    /// The tensor `name` if present (for optional parameters such as biases whose presence the config leaves open).
    public func optionalTensor(_ name: String, shape: [Int]? = nil) -> Tensor? {
        contains(name) ? tensor(name, shape: shape) : nil
    }

    /// A possibly weight-normalised parameter: plain `name`, the classic `name_g`/`name_v` pair, or the
    /// parametrisation form `parametrizations.name.original0/1`, fused as w = g·v/‖v‖ (norm over all axes but 0).
    public func weightNormed(_ name: String = "weight", shape: [Int]) -> Tensor {
        let pairs = [(name + "_g", name + "_v"), ("parametrizations.\(name).original0", "parametrizations.\(name).original1")]
        for (gName, vName) in pairs where contains(gName) || contains(vName) {
            let g = tensor(gName, shape: [shape[0]] + [Int](repeating: 1, count: shape.count - 1))
            let v = tensor(vName, shape: shape)
            do {
                return try Tensor.weightNorm(g: g, v: v)
            } catch {
                record.failures.append("\(prefix + name): \(error)")
                return Tensor.zeros(shape)
            }
        }
        return tensor(name, shape: shape)
    }

    /// Marks keys as deliberately unused (for example BatchNorm's `num_batches_tracked`).
    public func ignore(_ names: String...) {
        for name in names where contains(name) { record.consumed.insert(prefix + name) }
    }
}

/// Builds modules from checkpoints and verifies that the key sets match exactly.
public enum ModuleLoader {
    /// Builds `name` from the tensors of `store` under `prefix`.
    /// - Parameters:
    ///   - ignoring: key prefixes (relative to `prefix`) the module deliberately does not use, such as training-only
    ///     heads; they are not reported as unexpected.
    /// - Throws: ``WeightsError/keyMismatch(module:missing:unexpected:wrongShapes:)`` naming every missing key,
    ///   every unexpected key and every wrongly shaped tensor; errors thrown by `build` itself pass through.
    public static func load<Module>(_ name: String, from store: WeightStore, prefix: String = "", ignoring: [String] = [],
                                    build: (ParameterLoader) throws -> Module) throws -> Module {
        let record = ParameterLoader.Record()
        let module = try build(ParameterLoader(store: store, prefix: prefix, record: record))
        let unexpected = store.keys.filter { key in
            key.hasPrefix(prefix) && !record.consumed.contains(key)
                && !ignoring.contains(where: { key.dropFirst(prefix.count).hasPrefix($0) })
        }
        let wrong = record.wrongShapes + record.failures
        if !record.missing.isEmpty || !unexpected.isEmpty || !wrong.isEmpty {
            throw WeightsError.keyMismatch(module: name, missing: record.missing, unexpected: unexpected, wrongShapes: wrong)
        }
        return module
    }
}
