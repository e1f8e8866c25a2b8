/// Bounds-checked access to a FlatBuffers table inside a mapped file (enough of the wire format for TFLite:
/// scalars, strings, vectors of scalars and vectors of tables).
struct FlatBufferTable {
    let file: MappedFile
    /// Absolute byte position of the table.
    let position: Int

    /// The root table of a buffer that starts at byte 0.
    static func root(of file: MappedFile) throws -> FlatBufferTable {
        FlatBufferTable(file: file, position: Int(try file.read(UInt32.self, at: 0)))
    }

    /// Absolute position of field `index`'s data, or nil when the field is absent.
    func fieldPosition(_ index: Int) throws -> Int? {
        let vtable = position - Int(try file.read(Int32.self, at: position))
        let vtableSize = Int(try file.read(UInt16.self, at: vtable))
        let slot = 4 + 2 * index
        guard slot + 2 <= vtableSize else { return nil }
        let offset = Int(try file.read(UInt16.self, at: vtable + slot))
        return offset == 0 ? nil : position + offset
    }

    func scalar<T: FixedWidthInteger>(_ index: Int, as type: T.Type, default value: T) throws -> T {
        guard let p = try fieldPosition(index) else { return value }
        return try file.read(T.self, at: p)
    }

    /// Follows a `uoffset` reference field.
    private func reference(_ index: Int) throws -> Int? {
        guard let p = try fieldPosition(index) else { return nil }
        return p + Int(try file.read(UInt32.self, at: p))
    }

    func table(_ index: Int) throws -> FlatBufferTable? {
        try reference(index).map { FlatBufferTable(file: file, position: $0) }
    }

    func string(_ index: Int) throws -> String? {
        guard let start = try reference(index) else { return nil }
        let length = Int(try file.read(UInt32.self, at: start))
        return String(decoding: try file.data(at: start + 4, count: length), as: UTF8.self)
    }

    /// Element count and absolute position of the first element of a vector field.
    func vector(_ index: Int, elementSize: Int) throws -> (count: Int, start: Int)? {
        guard let start = try reference(index) else { return nil }
        let count = Int(try file.read(UInt32.self, at: start))
        _ = try file.pointer(at: start + 4, count: count * elementSize)
        return (count, start + 4)
    }

    func scalars<T: FixedWidthInteger>(_ index: Int, as type: T.Type) throws -> [T] {
        guard let (count, start) = try vector(index, elementSize: MemoryLayout<T>.size) else { return [] }
        return try (0..<count).map { try file.read(T.self, at: start + $0 * MemoryLayout<T>.size) }
    }

    func floats(_ index: Int) throws -> [Float] {
        try scalars(index, as: UInt32.self).map { Float(bitPattern: $0) }
    }

    func tables(_ index: Int) throws -> [FlatBufferTable] {
        guard let (count, start) = try vector(index, elementSize: 4) else { return [] }
        return try (0..<count).map { i in
            let slot = start + 4 * i
            return FlatBufferTable(file: file, position: slot + Int(try file.read(UInt32.self, at: slot)))
        }
    }
}
