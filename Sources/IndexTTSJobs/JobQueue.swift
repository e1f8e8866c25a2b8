import Foundation

/// A persistent synthesis queue shared by the HTTP side (which submits and reads) and workers (which claim jobs
/// under a lease, renew it while they work, and complete them). Guarantees:
/// - a job is claimed by one worker at a time; a worker that stops renewing (crashed, killed) loses the job when its
///   lease expires and another worker retries it, up to ``maxAttempts`` claims;
/// - completion is conditional on holding the lease, so a job reaches `succeeded` exactly once even when a worker
///   presumed dead comes back;
/// - submissions with an idempotency key that exists return the existing job instead of a new one.
public protocol JobQueue: Sendable {
    /// A job whose lease expired this many times is failed instead of retried again.
    var maxAttempts: Int { get }

    /// Adds jobs in one transaction; returns them in order (existing ones for known idempotency keys).
    func submit(_ jobs: [(parameters: SpeechParameters, idempotencyKey: String?)]) async throws -> [JobRecord]
    func job(id: String) async throws -> JobRecord
    func job(idempotencyKey: String) async throws -> JobRecord?
    /// Newest first; `state` filters.
    func list(state: JobState?, limit: Int, offset: Int) async throws -> (jobs: [JobRecord], total: Int)
    /// Queued jobs are cancelled at once; running ones are flagged and the worker stops at its next heartbeat.
    func cancel(id: String) async throws -> JobRecord
    func counts() async throws -> QueueCounts

    /// Takes the oldest queued job (or one whose lease expired) for `worker`.
    func claim(worker: String, leaseSeconds: Double) async throws -> JobRecord?
    /// Renews the lease and records progress.
    func heartbeat(id: String, worker: String, leaseSeconds: Double, completedSegments: Int, totalSegments: Int,
                   audioSeconds: Double) async throws -> LeaseStatus
    /// Marks the job succeeded if `worker` still holds it; false when it does not (the result is discarded).
    func complete(id: String, worker: String, outputPath: String, result: JobResult) async throws -> Bool
    /// Marks the job failed (`retry` false) or puts it back in the queue (`retry` true, while attempts remain).
    func fail(id: String, worker: String, error: String, retry: Bool) async throws
    /// The worker stopped on a cancellation request.
    func finishCancelled(id: String, worker: String) async throws
    /// Gives the job back to the queue without counting the attempt against it (graceful shutdown).
    func release(id: String, worker: String) async throws
}
