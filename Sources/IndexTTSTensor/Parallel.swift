import CIndexTTSPool
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Work splitting for kernels that BLAS does not cover.
///
/// Loops run on a pool of ``workerCount`` − 1 threads of our own plus the calling thread (`indextts_pool.h`). A
/// decoding step runs a couple of hundred such loops of 0.05–1 ms each; the pool's workers poll for the next job for
/// ``poolSpinMicroseconds`` after each one before they sleep, because waking a sleeping thread takes tens of
/// microseconds on a virtual machine (waking its idle virtual CPU is a VM exit), which libdispatch paid on every loop.
/// A loop that the pool cannot take — another thread's loop is running on it, or a loop started from inside a loop —
/// runs through `DispatchQueue.concurrentPerform` as before.
public enum Parallel {
    /// Number of worker threads used by ``forEachChunk(count:minimumChunk:chunksPerWorker:_:)``: the cores this
    /// process may use (online cores, fewer under an affinity mask or a cgroup CPU quota: a container limited to 2
    /// CPUs on a large host gets 2), or `INDEXTTS_THREADS` when set.
    public static let workerCount: Int = {
        if let value = getenv("INDEXTTS_THREADS"), let n = Int(String(cString: value)), n > 0 { return n }
        return usableCores
    }()

    /// Cores this process may use (`indextts_pool_usable_cpus`).
    public static let usableCores = max(1, Int(indextts_pool_usable_cpus()))

    /// How long the pool's workers poll for the next loop before sleeping: `INDEXTTS_POOL_SPIN_US` (microseconds,
    /// default 100, at most 1 s; 0 makes them sleep at once). They poll with `pause` for the first few microseconds,
    /// then call `sched_yield` between looks, so that another thread with work on their core (an OpenBLAS or OpenMP
    /// worker) runs. `INDEXTTS_POOL=off` runs every loop through libdispatch instead.
    public static let poolSpinMicroseconds: Int = {
        if let value = getenv("INDEXTTS_POOL_SPIN_US"), let n = Int(String(cString: value)), n >= 0 { return min(n, 1_000_000) }
        return 100
    }()

    /// Workers of the pool (0 when it is off, with one thread, or when `INDEXTTS_THREADS` asks for more threads than
    /// there are usable cores: polling workers would then take turns on the cores, so loops go through libdispatch).
    public static let poolWorkers: Int = {
        if EnvironmentSwitch.isOff("INDEXTTS_POOL") { return 0 }
        guard workerCount > 1, workerCount <= usableCores else { return 0 }
        return Int(indextts_pool_start(Int32(min(workerCount - 1, 255)), poolSpinMicroseconds * 1000))
    }()

    /// Loops the pool has run, and loops for which a sleeping worker had to be woken (diagnostics, tests).
    public static var poolCounters: (jobs: UInt, wakeups: UInt) {
        (UInt(indextts_pool_jobs()), UInt(indextts_pool_wakeups()))
    }

    /// Splits `0..<count` into at most ``workerCount`` (times `chunksPerWorker`) contiguous chunks of at least
    /// `minimumChunk` items and runs `body` on each, concurrently when there is more than one chunk. Returns when all
    /// chunks are done.
    ///
    /// Thread safety: `body` runs concurrently on disjoint ranges. It must write only memory that belongs to its
    /// own range (every kernel here writes disjoint output rows), which is why a non-`Sendable` closure is accepted.
    ///
    /// - Parameter chunksPerWorker: split into up to this many chunks per worker (at least `minimumChunk` items
    ///   each), which the threads claim one at a time as they finish one: a thread that starts late (a pool worker
    ///   waking up, a virtual CPU descheduled) or runs slow takes fewer instead of holding the others up at the end.
    ///   For loops of many equal items whose chunks cost nothing to start (attention over heads).
    public static func forEachChunk(count: Int, minimumChunk: Int, chunksPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        // Many chunks only for the pool (at most as many as one of its jobs takes).
        let most = Int(INDEXTTS_POOL_MAX_CHUNKS)
        let perWorker = poolWorkers > 0 ? min(max(1, chunksPerWorker), most) : 1
        let chunks = min(workerCount * perWorker, most, max(1, count / max(minimumChunk, 1)))
        if chunks == 1 {
            body(0..<count)
            return
        }
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { escapable in
            let job = PoolJob(count: count, per: per, body: escapable)
            let pooled = poolWorkers > 0 && withUnsafePointer(to: job) { pointer in
                indextts_pool_run(chunks, { context, chunk in
                    context!.assumingMemoryBound(to: PoolJob.self).pointee.run(chunk)
                }, UnsafeMutableRawPointer(mutating: pointer)) == 0
            }
            if !pooled {
                let work = UncheckedSendableBox(job)
                DispatchQueue.concurrentPerform(iterations: chunks) { work.value.run($0) }
            }
        }
    }
}

/// One loop handed to the pool: chunk `c` is `c·per ..< min(count, (c + 1)·per)`.
private struct PoolJob {
    let count: Int
    let per: Int
    let body: (Range<Int>) -> Void

    func run(_ chunk: Int) {
        let start = chunk * per, end = min(count, start + per)
        if start < end { body(start..<end) }
    }
}

/// Carries a non-`Sendable` value into concurrent work whose safety is argued at the use site.
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
