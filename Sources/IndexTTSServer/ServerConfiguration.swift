import Foundation
import IndexTTS

/// How `indextts serve` runs. Defaults suit one machine; every field has a CLI flag.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    /// Holds `jobs.sqlite`, `outputs/`, `voices/` and `uploads/`.
    public var dataDirectory: URL
    /// `nil`: SQLite in the data folder; a `postgres://` URL: a PostgreSQL queue shared by several servers; another
    /// string: the path of a SQLite file.
    public var queue: String?
    /// When set, every endpoint but `/healthz` requires `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// Largest request body (uploads included).
    public var maxBodyBytes = 25 * 1024 * 1024
    /// Longest text of `/v1/audio/speech` (OpenAI's limit) and of the native endpoints and jobs.
    public var maxSpeechCharacters = 4096
    public var maxTextCharacters = 20_000
    /// Syntheses run at once (direct requests and jobs share them).
    public var concurrency = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    /// Whether this server also runs queued jobs (off for API-only nodes in front of separate workers).
    public var runWorker = true
    /// Jobs the worker runs at once.
    public var workerConcurrency: Int?
    public var leaseSeconds = 30.0
    public var shutdownGraceSeconds = 10.0
    /// Longest a direct request's synthesis (`/v1/audio/speech`, `/v1/tts`, streamed or not) may run once it has its
    /// pool slot; over it the engine is stopped and the client gets 422 `request_timeout`. nil or 0: no limit.
    public var requestTimeoutSeconds: Double? = 600
    /// The same for a queued job's synthesis; over it the job ends `failed` (no retry). nil or 0: no limit (the
    /// default: jobs are the path for long texts, and `DELETE /v1/jobs/{id}` stops one).
    public var jobTimeoutSeconds: Double?
    /// Most jobs one `POST /v1/jobs` may create.
    public var maxJobsPerRequest = 100
    /// Which engine speaks and why (``EngineFactory``), shown by `/healthz`, `/v1/models` and the WebUI; nil when the
    /// engine was given directly (tests).
    public var engineSelection: EngineSelection?

    public init(dataDirectory: URL) {
        self.dataDirectory = dataDirectory
    }

    public var outputsDirectory: URL { dataDirectory.appendingPathComponent("outputs", isDirectory: true) }
    public var voicesDirectory: URL { dataDirectory.appendingPathComponent("voices", isDirectory: true) }
    public var uploadsDirectory: URL { dataDirectory.appendingPathComponent("uploads", isDirectory: true) }
    /// Clips of direct requests (`/v1/tts`), locked while their request lives.
    public var directUploadsDirectory: URL { uploadsDirectory.appendingPathComponent("direct", isDirectory: true) }
}
