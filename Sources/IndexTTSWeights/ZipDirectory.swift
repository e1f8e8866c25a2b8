/// The central directory of a ZIP archive (with ZIP64), enough to locate the stored members that `torch.save`
/// writes. Members are returned as byte ranges of the mapped file; only uncompressed ("stored") members can be read.
struct ZipDirectory {
    struct Member {
        let name: String
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let file: MappedFile
    let members: [String: Member]
    let order: [String]

    init(_ file: MappedFile) throws {
        self.file = file
        let path = file.path
        // The end-of-central-directory record sits in the last 22 + 65535 bytes.
        let searchStart = max(0, file.size - 22 - 65_535)
        var eocd = -1
        var position = file.size - 22
        while position >= searchStart {
            if try file.read(UInt32.self, at: position) == 0x0605_4b50 { eocd = position; break }
            position -= 1
        }
        guard eocd >= 0 else {
            throw WeightsError.corrupt(path: path, reason: "ZIP end-of-central-directory record not found (truncated download?)")
        }
        var entryCount = Int(try file.read(UInt16.self, at: eocd + 10))
        var directorySize = Int(try file.read(UInt32.self, at: eocd + 12))
        var directoryOffset = Int(try file.read(UInt32.self, at: eocd + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator just before the EOCD points at the ZIP64 end record.
            let locator = eocd - 20
            guard locator >= 0, try file.read(UInt32.self, at: locator) == 0x0706_4b50 else {
                throw WeightsError.corrupt(path: path, reason: "ZIP64 end-of-central-directory locator missing")
            }
            let record = Int(clamping: try file.read(UInt64.self, at: locator + 8))
            guard try file.read(UInt32.self, at: record) == 0x0606_4b50 else {
                throw WeightsError.corrupt(path: path, reason: "ZIP64 end-of-central-directory record missing")
            }
            entryCount = Int(clamping: try file.read(UInt64.self, at: record + 32))
            directorySize = Int(clamping: try file.read(UInt64.self, at: record + 40))
            directoryOffset = Int(clamping: try file.read(UInt64.self, at: record + 48))
        }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= file.size, directorySize <= file.size - directoryOffset else {
            throw WeightsError.corrupt(path: path, reason: "ZIP central directory lies outside the file (truncated download?)")
        }
        var members: [String: Member] = [:]
        var order: [String] = []
        var cursor = directoryOffset
        for _ in 0..<entryCount {
            guard try file.read(UInt32.self, at: cursor) == 0x0201_4b50 else {
                throw WeightsError.corrupt(path: path, reason: "bad ZIP central directory entry at byte \(cursor)")
            }
            let method = try file.read(UInt16.self, at: cursor + 10)
            var compressed = Int(try file.read(UInt32.self, at: cursor + 20))
            var size = Int(try file.read(UInt32.self, at: cursor + 24))
            let nameLength = Int(try file.read(UInt16.self, at: cursor + 28))
            let extraLength = Int(try file.read(UInt16.self, at: cursor + 30))
            let commentLength = Int(try file.read(UInt16.self, at: cursor + 32))
            var localOffset = Int(try file.read(UInt32.self, at: cursor + 42))
            let nameBytes = try file.data(at: cursor + 46, count: nameLength)
            let name = String(decoding: nameBytes, as: UTF8.self)
            // ZIP64 extended information replaces saturated fields, in this order.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let tag = try file.read(UInt16.self, at: extra)
                let length = Int(try file.read(UInt16.self, at: extra + 2))
                if tag == 0x0001 {
                    var field = extra + 4
                    if size == 0xFFFF_FFFF { size = Int(clamping: try file.read(UInt64.self, at: field)); field += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = Int(clamping: try file.read(UInt64.self, at: field)); field += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = Int(clamping: try file.read(UInt64.self, at: field)) }
                }
                extra += 4 + length
            }
            members[name] = Member(name: name, method: method, compressedSize: compressed, size: size,
                                   localHeaderOffset: localOffset)
            order.append(name)
            cursor = extraEnd + commentLength
        }
        self.members = members
        self.order = order
    }

    /// Byte offset and length of a stored member's data.
    func dataRange(of name: String) throws -> (offset: Int, count: Int) {
        guard let member = members[name] else {
            throw WeightsError.corrupt(path: file.path, reason: "archive member '\(name)' is missing")
        }
        guard member.method == 0 else {
            throw WeightsError.unsupported(
                path: file.path, reason: "archive member '\(name)' is compressed (method \(member.method)); torch.save writes stored members — re-save the checkpoint with torch.save")
        }
        let header = member.localHeaderOffset
        guard try file.read(UInt32.self, at: header) == 0x0403_4b50 else {
            throw WeightsError.corrupt(path: file.path, reason: "bad local header for '\(name)'")
        }
        let nameLength = Int(try file.read(UInt16.self, at: header + 26))
        let extraLength = Int(try file.read(UInt16.self, at: header + 28))
        let start = header + 30 + nameLength + extraLength
        _ = try file.pointer(at: start, count: member.size)
        return (start, member.size)
    }
}
