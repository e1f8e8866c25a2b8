import Foundation
import HTTPTypes
import Hummingbird
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP server: OpenAI-compatible speech, the native API, jobs, voices and operations endpoints over any
/// ``SpeechEngine``. Engine and queue are shared and immutable; per-request state lives in handlers. Syntheses run
/// on a bounded ``SynthesisPool`` so the event loops never wait on a model.
public final class SpeechServer: Sendable {
    public let configuration: ServerConfiguration
    public let engine: any SpeechEngine
    public let queue: any JobQueue
    public let library: VoiceLibrary
    public let resolver: RequestResolver
    public let pool: SynthesisPool
    let metrics = ServerMetrics()
    let logger: Logger
    public let workerID: String

    public init(configuration: ServerConfiguration, engine: any SpeechEngine, queue: any JobQueue,
                logger: Logger = Logger(label: "indextts.server")) throws {
        self.configuration = configuration
        self.engine = engine
        self.queue = queue
        self.logger = logger
        let fm = FileManager.default
        for dir in [configuration.dataDirectory, configuration.outputsDirectory, configuration.voicesDirectory,
                    configuration.uploadsDirectory, configuration.directUploadsDirectory] {
            do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw JobQueueError.storage("cannot create \(dir.path): \(error)")
            }
        }
        // Temporary files of writers killed mid-write (SIGKILL, power loss) never got their final names; remove them.
        // Direct requests' clips whose process died (nobody holds their lock) serve nobody any more.
        let abandoned = [configuration.outputsDirectory, configuration.uploadsDirectory]
            .flatMap { StorageFiles.removeAbandonedTemporaries(in: $0) }
            + StorageFiles.removeUnheldFiles(in: configuration.directUploadsDirectory).map { "direct/\($0)" }
        let library = VoiceLibrary(root: configuration.voicesDirectory, reserved: RequestResolver.reservedNames(for: engine.info))
        self.library = library
        let staging = library.removeAbandonedStaging()
        if !abandoned.isEmpty || !staging.isEmpty {
            logger.notice("removed files an earlier process left behind (half-written, or clips of direct requests it never finished)",
                          metadata: ["files": "\((abandoned + staging).joined(separator: ", "))"])
        }
        resolver = RequestResolver(library: library, engine: engine)
        pool = SynthesisPool(width: configuration.concurrency)
        workerID = JobWorkerConfiguration.makeWorkerID()
    }

    /// Opens the queue a `--queue` value names: nil → `<data>/jobs.sqlite`; `postgres://…` → PostgreSQL; else a
    /// SQLite file path.
    public static func openQueue(_ spec: String?, dataDirectory: URL, logger: Logger) async throws -> any JobQueue {
        guard let spec, !spec.isEmpty else {
            return try SQLiteJobQueue(path: dataDirectory.appendingPathComponent("jobs.sqlite").path)
        }
        if spec.hasPrefix("postgres://") || spec.hasPrefix("postgresql://") {
            return try await PostgresJobQueue.connect(url: spec, logger: logger)
        }
        if spec.contains("://") { throw JobQueueError.invalidURL(spec) }
        return try SQLiteJobQueue(path: spec)
    }

    public func makeWorker() -> JobWorker {
        var c = JobWorkerConfiguration(outputDirectory: configuration.outputsDirectory, workerID: workerID)
        c.concurrency = configuration.workerConcurrency ?? configuration.concurrency
        c.leaseSeconds = configuration.leaseSeconds
        c.shutdownGraceSeconds = configuration.shutdownGraceSeconds
        c.uploadsDirectory = configuration.uploadsDirectory
        c.timeLimit = SynthesisTimeLimit(seconds: configuration.jobTimeoutSeconds)
        let metrics = self.metrics
        return JobWorker(queue: queue, engine: engine, resolver: resolver, pool: pool, configuration: c,
                         logger: logger) { event in
            switch event {
            case .succeeded(_, let r): metrics.synthesis(source: "job", outcome: "succeeded", seconds: r.totalSeconds, audio: r.audioSeconds)
            case .failed: metrics.synthesis(source: "job", outcome: "failed")
            case .cancelled: metrics.synthesis(source: "job", outcome: "cancelled")
            case .started, .released: break
            }
        }
    }

    public func makeRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: APIErrorMiddleware())
        router.add(middleware: LogRequestsMiddleware(.info))
        if let key = configuration.apiKey { router.add(middleware: BearerAuthMiddleware(key: key)) }
        addWebUIRoutes(router)
        addOperationRoutes(router)
        addSpeechRoutes(router)
        addNativeRoutes(router)
        addJobRoutes(router)
        addVoiceRoutes(router)
        return router
    }

    /// The application, with the job worker as a service when ``ServerConfiguration/runWorker`` is on. Its
    /// `runService()` handles SIGINT/SIGTERM: the listener closes, in-flight requests finish, running jobs get the
    /// grace period and the rest return to the queue.
    public func makeApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        var services: [any Service] = []
        if configuration.runWorker { services.append(WorkerService(worker: makeWorker())) }
        return Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "indextts"),
            services: services, onServerRunning: onServerRunning, logger: logger)
    }

    /// Runs until SIGINT/SIGTERM, then shuts down gracefully. `onListening` receives the bound port (useful with
    /// port 0).
    public func run(onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) async throws {
        let port = configuration.port
        try await makeApplication { channel in await onListening(channel.localAddress?.port ?? port) }.runService()
    }

    // MARK: helpers shared by the route groups

    func collectBody(_ request: Request) async throws -> ByteBuffer {
        try await request.body.collect(upTo: configuration.maxBodyBytes)
    }

    /// Saves an uploaded clip (checked to decode first) and returns its path: under `uploads/` for jobs, which read
    /// it later; under `uploads/direct/` for a direct request, with the lock that marks it as in use.
    func saveUpload(_ file: RequestParsing.Upload, field: String, direct: Bool) throws -> (path: String, hold: HeldFile?) {
        do { _ = try AudioDecoder.decode(bytes: file.bytes, name: file.fileName, requireSound: true) } catch {
            throw APIError(.badRequest, "\(field): cannot use '\(file.fileName)': \(error)", param: field, code: "invalid_audio")
        }
        let ext = (file.fileName as NSString).pathExtension.lowercased()
        let safeExt = AudioDecoder.supportedExtensions.contains(ext) ? ext : "bin"
        let folder = direct ? configuration.directUploadsDirectory : configuration.uploadsDirectory
        let url = folder.appendingPathComponent("\(UUID().uuidString.lowercased()).\(safeExt)")
        // Whole or not at all: a full disk leaves no truncated clip behind for a job to read.
        var hold: HeldFile?
        do {
            if direct { hold = try StorageFiles.writeAtomicallyHoldingLock(file.bytes, to: url) } else {
                try StorageFiles.writeAtomically(file.bytes, to: url)
            }
        } catch {
            if StorageFiles.isOutOfSpace(error) {
                throw APIError.insufficientStorage("\(field): no space left on the device to store the upload; nothing was kept")
            }
            throw APIError(.internalServerError, "cannot store the upload: \(error)")
        }
        return (url.path, hold)
    }

    /// Runs one synthesis on the pool, recording metrics. With `parameters` (the request's source), a library voice
    /// without a stored conditioning for this engine is analysed first and the analysis stored
    /// (``RequestResolver/attachConditioning(to:parameters:engine:)``), as the job worker does.
    func synthesize(_ request: SynthesisRequest, source: String, parameters: SpeechParameters? = nil,
                    progress: @escaping @Sendable (SynthesisProgress) -> Void = { _ in }) async throws -> SynthesisResult {
        let engine = self.engine, resolver = self.resolver
        let timeLimit = SynthesisTimeLimit(seconds: configuration.requestTimeoutSeconds)
        do {
            let result = try await pool.run {
                var request = request
                // The clock starts on the slot: voice analysis and synthesis count, waiting for a slot does not.
                let deadline = timeLimit.arm(&request)
                if let parameters { resolver.attachConditioning(to: &request, parameters: parameters, engine: engine) }
                return try deadline.run { try engine.synthesize(request, progress: progress) }
            }
            metrics.synthesis(source: source, outcome: "succeeded", seconds: result.totalSeconds, audio: result.audioSeconds)
            return result
        } catch SynthesisError.timedOut(let limit) {
            metrics.synthesis(source: source, outcome: "timed_out")
            logger.warning("synthesis stopped at the time limit", metadata: ["source": "\(source)", "limit_seconds": "\(limit)"])
            throw SynthesisError.timedOut(limitSeconds: limit)
        } catch SynthesisError.cancelled {
            metrics.synthesis(source: source, outcome: "cancelled")  // the client went away
            throw SynthesisError.cancelled
        } catch {
            metrics.synthesis(source: source, outcome: "failed")
            throw error
        }
    }

    static func timingHeaders(_ r: SynthesisResult, into headers: inout HTTPFields) {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        headers[HTTPField.Name("X-IndexTTS-Audio-Seconds")!] = f(r.audioSeconds)
        headers[HTTPField.Name("X-IndexTTS-Total-Seconds")!] = f(r.totalSeconds)
        headers[HTTPField.Name("X-IndexTTS-Time-To-First-Audio")!] = f(r.timeToFirstAudio)
        headers[HTTPField.Name("X-IndexTTS-RTF")!] = f(r.realTimeFactor)
        headers[HTTPField.Name("X-IndexTTS-Segments")!] = String(r.segments)
        headers[HTTPField.Name("X-IndexTTS-Timings")!] = r.timings.map { "\($0.stage)=\(f($0.seconds))" }.joined(separator: ", ")
        headers[HTTPField.Name("X-IndexTTS-Controls")!] = controlsHeader(r.appliedControls)
    }

    static func controlsHeader(_ controls: [String: String]) -> String {
        controls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .secondsSince1970
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// Runs the job worker inside the application's service group; graceful shutdown cancels it, which makes it stop
/// claiming and hand unfinished jobs back.
struct WorkerService: Service {
    let worker: JobWorker
    func run() async throws {
        await cancelWhenGracefulShutdown { await worker.run() }
    }
}

/// Counts requests per route template and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        metrics.request(method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                        status: Int(response.status.code), seconds: seconds)
        return response
    }
}

/// Requires `Authorization: Bearer <key>` (constant-time comparison) on everything but `/healthz` and the WebUI's
/// static files.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The health check and the WebUI's static files are public (the page asks for the key itself).
        let path = request.uri.path
        if path == "/healthz" || path == "/" || path.hasPrefix("/ui/") { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError(.unauthorized, "missing API key: send 'Authorization: Bearer <key>'", code: "invalid_api_key")
        }
        let given = Array(header.dropFirst(7).utf8), expected = Array(key.utf8)
        var difference = given.count ^ expected.count
        for i in 0..<expected.count { difference |= Int(expected[i] ^ (i < given.count ? given[i] : 0)) }
        guard difference == 0 else { throw APIError(.unauthorized, "incorrect API key", code: "invalid_api_key") }
        return try await next(request, context)
    }
}
