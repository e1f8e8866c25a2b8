/// A restricted pickle decoder for PyTorch checkpoints. It never imports or runs code: globals are recorded by
/// name, and only the handful that state dicts need are interpreted (`OrderedDict`, the `torch._utils` tensor
/// rebuilders, storage types, `_codecs.encode`). Anything else becomes an inert ``PickleObject``.
struct Unpickler {
    let bytes: UnsafeRawBufferPointer
    let path: String
    /// Resolves a persistent id (`('storage', type, key, location, numel)`) to a value.
    let persistentLoad: (PickleValue) throws -> PickleValue

    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: UnsafeRawBufferPointer, path: String, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.bytes = bytes
        self.path = path
        self.persistentLoad = persistentLoad
    }

    private func corrupt(_ reason: String) -> WeightsError {
        WeightsError.corrupt(path: path, reason: "pickle: \(reason) at byte \(position)")
    }

    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else { throw corrupt("unexpected end of data") }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    private mutating func byte() throws -> UInt8 { try take(1)[0] }

    private mutating func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        T(littleEndian: try take(MemoryLayout<T>.size).loadUnaligned(as: T.self))
    }

    private mutating func line() throws -> String {
        var end = position
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        guard end < bytes.count else { throw corrupt("unterminated text line") }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        position = end + 1
        return text
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw corrupt("stack underflow") }
        return value
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw corrupt("no MARK") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func top() throws -> PickleValue {
        guard let value = stack.last else { throw corrupt("stack underflow") }
        return value
    }

    private mutating func text(_ count: Int) throws -> String {
        String(decoding: try take(count), as: UTF8.self)
    }

    /// Deepest container nesting accepted (checkpoints nest a few levels). Deeper trees and cycles (a list appended
    /// to itself) are rejected: releasing or walking them recurses once per level and would overflow the stack.
    static let maximumDepth = 256
    /// Most container paths from the root that a pickle may have, per byte of pickle (with a floor): memo references
    /// let a few hundred bytes describe a tree that doubles at every level, and the readers walk paths, not objects.
    static let pathsPerByte = 4, minimumPaths = 1_000_000

    /// Decodes the pickle. A malformed or hostile one throws ``WeightsError``; whatever it built is taken apart
    /// without recursion first.
    mutating func load() throws -> PickleValue {
        let result: Result<PickleValue, any Error>
        do { result = .success(try run()) } catch { result = .failure(error) }
        var leftovers = stack + Array(memo.values)
        stack = []
        memo = [:]
        switch result {
        case .success(let root):
            let budget = max(Self.minimumPaths, Self.pathsPerByte * bytes.count)
            if let problem = Self.shapeProblem([root] + leftovers, maximumPaths: budget) {
                leftovers.append(root)
                Self.dismantle(leftovers)
                throw corrupt(problem)
            }
            return root
        case .failure(let error):
            Self.dismantle(leftovers)
            throw error
        }
    }

    /// The container a value is, with its children (nil for scalars, strings, storages and tensors).
    private static func node(_ value: PickleValue) -> (object: AnyObject, children: [PickleValue])? {
        switch value {
        case .tuple(let t): return (t, t.items)
        case .list(let l): return (l, l.items)
        case .dict(let d): return (d, d.items.flatMap { [$0.key, $0.value] } + [d.attributes])
        case .object(let o): return (o, [o.callable] + o.arguments + [o.state])
        default: return nil
        }
    }

    /// Why the object graph under `roots` is unacceptable: a cycle, nesting deeper than ``maximumDepth``, or more
    /// than `maximumPaths` container paths from the first root. Iterative; linear in the number of containers.
    static func shapeProblem(_ roots: [PickleValue], maximumPaths: Int) -> String? {
        var done: [ObjectIdentifier: (height: Int, paths: Int)] = [:]
        var active: Set<ObjectIdentifier> = []
        for (rootIndex, root) in roots.enumerated() {
            guard let first = node(root) else { continue }
            var work: [(object: AnyObject, children: [PickleValue], expanded: Bool)] = [(first.object, first.children, false)]
            while let top = work.last {
                let id = ObjectIdentifier(top.object)
                if !top.expanded {
                    if done[id] != nil { work.removeLast(); continue }
                    active.insert(id)
                    if active.count > maximumDepth {
                        return "containers nested deeper than \(maximumDepth) levels"
                    }
                    work[work.count - 1].expanded = true
                    for child in top.children {
                        guard let n = node(child) else { continue }
                        let childID = ObjectIdentifier(n.object)
                        if active.contains(childID) { return "a container contains itself" }
                        if done[childID] == nil { work.append((n.object, n.children, false)) }
                    }
                } else {
                    var height = 0, paths = 1
                    for child in top.children {
                        guard let n = node(child), let measured = done[ObjectIdentifier(n.object)] else { continue }
                        height = max(height, measured.height)
                        paths = min(paths + measured.paths, Int.max / 2)
                    }
                    done[id] = (height + 1, paths)
                    active.remove(id)
                    work.removeLast()
                }
            }
            if rootIndex == 0, let measured = done[ObjectIdentifier(first.object)], measured.paths > maximumPaths {
                return "\(measured.paths) container paths (memo references shared across levels); the limit is \(maximumPaths)"
            }
        }
        return nil
    }

    /// Empties every container reachable from `values`, so that releasing them never recurses (a rejected pickle may
    /// nest a million levels or contain itself).
    static func dismantle(_ values: [PickleValue]) {
        var work = values
        var seen: Set<ObjectIdentifier> = []
        while let value = work.popLast() {
            guard let n = node(value), seen.insert(ObjectIdentifier(n.object)).inserted else { continue }
            work.append(contentsOf: n.children)
            switch value {
            case .tuple(let t): t.items = []
            case .list(let l): l.items = []
            case .dict(let d): d.removeAll()
            case .object(let o):
                o.callable = .none
                o.arguments = []
                o.state = .none
            default: break
            }
        }
    }

    private mutating func run() throws -> PickleValue {
        while true {
            let opcode = try byte()
            switch opcode {
            case 0x80: _ = try byte()  // PROTO
            case 0x95: _ = try integer(UInt64.self)  // FRAME
            case 0x2E:  // STOP
                return try pop()
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popToMark()  // POP_MARK
            case 0x32: stack.append(try top())  // DUP
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x4A: stack.append(.int(Int(try integer(Int32.self))))  // BININT
            case 0x4B: stack.append(.int(Int(try byte())))  // BININT1
            case 0x4D: stack.append(.int(Int(try integer(UInt16.self))))  // BININT2
            case 0x8A: stack.append(try long(count: Int(try byte())))  // LONG1
            case 0x8B: stack.append(try long(count: Int(try integer(Int32.self))))  // LONG4
            case 0x49:  // INT (text)
                let t = try line()
                if t == "00" { stack.append(.bool(false)) } else if t == "01" { stack.append(.bool(true)) } else {
                    guard let v = Int(t) else { throw corrupt("bad INT '\(t)'") }
                    stack.append(.int(v))
                }
            case 0x4C:  // LONG (text)
                let t = try line()
                guard let v = Int(t.hasSuffix("L") ? String(t.dropLast()) : t) else { throw corrupt("bad LONG '\(t)'") }
                stack.append(.int(v))
            case 0x47: stack.append(.float(Double(bitPattern: UInt64(bigEndian: try take(8).loadUnaligned(as: UInt64.self)))))
            case 0x46:  // FLOAT (text)
                let t = try line()
                guard let v = Double(t) else { throw corrupt("bad FLOAT '\(t)'") }
                stack.append(.float(v))
            case 0x58: stack.append(.string(try text(Int(try integer(UInt32.self)))))  // BINUNICODE
            case 0x8C: stack.append(.string(try text(Int(try byte()))))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(Int(clamping: try integer(UInt64.self)))))  // BINUNICODE8
            case 0x56: stack.append(.string(try line()))  // UNICODE (raw-unicode-escape; ASCII in practice)
            case 0x54: stack.append(.string(try text(Int(try integer(Int32.self)))))  // BINSTRING
            case 0x55: stack.append(.string(try text(Int(try byte()))))  // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(Array(try take(Int(try integer(UInt32.self))))))  // BINBYTES
            case 0x43: stack.append(.bytes(Array(try take(Int(try byte())))))  // SHORT_BINBYTES
            case 0x8E, 0x96: stack.append(.bytes(Array(try take(Int(clamping: try integer(UInt64.self))))))  // BINBYTES8, BYTEARRAY8
            case 0x29: stack.append(.tuple(PickleTuple([])))
            case 0x74: stack.append(.tuple(PickleTuple(try popToMark())))
            case 0x85: let a = try pop(); stack.append(.tuple(PickleTuple([a])))
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple(PickleTuple([a, b])))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple(PickleTuple([a, b, c])))
            case 0x5D: stack.append(.list(PickleList()))
            case 0x6C: stack.append(.list(PickleList(try popToMark())))
            case 0x61:  // APPEND
                let item = try pop()
                guard case .list(let list) = try top() else { throw corrupt("APPEND to a non-list") }
                list.items.append(item)
            case 0x65:  // APPENDS
                let items = try popToMark()
                switch try top() {
                case .list(let list): list.items.append(contentsOf: items)
                case .object: break  // append to an inert object (e.g. a deque): ignored
                default: throw corrupt("APPENDS to a non-list")
                }
            case 0x7D: stack.append(.dict(PickleDict()))
            case 0x64:  // DICT
                let items = try popToMark()
                let dict = PickleDict()
                try setItems(dict, items)
                stack.append(.dict(dict))
            case 0x73:  // SETITEM
                let value = try pop(), key = try pop()
                try setItems(try targetDict(), [key, value])
            case 0x75:  // SETITEMS
                let items = try popToMark()
                try setItems(try targetDict(), items)
            case 0x8F: stack.append(.list(PickleList()))  // EMPTY_SET (as a list)
            case 0x90:  // ADDITEMS
                let items = try popToMark()
                guard case .list(let list) = try top() else { throw corrupt("ADDITEMS to a non-set") }
                list.items.append(contentsOf: items)
            case 0x91: stack.append(.list(PickleList(try popToMark())))  // FROZENSET
            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                stack.append(.global(module: module, name: name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let n = name.stringValue, let m = module.stringValue else { throw corrupt("STACK_GLOBAL needs strings") }
                stack.append(.global(module: m, name: n))
            case 0x52:  // REDUCE
                let arguments = try pop(), callable = try pop()
                stack.append(try call(callable, arguments.elements ?? [arguments]))
            case 0x81:  // NEWOBJ
                let arguments = try pop(), cls = try pop()
                stack.append(try call(cls, arguments.elements ?? []))
            case 0x92:  // NEWOBJ_EX
                _ = try pop()
                let arguments = try pop(), cls = try pop()
                stack.append(try call(cls, arguments.elements ?? []))
            case 0x6F:  // OBJ
                var items = try popToMark()
                guard !items.isEmpty else { throw corrupt("OBJ without a class") }
                let cls = items.removeFirst()
                stack.append(try call(cls, items))
            case 0x69:  // INST
                let module = try line(), name = try line()
                stack.append(try call(.global(module: module, name: name), try popToMark()))
            case 0x62:  // BUILD
                let state = try pop()
                switch try top() {
                case .dict(let dict): dict.attributes = state
                case .object(let object): object.state = state
                default: break  // tensors and parameters: state (hooks, requires_grad) is irrelevant here
                }
            case 0x70:  // PUT
                guard let index = Int(try line()) else { throw corrupt("bad PUT index") }
                memo[index] = try top()
            case 0x71: memo[Int(try byte())] = try top()  // BINPUT
            case 0x72: memo[Int(try integer(UInt32.self))] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x67:  // GET
                guard let index = Int(try line()), let value = memo[index] else { throw corrupt("bad GET") }
                stack.append(value)
            case 0x68:
                let index = Int(try byte())
                guard let value = memo[index] else { throw corrupt("BINGET of unknown memo \(index)") }
                stack.append(value)
            case 0x6A:
                let index = Int(try integer(UInt32.self))
                guard let value = memo[index] else { throw corrupt("LONG_BINGET of unknown memo \(index)") }
                stack.append(value)
            case 0x51: stack.append(try persistentLoad(try pop()))  // BINPERSID
            case 0x50: stack.append(try persistentLoad(.string(try line())))  // PERSID
            default:
                throw WeightsError.unsupported(
                    path: path, reason: "pickle opcode 0x\(String(opcode, radix: 16)) at byte \(position - 1)")
            }
        }
    }

    private mutating func targetDict() throws -> PickleDict {
        switch try top() {
        case .dict(let dict): return dict
        case .object(let object):
            // SETITEMS on an inert object (e.g. a custom mapping): collect into a detached dict.
            let dict = PickleDict()
            object.state = .dict(dict)
            return dict
        default: throw corrupt("SETITEM on a non-dict")
        }
    }

    private func setItems(_ dict: PickleDict, _ flat: [PickleValue]) throws {
        guard flat.count % 2 == 0 else { throw corrupt("odd number of dict items") }
        for i in stride(from: 0, to: flat.count, by: 2) { dict.set(flat[i], flat[i + 1]) }
    }

    /// LONG1/LONG4 payload: little-endian two's complement of `count` bytes.
    private mutating func long(count: Int) throws -> PickleValue {
        guard count >= 0 else { throw corrupt("negative LONG length") }
        let data = try take(count)
        guard count <= 8 else {
            // Integers wider than 64 bits do not occur in state dicts; keep them inert.
            return .object(PickleObject(callable: .global(module: "builtins", name: "int"), arguments: []))
        }
        var value: UInt64 = 0
        for (i, b) in data.enumerated() { value |= UInt64(b) << UInt64(8 * i) }
        if count > 0 && count < 8 && data[count - 1] & 0x80 != 0 {
            value |= ~0 << UInt64(8 * count)  // sign-extend
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    /// Interprets the few callables state dicts need; everything else stays inert.
    private func call(_ callable: PickleValue, _ arguments: [PickleValue], depth: Int = 0) throws -> PickleValue {
        guard depth < 8 else { throw corrupt("_rebuild_from_type_v2 nested more than 8 deep") }
        guard case .global(let module, let name) = callable else {
            return .object(PickleObject(callable: callable, arguments: arguments))
        }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"):
            return .dict(PickleDict())
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            guard arguments.count >= 4, case .storage(let storage) = arguments[0], let offset = arguments[1].intValue,
                  let shape = arguments[2].elements?.compactMap(\.intValue), let strides = arguments[3].elements?.compactMap(\.intValue),
                  shape.count == arguments[2].elements?.count, strides.count == shape.count else {
                throw corrupt("malformed \(name) arguments")
            }
            return .tensor(TensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard let data = arguments.first else { throw corrupt("\(name) without data") }
            return data
        case ("torch._tensor", "_rebuild_from_type_v2"):
            // (function, type, args, state): apply the inner rebuild function to its arguments.
            guard arguments.count >= 3 else { throw corrupt("malformed _rebuild_from_type_v2") }
            return try call(arguments[0], arguments[2].elements ?? [], depth: depth + 1)
        case ("torch", "Size"), ("builtins", "tuple"):
            return .tuple(PickleTuple(arguments.first?.elements ?? []))
        case ("builtins", "list"):
            return .list(PickleList(arguments.first?.elements ?? []))
        case ("_codecs", "encode"):
            guard let text = arguments.first?.stringValue else { throw corrupt("_codecs.encode without text") }
            // latin-1 round trip: each scalar is one byte.
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        default:
            return .object(PickleObject(callable: callable, arguments: arguments))
        }
    }
}
