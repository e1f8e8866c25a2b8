import CIndexTTSPool
import Dispatch
import Foundation
import Synchronization
@testable import IndexTTSTensor
import Testing

/// The worker pool behind `Parallel.forEachChunk` (CIndexTTSPool): every index runs exactly once whichever way a loop
/// runs — on the pool, through libdispatch when the pool refuses it (nested loops, several callers at once), or
/// after the workers have gone to sleep. Serialized: its tests would otherwise hold the pool against each other.
@Suite(.serialized)
struct ParallelPoolTests {
    /// Runs `forEachChunk` over `count` indices and returns how often each index was visited.
    private static func visits(count: Int, minimumChunk: Int, chunksPerWorker: Int = 1) -> [Int] {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: max(count, 1))
        Parallel.forEachChunk(count: count, minimumChunk: minimumChunk, chunksPerWorker: chunksPerWorker) { range in
            for i in range { counts[i] += 1 }  // chunks are disjoint: no two threads write one index
        }
        return Array(UnsafeBufferPointer(start: counts, count: count))
    }

    @Test func usableCoresAreThoseTheProcessMayUse() {
        let online = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #expect(Parallel.usableCores >= 1 && Parallel.usableCores <= max(online, 1))
        #expect(Parallel.usableCores <= ProcessInfo.processInfo.activeProcessorCount || online < 1)
        if getenv("INDEXTTS_THREADS") == nil { #expect(Parallel.workerCount == Parallel.usableCores) }
    }

    @Test func everyIndexRunsOnceOverManyLoops() {
        let before = Parallel.poolCounters.jobs
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<3000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let count = Int(state >> 54)  // 0 … 1023
            let minimumChunk = 1 + Int((state >> 40) & 7)
            let chunksPerWorker = 1 + Int((state >> 30) & 7)  // 1 … 8: more chunks than threads from 2 on
            let seen = Self.visits(count: count, minimumChunk: minimumChunk, chunksPerWorker: chunksPerWorker)
            #expect(seen.allSatisfy { $0 == 1 },
                    "count \(count), minimum chunk \(minimumChunk), \(chunksPerWorker) chunks per worker")
        }
        if Parallel.poolWorkers > 0 {
            // Tests running beside this one may hold the pool now and then (their loops and ours then go through
            // libdispatch), but not for all 3,000 loops.
            #expect(Parallel.poolCounters.jobs > before)
        }
    }

    @Test func nestedLoopsAndConcurrentCallersRunAnotherWay() {
        // A loop inside a loop's body: the pool refuses it (its workers are busy with the outer one).
        let outer = 64, inner = 300
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: outer * inner)
        Parallel.forEachChunk(count: outer, minimumChunk: 1) { rows in
            for row in rows {
                Parallel.forEachChunk(count: inner, minimumChunk: 1) { columns in
                    for c in columns { counts[row * inner + c] += 1 }
                }
            }
        }
        #expect((0..<(outer * inner)).allSatisfy { counts[$0] == 1 })

        // Four threads starting loops at once: one holds the pool, the others fall back; all complete.
        let failures = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { failures.deallocate() }
        failures.initialize(repeating: 0, count: 4)
        let box = UncheckedSendableBox(failures)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for round in 0..<400 {
                let seen = Self.visits(count: 50 + (round * 37 + caller * 11) % 700, minimumChunk: 1)
                if !seen.allSatisfy({ $0 == 1 }) { box.value[caller] += 1 }
            }
        }
        #expect((0..<4).allSatisfy { failures[$0] == 0 })
    }

    @Test func poolRefusesWhatItCannotRun() {
        guard Parallel.poolWorkers > 0 else { return }
        let body: indextts_pool_body = { context, chunk in
            context!.assumingMemoryBound(to: Int.self)[chunk] += 1
        }
        var counts = [Int](repeating: 0, count: Int(INDEXTTS_POOL_MAX_CHUNKS) + 1)
        counts.withUnsafeMutableBufferPointer { buffer in
            let context = UnsafeMutableRawPointer(buffer.baseAddress!)
            // One chunk, more than the most chunks, or no body: refused, nothing run.
            #expect(indextts_pool_run(1, body, context) == -1)
            #expect(indextts_pool_run(Int(INDEXTTS_POOL_MAX_CHUNKS) + 1, body, context) == -1)
            #expect(indextts_pool_run(2, nil, context) == -1)
        }
        #expect(counts.allSatisfy { $0 == 0 })
        // More chunks than threads: each runs once.
        var status: Int32 = -1
        for _ in 0..<100 {  // the pool may be held by a test running beside this one: try again
            status = counts.withUnsafeMutableBufferPointer {
                indextts_pool_run(Parallel.poolWorkers * 8 + 3, body, UnsafeMutableRawPointer($0.baseAddress!))
            }
            if status == 0 { break }
            usleep(1000)
        }
        #expect(status == 0)
        #expect(counts.prefix(Parallel.poolWorkers * 8 + 3).allSatisfy { $0 == 1 })
        #expect(counts.dropFirst(Parallel.poolWorkers * 8 + 3).allSatisfy { $0 == 0 })
        // A job started from inside a job's body is refused too (the body sees -1 and runs its chunks itself).
        let nested: indextts_pool_body = { context, chunk in
            let results = context!.assumingMemoryBound(to: Int32.self)
            results[Int(chunk)] = indextts_pool_run(2, { _, _ in }, nil)
        }
        var results = [Int32](repeating: 7, count: 2)
        status = -1
        for _ in 0..<100 {  // the pool may be held by a test running beside this one: try again
            status = results.withUnsafeMutableBufferPointer { indextts_pool_run(2, nested, $0.baseAddress!) }
            if status == 0 { break }
            usleep(1000)
        }
        if status == 0 { #expect(results == [-1, -1]) }
    }

    /// Chunk 0 waits (up to 5 s) until chunk 1 has run: both must then have run at once, on two threads — a worker
    /// took one of them. Right after another loop (the worker polling) and after the workers have gone to sleep
    /// (longer than they poll: the loop must wake one). A lost wake-up leaves chunk 1 to the caller after chunk 0
    /// gave up, on the same thread.
    @Test func aWorkerRunsAChunkBesideTheCaller() throws {
        guard Parallel.poolWorkers > 0 else { return }
        let body: indextts_pool_body = { context, chunk in
            let flags = Unmanaged<ChunkThreads>.fromOpaque(context!).takeUnretainedValue()
            if chunk == 0 {
                flags.firstThread.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
            } else {
                flags.secondThread.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
            }
            if chunk == 1 { flags.secondRan.store(true, ordering: .sequentiallyConsistent); return }
            let start = DispatchTime.now().uptimeNanoseconds
            while !flags.secondRan.load(ordering: .sequentiallyConsistent),
                  DispatchTime.now().uptimeNanoseconds - start < 5_000_000_000 { sched_yield() }
            flags.sawSecond.store(flags.secondRan.load(ordering: .sequentiallyConsistent), ordering: .sequentiallyConsistent)
        }
        for pause in [0, Parallel.poolSpinMicroseconds + 20_000] {
            let flags = ChunkThreads()
            var status: Int32 = -1
            let start = DispatchTime.now().uptimeNanoseconds
            // The pool may be held by another suite's loops running beside this one: try again for up to a minute.
            while DispatchTime.now().uptimeNanoseconds - start < 60_000_000_000 {
                if pause > 0 { usleep(UInt32(pause)) } else { Parallel.forEachChunk(count: 64, minimumChunk: 1) { _ in } }
                status = indextts_pool_run(2, body, Unmanaged.passUnretained(flags).toOpaque())
                if status == 0 { break }
                usleep(200)
            }
            try #require(status == 0, "the pool stayed busy")
            let sawSecond = flags.sawSecond.load(ordering: .sequentiallyConsistent)
            let first = flags.firstThread.load(ordering: .sequentiallyConsistent)
            let second = flags.secondThread.load(ordering: .sequentiallyConsistent)
            #expect(sawSecond, "pause \(pause) µs: chunk 1 did not run beside chunk 0")
            #expect(first != 0 && second != 0 && first != second)
        }
    }
}

/// What the chunks of ``ParallelPoolTests/aWorkerRunsAChunkBesideTheCaller()`` saw.
private final class ChunkThreads: Sendable {
    let firstThread = Atomic<UInt>(0)
    let secondThread = Atomic<UInt>(0)
    let secondRan = Atomic<Bool>(false)
    let sawSecond = Atomic<Bool>(false)
}
