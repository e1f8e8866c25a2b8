import Foundation
import IndexTTS

/// Where a job is in its life.
public enum JobState: String, Codable, Sendable, CaseIterable {
    /// Waiting for a worker (also a job whose worker lost its lease, until another claims it).
    case queued
    /// A worker holds its lease.
    case running
    case succeeded
    case failed
    case cancelled

    public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// One synthesis job as stored in the queue.
public struct JobRecord: Codable, Sendable, Equatable {
    public var id: String
    public var state: JobState
    public var parameters: SpeechParameters
    /// Client-chosen key that makes submission idempotent (batch files use file hash + line number).
    public var idempotencyKey: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// How many times a worker has claimed it.
    public var attempts: Int
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    public var completedSegments: Int
    public var totalSegments: Int
    public var audioSeconds: Double
    public var outputPath: String?
    public var result: JobResult?
    public var error: String?
    public var cancelRequested: Bool

    enum CodingKeys: String, CodingKey {
        case id, state, parameters
        case idempotencyKey = "idempotency_key"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case attempts
        case leaseOwner = "lease_owner"
        case leaseExpiresAt = "lease_expires_at"
        case completedSegments = "completed_segments"
        case totalSegments = "total_segments"
        case audioSeconds = "audio_seconds"
        case outputPath = "output_path"
        case result, error
        case cancelRequested = "cancel_requested"
    }
}

/// What a finished job produced, besides its audio file.
public struct JobResult: Codable, Sendable, Equatable {
    public var audioSeconds: Double
    public var sampleRate: Int
    public var format: String
    public var timings: [StageTiming]
    public var totalSeconds: Double
    public var timeToFirstAudio: Double
    public var realTimeFactor: Double
    public var segments: Int
    public var controls: [String: String]
    /// The worker that completed it.
    public var worker: String

    public init(_ r: SynthesisResult, format: String, worker: String) {
        audioSeconds = r.audioSeconds
        sampleRate = r.sampleRate
        self.format = format
        timings = r.timings
        totalSeconds = r.totalSeconds
        timeToFirstAudio = r.timeToFirstAudio
        realTimeFactor = r.realTimeFactor
        segments = r.segments
        controls = r.appliedControls
        self.worker = worker
    }

    enum CodingKeys: String, CodingKey {
        case audioSeconds = "audio_seconds"
        case sampleRate = "sample_rate"
        case format, timings
        case totalSeconds = "total_seconds"
        case timeToFirstAudio = "time_to_first_audio"
        case realTimeFactor = "rtf"
        case segments, controls, worker
    }
}

/// What a heartbeat learned about the job it renewed.
public enum LeaseStatus: Sendable, Equatable {
    /// The lease is renewed; keep going.
    case held
    /// A client asked to cancel; stop and call ``JobQueue/finishCancelled(id:worker:)``.
    case cancelRequested
    /// Another worker holds the job now (this one was presumed dead); stop without completing.
    case lost
}

/// Counts per state, for metrics and health.
public struct QueueCounts: Sendable, Equatable {
    public var counts: [JobState: Int]
    public subscript(state: JobState) -> Int { counts[state] ?? 0 }
}

/// Queue failures (storage, not request problems).
public enum JobQueueError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(String)
    case storage(String)
    case invalidURL(String)

    public var description: String {
        switch self {
        case .notFound(let id): return "no job with id '\(id)'"
        case .storage(let why): return "job queue: \(why)"
        case .invalidURL(let url): return "job queue: cannot use '\(url)' (give a path to a SQLite file or postgres://user:password@host:port/database)"
        }
    }
}
