import Foundation
import IndexTTS
import IndexTTSAudio
import Logging
import Synchronization

/// How a worker runs.
public struct JobWorkerConfiguration: Sendable {
    /// Jobs this worker runs at once.
    public var concurrency = 1
    /// A claimed job is retried elsewhere if the worker does not renew its lease within this time.
    public var leaseSeconds = 30.0
    /// Pause between polls of an empty queue.
    public var pollInterval = 0.5
    /// Where finished audio goes: `<outputs>/YYYYMMDD_HHMMSS_<id>.<ext>`.
    public var outputDirectory: URL
    /// Uploaded clips of finished jobs under this folder are deleted.
    public var uploadsDirectory: URL?
    /// On shutdown, running jobs get this long to finish before they are handed back to the queue.
    public var shutdownGraceSeconds = 10.0
    /// Longest a job's synthesis may run on its pool slot (`--job-timeout`); a job over it stops and ends `failed`
    /// with ``SynthesisError/timedOut(limitSeconds:)``, without a retry.
    public var timeLimit = SynthesisTimeLimit.none
    /// After an output could not be written for want of space (the job goes back to the queue, its attempt not
    /// counted), the loop waits this long before it claims again.
    public var diskFullPauseSeconds = 5.0
    public var workerID: String

    public init(outputDirectory: URL, workerID: String = JobWorkerConfiguration.makeWorkerID()) {
        self.outputDirectory = outputDirectory
        self.workerID = workerID
    }

    public static func makeWorkerID() -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}

/// What happened to a job, for metrics and logs.
public enum JobEvent: Sendable {
    case started(JobRecord)
    case succeeded(JobRecord, JobResult)
    case failed(JobRecord, String)
    case cancelled(JobRecord)
    case released(JobRecord)
}

/// Claims jobs from a ``JobQueue`` and synthesises them on a ``SynthesisPool``, renewing each lease while it works.
/// ``run()`` returns after its task is cancelled: it stops claiming, lets running jobs finish within the grace period,
/// and hands the rest back to the queue.
public final class JobWorker: Sendable {
    public let queue: any JobQueue
    public let engine: any SpeechEngine
    public let resolver: RequestResolver
    public let pool: SynthesisPool
    public let configuration: JobWorkerConfiguration
    let logger: Logger
    let onEvent: @Sendable (JobEvent) -> Void
    let aborting = AtomicFlag()

    public init(queue: any JobQueue, engine: any SpeechEngine, resolver: RequestResolver, pool: SynthesisPool,
                configuration: JobWorkerConfiguration, logger: Logger = Logger(label: "indextts.worker"),
                onEvent: @escaping @Sendable (JobEvent) -> Void = { _ in }) {
        self.queue = queue
        self.engine = engine
        self.resolver = resolver
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
        self.onEvent = onEvent
    }

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, configuration.concurrency) {
                group.addTask { await self.loop() }
            }
            await withTaskCancellationHandler {
                await group.waitForAll()
            } onCancel: {
                // Shutdown: loops stop claiming at once; running syntheses get the grace period, then stop and
                // their jobs go back to the queue.
                let grace = configuration.shutdownGraceSeconds, aborting = self.aborting
                Task.detached {
                    try? await Task.sleep(for: .seconds(grace))
                    aborting.set()
                }
            }
        }
    }

    func loop() async {
        while !Task.isCancelled {
            let job: JobRecord?
            do { job = try await queue.claim(worker: configuration.workerID, leaseSeconds: configuration.leaseSeconds) } catch {
                logger.error("claim failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(max(configuration.pollInterval, 1)))
                continue
            }
            guard let job else {
                try? await Task.sleep(for: .seconds(configuration.pollInterval))
                continue
            }
            // Shutdown must not abandon a claimed job mid-way: the job runs to its end or is released.
            if await Task(operation: { await self.execute(job) }).value == .storageFull {
                try? await Task.sleep(for: .seconds(configuration.diskFullPauseSeconds))
            }
        }
    }

    /// Per-job flags shared between the synthesis thread and the heartbeat task.
    final class JobControl: Sendable {
        let progress = Mutex<(done: Int, total: Int, seconds: Double)>((0, 0, 0))
        let cancelRequested = AtomicFlag()
        let lost = AtomicFlag()
    }

    /// How a job's execution ended, as far as the claiming loop cares.
    enum Outcome { case done, storageFull }

    @discardableResult
    func execute(_ job: JobRecord) async -> Outcome {
        let worker = configuration.workerID
        onEvent(.started(job))
        logger.info("job started", metadata: ["job": "\(job.id)", "attempt": "\(job.attempts)"])
        let control = JobControl()
        let aborting = self.aborting
        let heartbeat = Task {
            let interval = min(1.0, configuration.leaseSeconds / 3)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                let p = control.progress.withLock { $0 }
                do {
                    switch try await queue.heartbeat(id: job.id, worker: worker, leaseSeconds: configuration.leaseSeconds,
                                                     completedSegments: p.done, totalSegments: p.total, audioSeconds: p.seconds) {
                    case .held: break
                    case .cancelRequested: control.cancelRequested.set()
                    case .lost: control.lost.set()
                    }
                } catch {
                    logger.warning("heartbeat failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
                }
            }
        }
        defer { heartbeat.cancel() }
        let format = job.parameters.format ?? .wav
        do {
            let engine = self.engine, resolver = self.resolver, parameters = job.parameters
            let timeLimit = configuration.timeLimit
            // Clip decoding, synthesis and encoding are blocking work: all of it runs on the pool's threads.
            let (result, bytes) = try await pool.run {
                let deadline = timeLimit.start {
                    control.cancelRequested.isSet || control.lost.isSet || aborting.isSet
                }
                let request = try resolver.prepare(parameters, engine: engine, isCancelled: deadline.isCancelled)
                let result = try deadline.run {
                    try engine.synthesize(request) { p in
                        control.progress.withLock { $0 = (p.completedSegments, p.totalSegments, p.audioSeconds) }
                    }
                }
                return (result, try AudioEncoder.encode(result.samples, sampleRate: result.sampleRate, format: format))
            }
            let path = try write(bytes, for: job, format: format)
            let summary = JobResult(result, format: format.rawValue, worker: worker)
            heartbeat.cancel()
            if try await queue.complete(id: job.id, worker: worker, outputPath: path, result: summary) {
                logger.info("job succeeded", metadata: ["job": "\(job.id)", "rtf": "\(String(format: "%.3f", summary.realTimeFactor))"])
                onEvent(.succeeded(job, summary))
                cleanUploads(job)
            } else {
                // Another worker took the job over; it writes the same file name with the same request's audio.
                logger.warning("job completed elsewhere; result discarded", metadata: ["job": "\(job.id)"])
            }
        } catch SynthesisError.cancelled {
            heartbeat.cancel()
            if control.lost.isSet {
                logger.warning("lease lost; stopped", metadata: ["job": "\(job.id)"])
            } else if control.cancelRequested.isSet {
                try? await queue.finishCancelled(id: job.id, worker: worker)
                onEvent(.cancelled(job))
                cleanUploads(job)
            } else {
                try? await queue.release(id: job.id, worker: worker)
                logger.info("job handed back to the queue (shutdown)", metadata: ["job": "\(job.id)"])
                onEvent(.released(job))
            }
        } catch let full as OutputStorageFull {
            // A full disk is the server's trouble, not the job's: hand the job back without spending an attempt,
            // and let this loop pause before it claims again (``diskFullPauseSeconds``).
            heartbeat.cancel()
            try? await queue.release(id: job.id, worker: worker)
            logger.error("no space left for the output; job handed back to the queue",
                         metadata: ["job": "\(job.id)", "path": "\(full.path)"])
            onEvent(.released(job))
            return .storageFull
        } catch {
            heartbeat.cancel()
            // Request problems fail at once; anything else (storage, codec) is retried while attempts remain.
            let permanent = error is SynthesisError || error is VoiceLibraryError
            let message = "\(error)"
            try? await queue.fail(id: job.id, worker: worker, error: message, retry: !permanent)
            logger.error("job failed", metadata: ["job": "\(job.id)", "error": "\(message)", "retry": "\(!permanent)"])
            onEvent(.failed(job, message))
            if permanent { cleanUploads(job) }
        }
        return .done
    }

    /// Writes atomically: a temporary file renamed onto the final name. A failed write (a full disk) leaves neither
    /// the final file nor the temporary one behind.
    func write(_ bytes: [UInt8], for job: JobRecord, format: AudioFormat) throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(at: configuration.outputDirectory, withIntermediateDirectories: true)
        let final = configuration.outputDirectory.appendingPathComponent(OutputNaming.fileName(id: job.id, createdAt: job.createdAt, format: format))
        do { try StorageFiles.writeAtomically(bytes, to: final) } catch {
            if StorageFiles.isOutOfSpace(error) { throw OutputStorageFull(path: final.path) }
            throw JobQueueError.storage("cannot write the output \(final.path): \(error)")
        }
        return final.path
    }

    func cleanUploads(_ job: JobRecord) {
        guard let uploads = configuration.uploadsDirectory?.standardizedFileURL.path else { return }
        for path in [job.parameters.referenceAudioPath, job.parameters.emotionAudioPath].compactMap({ $0 })
        where URL(fileURLWithPath: path).standardizedFileURL.path.hasPrefix(uploads + "/") {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// The disk had no room for a job's output.
struct OutputStorageFull: Error, CustomStringConvertible {
    let path: String
    var description: String { "no space left on the device for \(path)" }
}

/// Output names as IndexTTS users know them.
public enum OutputNaming {
    /// `YYYYMMDD_HHMMSS_<id>.<ext>`, local time of submission.
    public static func fileName(id: String, createdAt: Date, format: AudioFormat) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return "\(formatter.string(from: createdAt))_\(id).\(format.fileExtension)"
    }
}
