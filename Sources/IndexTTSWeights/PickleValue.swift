import IndexTTSTensor

/// A value decoded by ``Unpickler``. Containers are reference types because pickles memoise and then mutate them
/// (an empty dict is stored in the memo before its items are added).
public indirect enum PickleValue: @unchecked Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// A class or function reference (`module.name`), never resolved to code.
    case global(module: String, name: String)
    /// The result of calling a global this reader does not interpret; kept inert for inspection.
    case object(PickleObject)
    /// A persistent-id storage reference (`torch` storages live outside the pickle).
    case storage(StorageReference)
    /// A tensor rebuilt from a storage (`torch._utils._rebuild_tensor_v2` and relatives).
    case tensor(TensorReference)

    /// The string, if this is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The integer, if this is one (bools count as 0/1).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    /// Elements of a tuple or list.
    public var elements: [PickleValue]? {
        switch self {
        case .tuple(let t): return t.items
        case .list(let l): return l.items
        default: return nil
        }
    }
}

/// A pickled tuple. A reference type like the other containers, so that hostile pickles (memo references shared
/// across levels, nesting a million deep) can be measured and taken apart without recursion (``Unpickler``).
public final class PickleTuple: @unchecked Sendable {
    public internal(set) var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
}

/// A mutable pickled list. Thread safety: mutated only while unpickling, read-only afterwards.
public final class PickleList: @unchecked Sendable {
    public internal(set) var items: [PickleValue] = []
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A mutable pickled dict, keeping insertion order (as `OrderedDict` and Python dicts do).
/// Thread safety: mutated only while unpickling, read-only afterwards.
public final class PickleDict: @unchecked Sendable {
    public private(set) var items: [(key: PickleValue, value: PickleValue)] = []
    /// Attributes set by BUILD (for example a state dict's `_metadata`), kept apart from the items.
    public internal(set) var attributes: PickleValue = .none
    private var stringKeys: [String: Int] = [:]
    init() {}

    /// Drops every item and attribute (taking a rejected pickle apart).
    func removeAll() {
        items = []
        stringKeys = [:]
        attributes = .none
    }

    /// Sets `key` to `value`; a repeated string key replaces the earlier value, as in Python.
    func set(_ key: PickleValue, _ value: PickleValue) {
        if let name = key.stringValue {
            if let existing = stringKeys[name] {
                items[existing].value = value
                return
            }
            stringKeys[name] = items.count
        }
        items.append((key, value))
    }

    /// The value for a string key.
    public subscript(key: String) -> PickleValue? {
        stringKeys[key].map { items[$0].value }
    }
}

/// An inert call `callable(*arguments)` with optional BUILD state.
public final class PickleObject: @unchecked Sendable {
    public internal(set) var callable: PickleValue
    public internal(set) var arguments: [PickleValue]
    public internal(set) var state: PickleValue = .none
    init(callable: PickleValue, arguments: [PickleValue]) {
        self.callable = callable
        self.arguments = arguments
    }
}

/// A `torch` storage: element type, archive key and element count.
public struct StorageReference: Sendable {
    public let key: String
    public let dtype: DType
    public let elementCount: Int
}

/// A tensor view of a storage: element offset, shape and strides.
public struct TensorReference: Sendable {
    public let storage: StorageReference
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
}
