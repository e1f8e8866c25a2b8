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
