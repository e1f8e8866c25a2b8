import Foundation
import IndexTTS
import IndexTTSJobs
import Logging
import Testing

/// Which queue a test runs on: a fresh SQLite file always; PostgreSQL when `INDEXTTS_TEST_POSTGRES_URL` names a
/// database (scripts/test.sh starts one and sets it).
enum QueueKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["INDEXTTS_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var available: [QueueKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    func make(maxAttempts: Int = 3) async throws -> any JobQueue {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("queue-\(UUID().uuidString)")
            return try SQLiteJobQueue(path: dir.appendingPathComponent("jobs.sqlite").path, maxAttempts: maxAttempts)
        case .postgres:
            let queue = try await PostgresJobQueue.connect(url: Self.postgresURL!, maxAttempts: maxAttempts,
                                                           logger: Logger(label: "test"))
            try await queue.removeAll()
            return queue
        }
    }
}

func parameters(_ text: String) -> (parameters: SpeechParameters, idempotencyKey: String?) {
    (SpeechParameters(text: text, format: .wav), nil)
}

/// The queue contract both implementations keep: FIFO claims under leases, completion only by the lease holder,
/// expiry and retry, cancellation, idempotent submission. Serialized: the PostgreSQL runs share one table.
@Suite(.serialized)
struct JobQueueTests {
    @Test(arguments: QueueKind.available)
    func claimsInOrderAndCompletesOnlyForTheLeaseHolder(kind: QueueKind) async throws {
        let queue = try await kind.make()
        let submitted = try await queue.submit([parameters("一。"), parameters("二。")])
        #expect(submitted.map(\.state) == [.queued, .queued])
        let first = try #require(try await queue.claim(worker: "w1", leaseSeconds: 30))
        #expect(first.id == submitted[0].id && first.state == .running && first.attempts == 1 && first.leaseOwner == "w1")
        let second = try #require(try await queue.claim(worker: "w2", leaseSeconds: 30))
        #expect(second.id == submitted[1].id)
        #expect(try await queue.claim(worker: "w3", leaseSeconds: 30) == nil)

        let result = JobResult(ToneResult.make(), format: "wav", worker: "w1")
        #expect(try await queue.complete(id: first.id, worker: "w2", outputPath: "/x.wav", result: result) == false)
        #expect(try await queue.complete(id: first.id, worker: "w1", outputPath: "/x.wav", result: result))
        #expect(try await queue.complete(id: first.id, worker: "w1", outputPath: "/x.wav", result: result) == false)
        let done = try await queue.job(id: first.id)
        #expect(done.state == .succeeded && done.outputPath == "/x.wav" && done.result == result && done.finishedAt != nil)
        #expect(done.completedSegments == result.segments && done.totalSegments == result.segments)
        let counts = try await queue.counts()
        #expect(counts[.succeeded] == 1 && counts[.running] == 1 && counts[.queued] == 0)
    }

    @Test(arguments: QueueKind.available)
    func idempotencyKeysReturnTheExistingJob(kind: QueueKind) async throws {
        let queue = try await kind.make()
        let a = try await queue.submit([(SpeechParameters(text: "一。"), "key-1")])
        let b = try await queue.submit([(SpeechParameters(text: "一。"), "key-1"), (SpeechParameters(text: "二。"), "key-2")])
        #expect(a[0].id == b[0].id && b[1].id != a[0].id)
        #expect(try await queue.job(idempotencyKey: "key-2")?.id == b[1].id)
        #expect(try await queue.job(idempotencyKey: "nope") == nil)
        #expect(try await queue.list(state: nil, limit: 10, offset: 0).total == 2)
    }

    @Test(arguments: QueueKind.available)
    func anExpiredLeaseHandsTheJobToAnotherWorkerAndTheOldOneCannotComplete(kind: QueueKind) async throws {
        let queue = try await kind.make()
        let job = try await queue.submit([parameters("一。")])[0]
        _ = try #require(try await queue.claim(worker: "dead", leaseSeconds: 0.3))
        #expect(try await queue.claim(worker: "alive", leaseSeconds: 30) == nil)
        try await Task.sleep(for: .milliseconds(500))
        // Shown as waiting again once the lease has run out.
        #expect(try await queue.job(id: job.id).state == .queued)
        let retried = try #require(try await queue.claim(worker: "alive", leaseSeconds: 30))
        #expect(retried.id == job.id && retried.attempts == 2 && retried.leaseOwner == "alive")
        #expect(try await queue.heartbeat(id: job.id, worker: "dead", leaseSeconds: 30, completedSegments: 1,
                                          totalSegments: 1, audioSeconds: 1) == .lost)
        let result = JobResult(ToneResult.make(), format: "wav", worker: "x")
        #expect(try await queue.complete(id: job.id, worker: "dead", outputPath: "/a", result: result) == false)
        #expect(try await queue.heartbeat(id: job.id, worker: "alive", leaseSeconds: 30, completedSegments: 1,
                                          totalSegments: 2, audioSeconds: 0.5) == .held)
        let running = try await queue.job(id: job.id)
        #expect(running.completedSegments == 1 && running.totalSegments == 2 && running.audioSeconds == 0.5)
        #expect(try await queue.complete(id: job.id, worker: "alive", outputPath: "/b", result: result))
        #expect(try await queue.job(id: job.id).outputPath == "/b")
    }

    @Test(arguments: QueueKind.available)
    func aJobWhoseWorkersKeepDyingFailsAfterMaxAttempts(kind: QueueKind) async throws {
        let queue = try await kind.make(maxAttempts: 2)
        let job = try await queue.submit([parameters("一。")])[0]
        for attempt in 1...2 {
            let claimed = try #require(try await queue.claim(worker: "w\(attempt)", leaseSeconds: 0.2))
            #expect(claimed.attempts == attempt)
            try await Task.sleep(for: .milliseconds(350))
        }
        #expect(try await queue.claim(worker: "w3", leaseSeconds: 30) == nil)
        let failed = try await queue.job(id: job.id)
        #expect(failed.state == .failed && failed.error?.contains("abandoned") == true && failed.attempts == 2)
    }

    @Test(arguments: QueueKind.available)
    func cancellationStopsQueuedJobsAtOnceAndRunningJobsAtTheirNextHeartbeat(kind: QueueKind) async throws {
        let queue = try await kind.make()
        let jobs = try await queue.submit([parameters("一。"), parameters("二。")])
        let running = try #require(try await queue.claim(worker: "w", leaseSeconds: 30))
        #expect(running.id == jobs[0].id)
        #expect(try await queue.cancel(id: jobs[1].id).state == .cancelled)
        let flagged = try await queue.cancel(id: jobs[0].id)
        #expect(flagged.state == .running && flagged.cancelRequested)
        #expect(try await queue.heartbeat(id: jobs[0].id, worker: "w", leaseSeconds: 30, completedSegments: 0,
                                          totalSegments: 1, audioSeconds: 0) == .cancelRequested)
        try await queue.finishCancelled(id: jobs[0].id, worker: "w")
        #expect(try await queue.job(id: jobs[0].id).state == .cancelled)
        #expect(try await queue.claim(worker: "w", leaseSeconds: 30) == nil)
        await #expect(throws: JobQueueError.notFound("job_missing")) { try await queue.cancel(id: "job_missing") }
        await #expect(throws: JobQueueError.notFound("job_missing")) { try await queue.job(id: "job_missing") }
    }

    @Test(arguments: QueueKind.available)
    func failuresRetryWhileAttemptsRemainAndReleaseDoesNotCountAnAttempt(kind: QueueKind) async throws {
        let queue = try await kind.make(maxAttempts: 2)
        let job = try await queue.submit([parameters("一。")])[0]
        _ = try await queue.claim(worker: "w", leaseSeconds: 30)
        try await queue.release(id: job.id, worker: "w")
        var again = try await queue.job(id: job.id)
        #expect(again.state == .queued && again.attempts == 0)
        _ = try await queue.claim(worker: "w", leaseSeconds: 30)
        try await queue.fail(id: job.id, worker: "w", error: "disk full", retry: true)
        again = try await queue.job(id: job.id)
        #expect(again.state == .queued && again.error == "disk full" && again.attempts == 1)
        _ = try await queue.claim(worker: "w", leaseSeconds: 30)
        try await queue.fail(id: job.id, worker: "w", error: "disk full again", retry: true)
        again = try await queue.job(id: job.id)
        #expect(again.state == .failed && again.error == "disk full again" && again.attempts == 2)
    }

    @Test(arguments: QueueKind.available)
    func listingIsNewestFirstAndPaged(kind: QueueKind) async throws {
        let queue = try await kind.make()
        let jobs = try await queue.submit((1...5).map { parameters("第\($0)句。") })
        _ = try await queue.claim(worker: "w", leaseSeconds: 30)
        let page = try await queue.list(state: nil, limit: 2, offset: 1)
        #expect(page.total == 5 && page.jobs.map(\.id) == [jobs[3].id, jobs[2].id])
        let queued = try await queue.list(state: .queued, limit: 10, offset: 0)
        #expect(queued.total == 4 && !queued.jobs.contains { $0.id == jobs[0].id })
        #expect(try await queue.job(id: jobs[4].id).parameters == SpeechParameters(text: "第5句。", format: .wav))
    }
}

/// A small synthesis result for queue tests.
enum ToneResult {
    static func make() -> SynthesisResult {
        SynthesisResult(samples: [0, 0.5, -0.5], sampleRate: 24_000, timings: [.init(stage: "tones", seconds: 0.01)],
                        segments: 2, timeToFirstAudio: 0.005, totalSeconds: 0.01, appliedControls: ["k": "v"])
    }
}
