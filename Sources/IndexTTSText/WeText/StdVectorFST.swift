import Foundation

/// A weighted finite-state transducer read from OpenFst's binary `vector` format with `standard` arcs (tropical
/// semiring over 32-bit floats) — the format pynini writes and WeTextProcessing ships its grammars in
/// (`tn/zh_tn_tagger.fst`, `tn/en_tn_verbalizer.fst`, …).
///
/// File layout (little-endian): header — magic `2125659606`, FST type (`int32` length + bytes), arc type, `int32`
/// version, `int32` flags, `uint64` properties, `int64` start, state and arc counts, then the input/output symbol
/// tables when the flags say so — followed by each state: final weight (`float32`, +∞ when not final), `int64` arc
/// count and the arcs (`int32` input label, `int32` output label, `float32` weight, `int32` next state).
///
/// Arcs are kept per state in compressed rows in the file's order, which decides among equal-weight paths exactly as
/// OpenFst's composition does. Immutable after loading.
public struct StdVectorFST: Sendable {
    public let start: Int32
    public let stateCount: Int
    public let arcCount: Int
    /// Whether every state's arcs are sorted by input label (pynini's optimised grammars are); arc lookups then
    /// binary-search, otherwise they scan.
    public let isInputSorted: Bool
    /// The flat arrays the search reads (shared, never mutated after loading).
    let storage: FSTStorage

    /// One arc: input and output labels (0 is epsilon), tropical weight and destination state.
    public struct Arc: Equatable, Sendable {
        public let input: Int32
        public let output: Int32
        public let weight: Float
        public let next: Int32
    }

    /// The final weight of `state` (`+infinity` when it is not final).
    public func finalWeight(_ state: Int) -> Float {
        precondition(state >= 0 && state < stateCount, "state \(state) outside 0..<\(stateCount)")
        return storage.finals[state]
    }

    /// The arcs leaving `state`, in file order.
    public func arcs(_ state: Int) -> [Arc] {
        precondition(state >= 0 && state < stateCount, "state \(state) outside 0..<\(stateCount)")
        return (Int(storage.arcStart[state])..<Int(storage.arcStart[state + 1])).map {
            Arc(input: storage.inputLabels[$0], output: storage.outputLabels[$0], weight: storage.weights[$0], next: storage.nextStates[$0])
        }
    }

    static let magic: Int32 = 2_125_659_606
    static let symbolTableMagic: Int32 = 2_125_658_996

    /// Reads an FST file.
    /// - Throws: ``TextError/invalidGrammar(path:reason:)`` naming the file and what is wrong with it.
    public static func load(path: String) throws -> StdVectorFST {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextError.invalidGrammar(path: path, reason: "missing or unreadable")
        }
        do {
            return try StdVectorFST(data: data)
        } catch let TextError.invalidGrammar(_, reason) {
            throw TextError.invalidGrammar(path: path, reason: reason)
        }
    }

    /// Parses an FST from the bytes of a file (errors name the path as `<memory>`).
    public init(data: Data) throws {
        var reader = BinaryReader(data: data)
        func fail(_ reason: String) -> TextError { .invalidGrammar(path: "<memory>", reason: reason) }
        guard let magic = reader.int32(), magic == Self.magic else { throw fail("not an OpenFst binary file (bad magic number)") }
        guard let fstType = reader.string(), let arcType = reader.string() else { throw fail("truncated header") }
        guard fstType == "vector" else { throw fail("FST type \"\(fstType)\" is not supported (only \"vector\")") }
        guard arcType == "standard" else { throw fail("arc type \"\(arcType)\" is not supported (only \"standard\")") }
        guard let version = reader.int32(), let flags = reader.int32(), reader.uint64() != nil,
              let start = reader.int64(), let stateCountField = reader.int64(), reader.int64() != nil
        else { throw fail("truncated header") }
        guard version >= 2 else { throw fail("vector FST version \(version) is not supported (need 2)") }
        if flags & 1 != 0 { try Self.skipSymbolTable(&reader, fail) }
        if flags & 2 != 0 { try Self.skipSymbolTable(&reader, fail) }

        var finals: [Float] = [], arcStart: [Int32] = [0]
        var inputLabels: [Int32] = [], outputLabels: [Int32] = [], weights: [Float] = [], nextStates: [Int32] = []
        // The header's count is trusted only as far as the data can hold that many states (12 bytes at least each).
        let plausibleStates = Int(min(stateCountField, Int64((data.count - reader.offset) / 12)))
        if plausibleStates > 0 {
            finals.reserveCapacity(plausibleStates)
            arcStart.reserveCapacity(plausibleStates + 1)
        }
        let capacity = max(0, (data.count - reader.offset) / 16)
        inputLabels.reserveCapacity(capacity); outputLabels.reserveCapacity(capacity)
        weights.reserveCapacity(capacity); nextStates.reserveCapacity(capacity)

        var inputSorted = true
        // A count of -1 (written to a stream) means: states until the end of the data.
        while stateCountField < 0 ? !reader.atEnd : finals.count < Int(stateCountField) {
            guard let final = reader.float32(), let count = reader.int64(), count >= 0 else {
                throw fail("truncated at state \(finals.count)")
            }
            var previous: Int32 = 0
            for _ in 0..<count {
                guard let i = reader.int32(), let o = reader.int32(), let w = reader.float32(), let n = reader.int32() else {
                    throw fail("truncated in the arcs of state \(finals.count)")
                }
                if i < previous { inputSorted = false }
                previous = i
                inputLabels.append(i); outputLabels.append(o); weights.append(w); nextStates.append(n)
            }
            finals.append(final)
            arcStart.append(Int32(inputLabels.count))
        }
        let states = Int32(finals.count)
        if let bad = nextStates.first(where: { $0 < 0 || $0 >= states }) {
            throw fail("an arc points to state \(bad), outside 0..<\(states)")
        }
        if let bad = inputLabels.first(where: { $0 < 0 }) ?? outputLabels.first(where: { $0 < 0 }) {
            throw fail("negative label \(bad)")
        }
        guard states > 0, start >= 0, start < Int64(states) else { throw fail("start state \(start) outside 0..<\(states)") }
        self.start = Int32(start)
        self.stateCount = finals.count
        self.arcCount = inputLabels.count
        self.isInputSorted = inputSorted
        self.storage = FSTStorage(finals: finals, arcStart: arcStart, inputLabels: inputLabels,
                                  outputLabels: outputLabels, weights: weights, nextStates: nextStates)
    }

    /// Symbol tables (unused by byte-labelled grammars) are read past: magic, name, available key, size, entries.
    static func skipSymbolTable(_ reader: inout BinaryReader, _ fail: (String) -> TextError) throws {
        guard reader.int32() == symbolTableMagic, reader.string() != nil, reader.int64() != nil, let size = reader.int64(), size >= 0
        else { throw fail("malformed symbol table") }
        for _ in 0..<size {
            guard reader.string() != nil, reader.int64() != nil else { throw fail("truncated symbol table") }
        }
    }
}

/// An FST's arrays in memory the search can read through plain pointers (no reference counting or bounds checks in
/// its inner loops). Written once at load time, read-only afterwards, hence safe to share across threads.
final class FSTStorage: @unchecked Sendable {
    let finals: UnsafeMutablePointer<Float>
    /// Arcs of state `s` are `arcStart[s]..<arcStart[s + 1]`.
    let arcStart: UnsafeMutablePointer<Int32>
    let inputLabels: UnsafeMutablePointer<Int32>
    let outputLabels: UnsafeMutablePointer<Int32>
    let weights: UnsafeMutablePointer<Float>
    let nextStates: UnsafeMutablePointer<Int32>

    init(finals: [Float], arcStart: [Int32], inputLabels: [Int32], outputLabels: [Int32],
         weights: [Float], nextStates: [Int32]) {
        func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(1, array.count))
            _ = UnsafeMutableBufferPointer(start: pointer, count: array.count).initialize(from: array)
            return pointer
        }
        self.finals = copy(finals)
        self.arcStart = copy(arcStart)
        self.inputLabels = copy(inputLabels)
        self.outputLabels = copy(outputLabels)
        self.weights = copy(weights)
        self.nextStates = copy(nextStates)
    }

    deinit {
        finals.deallocate(); arcStart.deallocate()
        inputLabels.deallocate(); outputLabels.deallocate(); weights.deallocate(); nextStates.deallocate()
    }
}

/// Little-endian reads over `Data` that return nil past the end.
struct BinaryReader {
    let bytes: [UInt8]
    var offset = 0

    init(data: Data) { bytes = [UInt8](data) }

    var atEnd: Bool { offset >= bytes.count }

    mutating func raw<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { return nil }
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    mutating func int32() -> Int32? { raw(Int32.self) }
    mutating func int64() -> Int64? { raw(Int64.self) }
    mutating func uint64() -> UInt64? { raw(UInt64.self) }
    mutating func float32() -> Float? { raw(UInt32.self).map(Float.init(bitPattern:)) }

    mutating func string() -> String? {
        guard let length = int32(), length >= 0, offset + Int(length) <= bytes.count else { return nil }
        defer { offset += Int(length) }
        return String(decoding: bytes[offset..<(offset + Int(length))], as: UTF8.self)
    }
}
