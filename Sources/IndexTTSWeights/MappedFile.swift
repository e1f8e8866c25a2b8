#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import Foundation
import Synchronization

/// A whole file mapped read-only into memory. Checkpoint readers hand out pointers into it; fp32 tensors that
/// need no conversion borrow the mapping instead of being copied.
///
/// The pages are the file's own (page cache): resident while touched, they count towards the process's RSS
/// (`RssFile`) but are never a second copy of the weights. ``releaseResidentPages()`` drops them from this process
/// (`madvise(MADV_DONTNEED)`); the next read faults them back in from the page cache (or the disk), with the same
/// contents, because nothing ever writes through the mapping (it is `PROT_READ`: a write would fault).
///
/// Thread safety: the mapping is read-only and unmapped only on deinit, so it can be shared across threads.
public final class MappedFile: @unchecked Sendable {
    /// Path the file was opened from (used in error messages).
    public let path: String
    /// Length in bytes.
    public let size: Int
    /// Start of the mapping (nil for an empty file).
    public let bytes: UnsafeRawPointer?
    /// True when ``bytes`` is an owned heap copy (``init(path:copying:)``) rather than a mapping.
    private let ownsCopy: Bool

    public init(path: String) throws {
        self.path = path
        ownsCopy = false
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw WeightsError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw WeightsError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw WeightsError.unreadable(path: path, reason: "not a regular file")
        }
        size = Int(info.st_size)
        if size == 0 {
            bytes = nil
            return
        }
        let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapping, mapping != MAP_FAILED else {
            throw WeightsError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawPointer(mapping)
        Self.register(self)
    }

    /// An in-memory stand-in for a file: a private, 64-byte aligned copy of `contents`, named `path` in errors.
    /// Readers whose tensors are not stored verbatim at a file offset (ONNX initializers decoded by the protobuf
    /// runtime) gather them into one such buffer so that ``TensorEntry`` can describe them like any checkpoint's.
    /// It is not registered as a live mapping and ``releaseResidentPages()`` leaves it alone.
    public init(path: String, copying contents: UnsafeRawBufferPointer) {
        self.path = path
        size = contents.count
        ownsCopy = true
        guard size > 0, let source = contents.baseAddress else {
            bytes = nil
            return
        }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        copy.copyMemory(from: source, byteCount: size)
        bytes = UnsafeRawPointer(copy)
    }

    /// The bytes of a file already in memory (an upload, a fuzz input), copied to the heap; `name` stands for the
    /// path in errors. Readers treat it exactly like a mapped file.
    public init(bytes source: [UInt8], name: String) {
        path = name
        size = source.count
        ownsCopy = true
        if source.isEmpty {
            bytes = nil
            return
        }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 64)
        source.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: source.count) }
        bytes = UnsafeRawPointer(copy)
    }

    deinit {
        guard let bytes else { return }
        if ownsCopy {
            UnsafeMutableRawPointer(mutating: bytes).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: bytes), size)
        }
    }

    // MARK: Resident pages

    /// Drops this mapping's resident pages from the process (`madvise(MADV_DONTNEED)`): RSS falls by the pages
    /// touched so far; tensors that borrow the mapping stay valid and fault their pages back in when next read.
    public func releaseResidentPages() {
        guard let bytes, size > 0, !ownsCopy else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: bytes), size, Int32(MADV_DONTNEED))
    }

    /// Bytes of this mapping resident in this process (`Rss:` of its entry in /proc/self/smaps; nil where that is
    /// not available).
    public var residentBytes: Int? {
        guard let bytes, let smaps = Self.readProcFile("/proc/self/smaps") else { return nil }
        let start = UInt(bitPattern: Int(bitPattern: bytes))
        var inMapping = false
        var total = 0
        var found = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let low = UInt(line[..<dash], radix: 16), let high = UInt(line[line.index(after: dash)..<space], radix: 16) {
                // A mapping can be split into several entries (its end is rounded up to a page); count those that
                // begin inside [start, start + size).
                inMapping = low >= start && low < start + UInt(size) && high > low
                found = found || inMapping
                continue
            }
            if inMapping, line.hasPrefix("Rss:") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, let kilobytes = Int(fields[1]) { total += kilobytes * 1024 }
            }
        }
        return found ? total : nil
    }

    /// The whole of a /proc file (they report size 0, so read until end of file).
    static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            #if canImport(Glibc)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            #else
            let n = chunk.withUnsafeMutableBytes { Darwin.read(fd, $0.baseAddress, $0.count) }
            #endif
            if n < 0 { return nil }
            if n == 0 { break }
            data.append(contentsOf: chunk[..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Live mappings by path (weak), so that a model's files can be released by path after use.
    private static let live = Mutex<[String: [WeakMapping]]>([:])

    private struct WeakMapping: @unchecked Sendable {
        weak var file: MappedFile?
    }

    private static func register(_ file: MappedFile) {
        let key = (file.path as NSString).standardizingPath
        live.withLock { table in
            table[key] = (table[key] ?? []).filter { $0.file != nil } + [WeakMapping(file: file)]
        }
    }

    /// The live mappings of `path` (every open of the same file maps it anew).
    public static func liveMappings(of path: String) -> [MappedFile] {
        let key = (path as NSString).standardizingPath
        return live.withLock { table in (table[key] ?? []).compactMap(\.file) }
    }

    /// Releases the resident pages of every live mapping of `path` (see ``releaseResidentPages()``); returns how
    /// many mappings there were.
    @discardableResult
    public static func releaseResidentPages(of path: String) -> Int {
        let files = liveMappings(of: path)
        files.forEach { $0.releaseResidentPages() }
        return files.count
    }

    /// Bounds-checked pointer to `count` bytes at `offset`.
    public func pointer(at offset: Int, count: Int) throws -> UnsafeRawPointer {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw WeightsError.corrupt(path: path, reason: "\(count) bytes at offset \(offset) lie beyond the file size \(size)")
        }
        guard let bytes else { return UnsafeRawPointer(bitPattern: 1)! }
        return bytes + offset
    }

    /// Copies `count` bytes at `offset`.
    public func data(at offset: Int, count: Int) throws -> [UInt8] {
        let p = try pointer(at: offset, count: count)
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    /// Little-endian integer at `offset`.
    public func read<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) throws -> T {
        T(littleEndian: try pointer(at: offset, count: MemoryLayout<T>.size).loadUnaligned(as: T.self))
    }
}
