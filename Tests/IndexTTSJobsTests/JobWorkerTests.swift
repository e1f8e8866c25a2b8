import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSTestSupport
import Testing

/// The worker end to end on a SQLite queue with the tone engine: outputs, progress, failures, cancellation,
/// graceful hand-back, and two workers sharing one queue file without running a job twice.
struct JobWorkerTests {
    struct Rig {
        let root: URL
        let queue: SQLiteJobQueue
        let engine: ToneEngine
        let resolver: RequestResolver

        init(segmentDelay: Double = 0) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString)")
            queue = try SQLiteJobQueue(path: root.appendingPathComponent("jobs.sqlite").path)
            engine = ToneEngine(segmentDelay: segmentDelay)
            resolver = RequestResolver(library: VoiceLibrary(root: root.appendingPathComponent("voices"), reserved: ["tone"]),
                                       engine: engine.info)
        }

        func worker(id: String, concurrency: Int = 1, grace: Double = 10, queue: (any JobQueue)? = nil) -> JobWorker {
            var c = JobWorkerConfiguration(outputDirectory: root.appendingPathComponent("outputs"), workerID: id)
            c.concurrency = concurrency
            c.pollInterval = 0.05
            c.leaseSeconds = 5
            c.shutdownGraceSeconds = grace
            return JobWorker(queue: queue ?? self.queue, engine: engine, resolver: resolver, pool: SynthesisPool(width: concurrency),
                             configuration: c)
        }

        func wait(for ids: [String], timeout: Double = 20, until done: (JobRecord) -> Bool = { $0.state.isFinal }) async throws -> [JobRecord] {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let jobs = try await ids.asyncMap { try await queue.job(id: $0) }
                if jobs.allSatisfy(done) { return jobs }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("jobs did not reach the expected state within \(timeout) s")
            return try await ids.asyncMap { try await queue.job(id: $0) }
        }
    }

    @Test func runsJobsToNamedOutputFilesWithTheirAudioAndTimings() async throws {
        let rig = try Rig()
        let jobs = try await rig.queue.submit([
            (SpeechParameters(text: "一二三。四五。", emotion: "happy", format: .flac), nil),
            (SpeechParameters(text: "你好。", format: .wav), nil),
        ])
        let task = Task { await rig.worker(id: "w").run() }
        let done = try await rig.wait(for: jobs.map(\.id))
        task.cancel()
        await task.value
        #expect(done.map(\.state) == [.succeeded, .succeeded])
        let first = done[0]
        let path = try #require(first.outputPath)
        let name = (path as NSString).lastPathComponent
        #expect(name.hasSuffix("_\(first.id).flac") && name.range(of: #"^\d{8}_\d{6}_job_"#, options: .regularExpression) != nil)
        let audio = try AudioDecoder.decode(path: path)
        #expect(audio.sampleRate == 24_000 && abs(audio.duration - 0.5) < 1e-3)
        let result = try #require(first.result)
        #expect(result.segments == 2 && result.controls["frequency"] == "330" && result.worker == "w" && result.format == "flac")
        #expect(first.completedSegments == 2 && first.totalSegments == 2 && first.attempts == 1)
    }

    @Test func badRequestsFailOnceWithTheEnginesMessage() async throws {
        let rig = try Rig()
        let job = try await rig.queue.submit([(SpeechParameters(text: "坏的 POISON。"), nil)])[0]
        let task = Task { await rig.worker(id: "w").run() }
        let done = try await rig.wait(for: [job.id])[0]
        task.cancel()
        await task.value
        #expect(done.state == .failed && done.attempts == 1 && done.error?.contains("poisoned") == true)
    }

    @Test func cancellingARunningJobStopsItBetweenSegments() async throws {
        let rig = try Rig(segmentDelay: 0.2)
        let job = try await rig.queue.submit([(SpeechParameters(text: String(repeating: "一句。", count: 30)), nil)])[0]
        let task = Task { await rig.worker(id: "w").run() }
        _ = try await rig.wait(for: [job.id]) { $0.state == .running && $0.completedSegments > 0 }
        _ = try await rig.queue.cancel(id: job.id)
        let done = try await rig.wait(for: [job.id])[0]
        task.cancel()
        await task.value
        #expect(done.state == .cancelled && done.completedSegments < 30 && done.outputPath == nil)
    }

    @Test func shutdownHandsUnfinishedJobsBackWithoutCountingTheAttempt() async throws {
        let rig = try Rig(segmentDelay: 0.2)
        let job = try await rig.queue.submit([(SpeechParameters(text: String(repeating: "一句。", count: 12)), nil)])[0]
        let task = Task { await rig.worker(id: "w", grace: 0.1).run() }
        _ = try await rig.wait(for: [job.id]) { $0.state == .running }
        task.cancel()
        await task.value
        let after = try await rig.queue.job(id: job.id)
        #expect(after.state == .queued && after.attempts == 0 && after.leaseOwner == nil)
        // Another worker picks it up and finishes it.
        let second = Task { await rig.worker(id: "w2").run() }
        let done = try await rig.wait(for: [job.id], timeout: 30)[0]
        second.cancel()
        await second.value
        #expect(done.state == .succeeded && done.result?.worker == "w2")
    }

    @Test func twoWorkersOnOneQueueFileRunEveryJobExactlyOnce() async throws {
        let rig = try Rig(segmentDelay: 0.01)
        let jobs = try await rig.queue.submit((1...12).map { (SpeechParameters(text: "第\($0)句。再见。"), nil) })
        // The second worker opens the file separately, as another process would.
        let otherQueue = try SQLiteJobQueue(path: rig.queue.path)
        let events = EventLog()
        let tasks = [("a", rig.queue as any JobQueue), ("b", otherQueue as any JobQueue)].map { id, queue in
            var c = JobWorkerConfiguration(outputDirectory: rig.root.appendingPathComponent("outputs"), workerID: id)
            c.pollInterval = 0.02
            let worker = JobWorker(queue: queue, engine: rig.engine, resolver: rig.resolver, pool: SynthesisPool(width: 1),
                                   configuration: c) { event in
                if case .succeeded(let job, _) = event { events.append(job.id) }
            }
            return Task { await worker.run() }
        }
        let done = try await rig.wait(for: jobs.map(\.id))
        tasks.forEach { $0.cancel() }
        for t in tasks { await t.value }
        #expect(done.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
        #expect(events.ids.sorted() == jobs.map(\.id).sorted())
        let outputs = try FileManager.default.contentsOfDirectory(atPath: rig.root.appendingPathComponent("outputs").path)
        #expect(outputs.filter { $0.hasSuffix(".wav") }.count == 12 && !outputs.contains { $0.hasSuffix(".partial") })
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ id: String) { lock.withLock { list.append(id) } }
    var ids: [String] { lock.withLock { list } }
}
