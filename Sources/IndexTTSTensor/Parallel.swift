import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Work splitting for kernels that BLAS does not cover.
public enum Parallel {
    /// Number of worker threads used by ``forEachChunk(count:minimumChunk:_:)``: the machine's online cores,
    /// or `INDEXTTS_THREADS` when set.
    public static let workerCount: Int = {
        if let value = getenv("INDEXTTS_THREADS"), let n = Int(String(cString: value)), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// Splits `0..<count` into at most ``workerCount`` contiguous chunks of at least `minimumChunk` items and runs
    /// `body` on each, concurrently when there is more than one chunk. Returns when all chunks are done.
    ///
    /// Thread safety: `body` runs concurrently on disjoint ranges. It must write only memory that belongs to its
    /// own range (every kernel here writes disjoint output rows), which is why a non-`Sendable` closure is accepted.
    public static func forEachChunk(count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(workerCount, max(1, count / max(minimumChunk, 1)))
        if chunks == 1 {
            body(0..<count)
            return
        }
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { escapable in
            let work = UncheckedSendableBox(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = chunk * per
                let end = min(count, start + per)
                if start < end { work.value(start..<end) }
            }
        }
    }
}

/// Carries a non-`Sendable` value into concurrent work whose safety is argued at the use site.
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
