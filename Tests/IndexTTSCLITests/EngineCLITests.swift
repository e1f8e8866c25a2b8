import Foundation
import IndexTTSTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Every command picks its engine through one factory and finds its folders from any working directory: the
/// recorded-paths file (`$XDG_CONFIG_HOME/indextts/paths.json`) is enough for `serve` and `synth` started elsewhere;
/// explicit engine choices fail naming every problem; IndexTTS2's flags reach the engine.
struct EngineCLITests {
    /// A working directory and a home outside the checkout, with or without a record pointing at the real cache.
    struct Elsewhere {
        let root: URL
        var cwd: URL { root.appendingPathComponent("cwd") }
        var environment: [String: String?]

        init(recordCache: Bool) throws {
            root = try Fixtures.temporaryDirectory()
            let config = root.appendingPathComponent("config")
            for dir in [root.appendingPathComponent("cwd"), root.appendingPathComponent("home"), config.appendingPathComponent("indextts")] {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            }
            if recordCache {
                try JSONSerialization.data(withJSONObject: ["cache": Fixtures.cache("")])
                    .write(to: config.appendingPathComponent("indextts/paths.json"))
            }
            environment = ["HOME": root.appendingPathComponent("home").path, "XDG_CONFIG_HOME": config.path,
                           "XDG_CACHE_HOME": nil, "INDEXTTS_CACHE": nil, "INDEXTTS_MODEL_DIR": nil]
        }
    }

    /// Runs `indextts arguments` in `cwd` with `environment` changes.
    static func run(_ arguments: [String], in cwd: URL, environment: [String: String?]) throws -> CLITests.Result {
        let process = try makeProcess(arguments, in: cwd, environment: environment)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return .init(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                     stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func makeProcess(_ arguments: [String], in cwd: URL, environment: [String: String?]) throws -> Process {
        let process = Process()
        process.executableURL = try CLITests.binary()
        process.arguments = arguments
        process.currentDirectoryURL = cwd
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        process.environment = merged
        return process
    }

    static func realPath(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }

    @Test func serveStartedOutsideTheCheckoutFindsTheRecordedCache() async throws {
        // Without the record there is nothing to speak with, and the error says where it looked.
        let bare = try Elsewhere(recordCache: false)
        let failed = try Self.run(["serve", "--port", "0", "--data", bare.root.appendingPathComponent("data").path],
                                  in: bare.cwd, environment: bare.environment)
        #expect(failed.status != 0 && failed.stderr.contains("no cache_hub/ in \(bare.cwd.path)/cache_hub")
                && failed.stderr.contains("fetch-default-voice.sh"), "\(failed.stderr)")

        // With it, serve starts from the same directory and says which engine speaks and why.
        let box = try Elsewhere(recordCache: true)
        let process = try Self.makeProcess(["serve", "--port", "0", "--data", box.root.appendingPathComponent("data").path],
                                           in: box.cwd, environment: box.environment)
        let log = box.root.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            try? handle.close()
        }
        var port: Int?
        var text = ""
        for _ in 0..<600 where port == nil && process.isRunning {
            try await Task.sleep(for: .milliseconds(100))
            text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(text[range].split(separator: ":").last!)
            }
        }
        let bound = try #require(port, "serve did not start: \(text)")
        #expect(text.contains("default voice: no IndexTTS2 model folder (looked in \(box.cwd.path)/checkpoints"), "\(text)")
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/healthz")!)
        let health = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let selection = try #require(health["engine_selection"] as? [String: Any])
        #expect(selection["engine"] as? String == "default" && selection["choice"] as? String == "auto")
        #expect(Self.realPath(selection["cache"] as? String ?? "") == Self.realPath(Fixtures.cache("")), "\(selection)")
    }

    @Test func synthFromAnotherDirectoryWritesToOutputs() throws {
        let box = try Elsewhere(recordCache: true)
        let r = try Self.run(["synth", "--text", "你好。"], in: box.cwd, environment: box.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("engine: default voice: no IndexTTS2 model folder"), "\(r.stderr)")
        // outputs/YYYYMMDD_HHMMSS.wav under the working directory, as upstream names its files.
        let outputs = try FileManager.default.contentsOfDirectory(atPath: box.cwd.appendingPathComponent("outputs").path)
        #expect(outputs.count == 1 && outputs[0].range(of: #"^\d{8}_\d{6}\.wav$"#, options: .regularExpression) != nil, "\(outputs)")
    }

    @Test func explicitEnginesAndIndexTTS2OnlyFlagsExplainProblems() throws {
        let cli = CLITests()
        let out = try Fixtures.temporaryDirectory().appendingPathComponent("x.wav").path
        let absent = try cli.run(["synth", "--engine", "indextts2", "--model-dir", "/nonexistent/checkpoints", "--cache", Fixtures.cache(""),
                                  "--text", "你好", "-o", out])
        #expect(absent.status != 0 && absent.stderr.contains("/nonexistent/checkpoints is absent"), "\(absent.stderr)")
        let stages = try cli.run(["synth", "--engine", "default", "--cache", Fixtures.cache(""), "--text", "你好",
                                  "--dump-stages", out + ".safetensors", "-o", out])
        #expect(stages.status != 0 && stages.stderr.contains("need IndexTTS2"), "\(stages.stderr)")
        let badTopP = try cli.run(["synth", "--cache", Fixtures.cache(""), "--text", "你好", "--top-p", "5", "-o", out])
        #expect(badTopP.status != 0 && badTopP.stderr.contains("top_p"), "\(badTopP.stderr)")
        let badEngine = try cli.run(["synth", "--engine", "fastest", "--text", "你好"])
        #expect(badEngine.status != 0 && badEngine.stderr.contains("auto") && badEngine.stderr.contains("indextts2"))
        // The default voice has no sampler: the settings are accepted and said to be ignored.
        let ignored = try cli.run(["synth", "--engine", "default", "--cache", Fixtures.cache(""), "--text", "你好。", "--top-k", "5", "-o", out])
        #expect(ignored.status == 0 && ignored.stderr.contains("generation settings are ignored"), "\(ignored.stderr)")
    }

    /// IndexTTS2 on the tiny official-layout folder: the sampling flags reach the decoder (the controls echo them),
    /// the parity surface writes the stages.
    @Test func synthSpeaksWithIndexTTS2AndDumpsStages() throws {
        let dir = try Fixtures.temporaryDirectory()
        let out = dir.appendingPathComponent("speech.wav").path, stages = dir.appendingPathComponent("stages.safetensors").path
        let r = try CLITests().run(["synth", "--model-dir", Fixtures.path("e2e/model"), "--cache", Fixtures.cache(""),
                                    "--spk-audio-prompt", Fixtures.path("e2e/ref.wav"), "--text", "你好",
                                    "--max-mel-tokens", "24", "--top-k", "1", "--num-beams", "1", "--diffusion-steps", "3",
                                    "--dump-stages", stages, "-o", out, "--verbose"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("engine: IndexTTS2 from \(Fixtures.path("e2e/model"))"), "\(r.stderr)")
        #expect(r.stdout.contains("top_k=1") && r.stdout.contains("num_beams=1") && r.stdout.contains("diffusion_steps=3"), "\(r.stdout)")
        #expect(r.stdout.contains("wrote") && r.stdout.contains("stages to \(stages)"))
        let audio = try AudioProbe.decode(out)
        #expect(audio.sampleRate == 22_050 && audio.seconds > 0)
        let inspected = try CLITests().run(["models", "inspect", "--json", stages])
        #expect(inspected.status == 0 && ["\"codes\"", "\"spk_cond_emb\"", "\"S_ref\"", "\"latent\""].allSatisfy { inspected.stdout.contains($0) }, "\(inspected.stdout.prefix(2000))")
    }

    @Test func batchLinesTakeEverySamplingField() throws {
        let dir = try Fixtures.temporaryDirectory()
        let lines = [
            #"{"text": "你好。", "do_sample": false, "top_p": 0.5, "top_k": 5, "temperature": 0.7, "num_beams": 2, "repetition_penalty": 8, "length_penalty": 0.1, "max_mel_tokens": 100, "diffusion_steps": 10, "inference_cfg_rate": 0.5, "max_text_tokens_per_segment": 60, "interval_silence": 100, "use_random": true}"#,
            #"{"text": "你好。", "top_p": 5}"#,
            #"{"text": "你好。", "top_k": "many"}"#,
        ]
        let file = dir.appendingPathComponent("lines.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let r = try CLITests().run(["batch", file.path, "--data", dir.appendingPathComponent("data").path, "--cache", Fixtures.cache(""),
                                    "--engine", "default", "--no-worker"])
        #expect(r.stderr.contains("1 lines queued, 2 rejected") && r.stderr.contains("line 2: top_p")
                && r.stderr.contains("line 3: invalid JSON: 'top_k'"), "\(r.stderr)")
        #expect(r.stderr.hasPrefix("engine: default voice: chosen with --engine default"), "\(r.stderr)")
    }

    @Test func voicesAddStoresTheEnginesConditioning() throws {
        let data = try Fixtures.temporaryDirectory().appendingPathComponent("data").path
        let added = try CLITests().run(["voices", "add", "narrator", Fixtures.path("audio/speech_like_22050.wav"), "--data", data,
                                        "--cache", Fixtures.cache(""), "--engine", "default"])
        #expect(added.status == 0 && added.stdout.contains("conditioning stored for default"), "\(added.stdout)\(added.stderr)")
        #expect(FileManager.default.fileExists(atPath: data + "/voices/narrator/conditioning-default.safetensors"))
        let listed = try CLITests().run(["voices", "list", "--data", data, "--cache", Fixtures.cache("")])
        #expect(listed.stdout.contains("conditioning: default"), "\(listed.stdout)")
    }
}
