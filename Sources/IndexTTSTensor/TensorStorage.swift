#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A flat buffer of `Float` that one or more ``Tensor`` values view.
///
/// Storage is either owned (allocated 64-byte aligned and freed on deinit) or borrowed from a longer-lived
/// owner such as a memory-mapped checkpoint file, which it keeps alive.
///
/// Thread safety: a storage is written only by the operation that creates it, before the resulting tensor is
/// returned; afterwards it is read-only and may be shared freely across threads. The one documented exception is
/// ``KVCache``, which appends past the region its published views cover.
public final class TensorStorage: @unchecked Sendable {
    /// First element of the buffer.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of `Float` elements in the buffer.
    public let count: Int
    private let owner: AnyObject?

    /// Allocates an uninitialised buffer of `count` floats, 64-byte aligned.
    public init(count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.owner = nil
    }

    /// Allocates a buffer of `count` floats set to `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(count: count)
        pointer.initialize(repeating: value, count: count)
    }

    /// A buffer of `count` zeros whose pages are supplied on first touch: from 1 MiB an anonymous private mapping
    /// (nothing is written up front and pages never written take no memory — a KV cache sized for the longest
    /// generation costs what it holds), below that (or if the mapping fails) an allocation filled with zeros.
    public static func zeroed(count: Int) -> TensorStorage {
        let bytes = count * MemoryLayout<Float>.stride
        if bytes >= 1 << 20, let mapping = AnonymousMapping(byteCount: bytes) {
            return TensorStorage(borrowing: mapping.base.bindMemory(to: Float.self, capacity: count), count: count,
                                 owner: mapping)
        }
        return TensorStorage(count: count, repeating: 0)
    }

    /// Wraps memory owned by `owner` (for example a memory-mapped file). The memory must stay valid and
    /// unchanged while `owner` lives.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    deinit {
        if owner == nil {
            UnsafeMutableRawPointer(pointer).deallocate()
        }
    }
}

/// Anonymous private pages (zero until written), unmapped when released.
private final class AnonymousMapping {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    init?(byteCount: Int) {
        let mapping = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapping, mapping != MAP_FAILED else { return nil }
        #if os(Linux)
        // Where transparent huge pages are `always`, a first write would fault in 2 MiB at once (a KV cache's heads
        // lie 0.4 MB apart, so its first step would make all of it resident): keep this mapping on small pages.
        _ = madvise(mapping, byteCount, MADV_NOHUGEPAGE)
        #endif
        base = mapping
        self.byteCount = byteCount
    }

    deinit { munmap(base, byteCount) }
}
