import CSndFile

/// A growable in-memory file behind libsndfile's virtual I/O, used to decode uploads without touching disk and to
/// encode responses into memory.
///
/// Not thread-safe: one codec session owns it.
final class MemoryFile {
    var bytes: [UInt8]
    var position = 0
    /// Lowest offset written after the initial sequential pass went past it (Int.max if never): encoders that
    /// patch headers at the end write below bytes that a stream may already have sent.
    var lowestRewrite = Int.max

    init(_ bytes: [UInt8] = []) {
        self.bytes = bytes
    }

    /// libsndfile callbacks; `user_data` is an unretained pointer to the `MemoryFile`.
    static var virtualIO: SF_VIRTUAL_IO {
        var io = SF_VIRTUAL_IO()
        io.get_filelen = { user in
            sf_count_t(Unmanaged<MemoryFile>.fromOpaque(user!).takeUnretainedValue().bytes.count)
        }
        io.seek = { offset, whence, user in
            let file = Unmanaged<MemoryFile>.fromOpaque(user!).takeUnretainedValue()
            let base: Int
            switch whence {
            case SEEK_CUR: base = file.position
            case SEEK_END: base = file.bytes.count
            default: base = 0
            }
            file.position = max(0, base + Int(offset))
            return sf_count_t(file.position)
        }
        io.read = { pointer, count, user in
            let file = Unmanaged<MemoryFile>.fromOpaque(user!).takeUnretainedValue()
            let available = max(0, min(Int(count), file.bytes.count - file.position))
            if available > 0, let pointer {
                file.bytes.withUnsafeBytes { source in
                    pointer.copyMemory(from: source.baseAddress! + file.position, byteCount: available)
                }
            }
            file.position += available
            return sf_count_t(available)
        }
        io.write = { pointer, count, user in
            let file = Unmanaged<MemoryFile>.fromOpaque(user!).takeUnretainedValue()
            let n = Int(count)
            if file.position < file.bytes.count { file.lowestRewrite = min(file.lowestRewrite, file.position) }
            let end = file.position + n
            if end > file.bytes.count { file.bytes += [UInt8](repeating: 0, count: end - file.bytes.count) }
            if n > 0, let pointer {
                file.bytes.withUnsafeMutableBytes { target in
                    (target.baseAddress! + file.position).copyMemory(from: pointer, byteCount: n)
                }
            }
            file.position = end
            return count
        }
        io.tell = { user in
            sf_count_t(Unmanaged<MemoryFile>.fromOpaque(user!).takeUnretainedValue().position)
        }
        return io
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
