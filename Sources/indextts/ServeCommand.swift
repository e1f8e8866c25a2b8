import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSJobs
import IndexTTSServer
import IndexTTSTensor
import Logging

/// Options shared by `serve` and `batch`: where the data and the queue live.
struct QueueOptions: ParsableArguments {
    @Option(help: "Data folder: jobs.sqlite, outputs/, voices/, uploads/.") var data = "data"
    @Option(help: "Job queue: a SQLite file path, or postgres://user:password@host:port/db to share one queue between servers (default: <data>/jobs.sqlite).")
    var queue: String?
    @Option(help: "Syntheses at once (default: half the cores, at least 1).") var concurrency: Int?
    @Option(help: "Seconds a worker's claim on a job lasts without renewal; a crashed worker's jobs are retried after it.")
    var leaseSeconds = 30.0
    @Option(help: "Longest a job's synthesis may run, in seconds; over it the job stops and ends failed (default: $INDEXTTS_JOB_TIMEOUT, else 0 = no limit).")
    var jobTimeout: Double?

    var dataDirectory: URL { URL(fileURLWithPath: data, isDirectory: true).standardizedFileURL }

    /// `--job-timeout`, else `$INDEXTTS_JOB_TIMEOUT`; 0 means none.
    func jobTimeoutSeconds() throws -> Double? {
        try TimeoutOption.resolve(jobTimeout, environment: "INDEXTTS_JOB_TIMEOUT", option: "--job-timeout", default: nil)
    }
}

/// A time limit given by option or environment variable: seconds ≥ 0, 0 meaning no limit.
enum TimeoutOption {
    static func resolve(_ option: Double?, environment name: String, option flag: String, default fallback: Double?) throws -> Double? {
        var value = option
        if value == nil, let text = ProcessInfo.processInfo.environment[name], !text.isEmpty {
            guard let parsed = Double(text) else { throw ValidationError("$\(name) must be a number of seconds, got '\(text)'") }
            value = parsed
        }
        guard let value else { return fallback }
        guard value >= 0, value.isFinite else { throw ValidationError("\(flag) must be ≥ 0 seconds (0: no limit), got \(value)") }
        return value == 0 ? nil : value
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

/// `indextts serve`: the HTTP API and a job worker.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP server: OpenAI-compatible /v1/audio/speech, the native API, jobs and voices.",
        discussion: """
            Endpoints: POST /v1/audio/speech, GET /v1/models, POST /v1/tts, GET|POST /v1/text/preview, \
            POST|GET /v1/jobs, GET|DELETE /v1/jobs/{id}, GET /v1/jobs/{id}/audio, POST|GET /v1/voices, \
            GET|DELETE /v1/voices/{name}, GET /healthz, GET /metrics, GET /openapi.json.
            SIGINT/SIGTERM shut down gracefully: running jobs get --grace seconds, then return to the queue.
            The engine: --engine auto (default) speaks with IndexTTS2 when the model folder (--model-dir, \
            $INDEXTTS_MODEL_DIR, ./checkpoints, the folder start_app.sh recorded, ~/.cache/indextts/checkpoints) is \
            complete, else with the embedded default voice; the log, /healthz and /v1/models say which and why.
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one).") var port = 8000
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Require 'Authorization: Bearer <key>' (default: $INDEXTTS_API_KEY; none when unset).") var apiKey: String?
    @Option(help: "Jobs this server's worker runs at once (default: --concurrency).") var workers: Int?
    @Flag(help: "Serve the API only; leave queued jobs to other servers or `indextts batch` workers.") var noWorker = false
    @Option(help: "Largest request body in MiB (uploads included).") var maxBodyMb = 25
    @Option(help: "Longest text of the native endpoints and jobs, in characters (/v1/audio/speech keeps OpenAI's 4096).")
    var maxText = 20_000
    @Option(help: "Seconds running jobs get to finish on shutdown before they return to the queue.") var grace = 10.0
    @Option(help: "Longest a request's synthesis may run (/v1/audio/speech, /v1/tts), in seconds, counted from when it gets a synthesis slot; over it the engine stops and the client gets 422 request_timeout (default: $INDEXTTS_REQUEST_TIMEOUT, else 600; 0 = no limit).")
    var requestTimeout: Double?
    @Option(help: "Log format: text or json (one JSON object per line).") var logFormat: LogFormat = .text
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

    func run() async throws {

        AllocatorTuning.apply()
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown --log-level \(logLevel)") }
        LoggingBootstrap.bootstrap(format: logFormat, level: level)
        var logger = Logger(label: "indextts")
        logger.logLevel = level
        var configuration = ServerConfiguration(dataDirectory: queueOptions.dataDirectory)
        configuration.host = host
        configuration.port = port
        configuration.queue = queueOptions.queue
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["INDEXTTS_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let c = queueOptions.concurrency { configuration.concurrency = max(1, c) }
        configuration.workerConcurrency = workers
        configuration.runWorker = !noWorker
        configuration.maxBodyBytes = max(1, maxBodyMb) * 1024 * 1024
        configuration.maxTextCharacters = max(1, maxText)
        configuration.leaseSeconds = queueOptions.leaseSeconds
        configuration.shutdownGraceSeconds = grace
        configuration.requestTimeoutSeconds = try TimeoutOption.resolve(requestTimeout, environment: "INDEXTTS_REQUEST_TIMEOUT",
                                                                        option: "--request-timeout", default: 600)
        configuration.jobTimeoutSeconds = try queueOptions.jobTimeoutSeconds()

        let compute = ComputeEnvironment.current()
        logger.info("compute", metadata: [
            "cpu": "\(compute.cpu.brand)", "instruction_sets": "\(compute.cpu.instructionSets.nameList.joined(separator: " "))",
            "blas": "OpenBLAS \(compute.blasVersion) \(compute.blasCore) (\(compute.blasCoreOrigin))",
            "blas_threads": "\(compute.blasThreads)", "kernel_threads": "\(compute.kernelThreads)",
            "fp32_gemm_engine": "\(compute.float32GEMMEngine)"])
        if let better = compute.recommendedBLASCore {
            logger.warning("OpenBLAS runs generic kernels", metadata: [
                "core": "\(compute.blasCore)", "fix": "OPENBLAS_CORETYPE=\(better) (several times faster matrix products)"])
        }
        let loaded = try engineOptions.load()
        let engine = loaded.engine
        logger.info("engine", metadata: [
            "engine": "\(engine.info.id)", "name": "\(engine.info.name)", "why": "\(loaded.selection.reason)",
            "model_dir": "\(loaded.selection.modelDirectory)", "cache": "\(loaded.selection.cache)",
            "load_seconds": "\(String(format: "%.2f", loaded.loadSeconds))"])
        configuration.engineSelection = loaded.selection
        let queue = try await SpeechServer.openQueue(configuration.queue, dataDirectory: configuration.dataDirectory, logger: logger)
        let server = try SpeechServer(configuration: configuration, engine: engine, queue: queue, logger: logger)
        let announce = logger, host = configuration.host, runWorker = configuration.runWorker
        let auth = configuration.apiKey == nil ? "off" : "bearer"
        func limit(_ s: Double?) -> String { s.map { String(format: "%g s", $0) } ?? "none" }
        let limits = "request \(limit(configuration.requestTimeoutSeconds)), job \(limit(configuration.jobTimeoutSeconds))"
        try await server.run { port in
            announce.info("listening", metadata: ["url": "http://\(host):\(port)",
                                                  "worker": "\(runWorker ? server.workerID : "off")", "auth": "\(auth)",
                                                  "time_limits": "\(limits)"])
        }
    }
}

/// swift-log set-up for the CLI: human-readable lines, or JSON lines for log collectors.
enum LoggingBootstrap {
    static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// Writes each record as one JSON object per line on standard error: time, level, label, message, metadata.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    static let lock = NSLock()

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level, message = event.message, explicit = event.metadata
        var object: [String: Any] = [
            "time": ISO8601DateFormatter.string(from: Date(), timeZone: .gmt,
                                                formatOptions: [.withInternetDateTime, .withFractionalSeconds]),
            "level": level.rawValue, "label": label, "message": message.description,
        ]
        for (key, value) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }) { object[key] = "\(value)" }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        Self.lock.withLock { FileHandle.standardError.write(data + Data("\n".utf8)) }
    }
}
