#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped copy-on-write into memory. Checkpoint readers hand out pointers into it; fp32 tensors that
/// need no conversion borrow the mapping instead of being copied.
///
/// Thread safety: the mapping is private and never written through by this project, and unmapped only on deinit,
/// so it can be shared across threads.
public final class MappedFile: @unchecked Sendable {
    /// Path the file was opened from (used in error messages).
    public let path: String
    /// Length in bytes.
    public let size: Int
    /// Start of the mapping (nil for an empty file).
    public let bytes: UnsafeRawPointer?

    public init(path: String) throws {
        self.path = path
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
        let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let mapping, mapping != MAP_FAILED else {
            throw WeightsError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawPointer(mapping)
    }

    deinit {
        if let bytes { munmap(UnsafeMutableRawPointer(mutating: bytes), size) }
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
