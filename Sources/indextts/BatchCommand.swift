import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSText
import Logging

/// `indextts batch FILE.jsonl`: queue every line, run them, report the failures; run it again to resume.
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Synthesise every line of a JSONL file through the persistent job queue (resumable).",
        discussion: """
            Each line is a JSON object with IndexTTS2's field names: text (required), spk_audio_prompt, output_path, \
            emo_audio_prompt, emo_alpha, emo_vector, use_emo_text + emo_text, use_random, and the generation settings \
            do_sample, top_p, top_k, temperature, num_beams, repetition_penalty, length_penalty, max_mel_tokens, \
            diffusion_steps, inference_cfg_rate, max_text_tokens_per_segment, interval_silence; and ours: voice, \
            emotion, speed, seed, format. Relative paths are read from the JSONL file's folder. Lines are queued with keys derived from the \
            file, so running the same command again after an interruption skips finished lines and resumes the rest. \
            Bad lines are reported and skipped; the exit status is 1 when any line failed.
            Without output_path a line's audio stays in <data>/outputs/YYYYMMDD_HHMMSS_<id>.<ext>.
            """)

    @Argument(help: "The JSONL file.") var file: String
    @OptionGroup var queueOptions: QueueOptions
    @OptionGroup var engineOptions: EngineOptions
    @Flag(help: "Only queue the lines (servers sharing the queue run them) and exit.") var noWorker = false
    @Option(help: "Default output format for lines without one.") var format = "wav"

    struct Failure: Error { let line: Int; let message: String }

    func run() async throws {

        AllocatorTuning.apply()
        guard let defaultFormat = AudioFormat(fileExtension: format) else {
            throw ValidationError("--format must be wav, mp3, opus, aac, flac or pcm")
        }
        let url = URL(fileURLWithPath: file).standardizedFileURL
        guard let data = FileManager.default.contents(atPath: url.path) else { throw ValidationError("cannot read \(file)") }
        let base = url.deletingLastPathComponent()
        let batchKey = "batch-" + Self.fingerprint(url.path, data)
        var logger = Logger(label: "indextts.batch")
        logger.logLevel = .warning

        let loaded = try engineOptions.load()
        let engine = loaded.engine
        FileHandle.standardError.write(Data("engine: \(loaded.selection.reason)\n".utf8))
        let dataDirectory = queueOptions.dataDirectory
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let queue: any JobQueue
        if let spec = queueOptions.queue, spec.hasPrefix("postgres://") || spec.hasPrefix("postgresql://") {
            queue = try await PostgresJobQueue.connect(url: spec, logger: logger)
        } else {
            queue = try SQLiteJobQueue(path: queueOptions.queue ?? dataDirectory.appendingPathComponent("jobs.sqlite").path)
        }
        let library = VoiceLibrary(root: dataDirectory.appendingPathComponent("voices"),
                                   reserved: RequestResolver.reservedNames(for: engine.info))
        let resolver = RequestResolver(library: library, engine: engine)

        // Parse and check every line; keep going past bad ones.
        var failures: [Failure] = []
        var submissions: [(line: Int, parameters: SpeechParameters, key: String, output: String?)] = []
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty || text.hasPrefix("#") { continue }
            do {
                let (p, output): (SpeechParameters, String?)
                do { (p, output) = try BatchLine.read(text, base: base, defaultFormat: defaultFormat) } catch let e as BatchLineError {
                    throw Failure(line: number, message: e.message)
                }
                do {
                    try engine.validate(try resolver.resolve(p))
                } catch {
                    throw Failure(line: number, message: "\(error)")
                }
                submissions.append((number, p, "\(batchKey):\(number)", output))
            } catch let f as Failure {
                failures.append(f)
            }
        }
        let jobs = try await queue.submit(submissions.map { (parameters: $0.parameters, idempotencyKey: $0.key) })
        let resumed = jobs.filter { $0.state != .queued || $0.attempts > 0 }.count
        FileHandle.standardError.write(Data(("\(url.lastPathComponent): \(submissions.count) lines queued"
            + (resumed > 0 ? " (\(resumed) from an earlier run)" : "") + ", \(failures.count) rejected\n").utf8))
        for f in failures { FileHandle.standardError.write(Data("  line \(f.line): \(f.message)\n".utf8)) }
        if noWorker || jobs.isEmpty { if !failures.isEmpty { throw ExitCode(1) }; return }

        // Work through the queue until this batch's jobs are final, with a progress bar; Ctrl-C hands the running
        // jobs back so that the next run resumes them.
        var workerConfiguration = JobWorkerConfiguration(outputDirectory: dataDirectory.appendingPathComponent("outputs"))
        workerConfiguration.concurrency = queueOptions.concurrency ?? max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
        workerConfiguration.leaseSeconds = queueOptions.leaseSeconds
        workerConfiguration.timeLimit = SynthesisTimeLimit(seconds: try queueOptions.jobTimeoutSeconds())
        workerConfiguration.shutdownGraceSeconds = 0
        let worker = JobWorker(queue: queue, engine: engine, resolver: resolver,
                               pool: SynthesisPool(width: workerConfiguration.concurrency), configuration: workerConfiguration,
                               logger: logger)
        let workerTask = Task { await worker.run() }
        let interrupted = AtomicFlag()
        let signals = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { interrupted.set(); workerTask.cancel() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        let ids = jobs.map(\.id)
        let interactive = isatty(STDERR_FILENO) != 0
        let start = Date()
        var finals: [String: JobRecord] = [:]
        var lastLine = ""
        while !interrupted.isSet {
            for id in ids where finals[id] == nil {
                if let job = try? await queue.job(id: id), job.state.isFinal { finals[id] = job }
            }
            let done = finals.count, failed = finals.values.filter { $0.state != .succeeded }.count
            let width = 30, filled = ids.isEmpty ? width : width * done / ids.count
            let line = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                + " \(done)/\(ids.count) lines" + (failed > 0 ? ", \(failed) failed" : "")
                + String(format: ", %.0f s", Date().timeIntervalSince(start))
            if interactive {
                FileHandle.standardError.write(Data(("\r" + line).utf8))
            } else if line.prefix(width + 12) != lastLine.prefix(width + 12) {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            lastLine = line
            if done == ids.count { break }
            try? await Task.sleep(for: .milliseconds(250))
        }
        workerTask.cancel()
        await workerTask.value
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        if interrupted.isSet {
            FileHandle.standardError.write(Data("interrupted: \(finals.count)/\(ids.count) lines finished; run the same command again to resume\n".utf8))
            throw ExitCode(130)
        }

        // Copy finished audio to the lines' output paths; report what failed.
        var succeeded = 0
        for (submission, job) in zip(submissions, jobs) {
            guard let final = finals[job.id] else { continue }
            if final.state == .succeeded, let produced = final.outputPath {
                succeeded += 1
                if let output = submission.output {
                    do {
                        try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent,
                                                                withIntermediateDirectories: true)
                        if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
                        try FileManager.default.copyItem(atPath: produced, toPath: output)
                    } catch {
                        failures.append(Failure(line: submission.line, message: "cannot write \(output): \(error)"))
                    }
                }
            } else {
                failures.append(Failure(line: submission.line, message: "\(final.state.rawValue): \(final.error ?? "no error recorded")"))
            }
        }
        print("\(succeeded) of \(submissions.count + failures.filter { f in !submissions.contains { $0.line == f.line } }.count) lines synthesised in "
              + String(format: "%.1f s", Date().timeIntervalSince(start)) + "; audio in \(dataDirectory.appendingPathComponent("outputs").path)")
        if !failures.isEmpty {
            print("\(failures.count) failed:")
            for f in failures.sorted(by: { $0.line < $1.line }) { print("  line \(f.line): \(f.message)") }
            throw ExitCode(1)
        }
    }

    /// FNV-1a over the file's path and contents: the same file queued twice gets the same job keys.
    static func fingerprint(_ path: String, _ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(path.utf8) + [0] + Array(data) {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

}

