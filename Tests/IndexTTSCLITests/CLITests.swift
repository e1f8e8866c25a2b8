import Foundation
import IndexTTSTestSupport
import Testing

/// Runs the built `indextts` binary as a user would.
struct CLITests {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `indextts` executable next to the test bundle in the build folder.
    static func binary() throws -> URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("indextts")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "indextts next to \(CommandLine.arguments[0])"])
    }

    /// Runs `indextts arguments`, or `launcher[0] launcher[1…] indextts arguments` (taskset, QEMU); `environment`
    /// changes the inherited environment (nil removes a variable).
    func run(_ arguments: [String], environment: [String: String?] = [:], launcher: [String] = []) throws -> Result {
        let process = Process()
        let binary = try Self.binary()
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test(arguments: ["state_dict.pth", "tensors.safetensors", "tiny.tflite", "nested.pth", "generator.pt", "bare_tensor.pt"])
    func inspectListsEveryTensor(_ file: String) throws {
        let result = try run(["models", "inspect", "--json", Fixtures.path("readers/" + file)])
        #expect(result.status == 0, "\(result.stderr)")
        struct Report: Decodable {
            struct Row: Decodable { let name: String; let dtype: String; let shape: [Int]; let sum: Double? }
            let format: String
            let tensors: [Row]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        // Compare the checksum sums with the values the writer recorded.
        let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("readers/expected.json"))))
        let files = (raw as! [String: Any])["files"] as! [String: Any]
        let entries = files[file] as! [String: [String: Any]]
        #expect(report.tensors.count == entries.count)
        for row in report.tensors {
            let values = (entries[row.name]?["values"] as? [Double]) ?? []
            let sum = values.map { Double(Float($0)) }.reduce(0, +)
            #expect(abs((row.sum ?? .nan) - sum) <= 1e-6 * max(1, abs(sum)), "\(row.name)")
        }
    }

    @Test func inspectOfABadFileFailsNamingIt() throws {
        let result = try run(["models", "inspect", Fixtures.path("readers/legacy.pth")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("legacy.pth"))
        #expect(result.stderr.contains("legacy"))
    }

    @Test func checkOfAMissingFolderFails() throws {
        let result = try run(["models", "check", "/nonexistent/checkpoints"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/checkpoints"))
    }

    @Test func helpListsTheCommands() throws {
        let result = try run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("models"))
        #expect(result.stdout.contains("bench"))
    }
}

extension CLITests {
    @Test func audioInfoDescribesAFile() throws {
        let result = try run(["audio", "info", Fixtures.path("audio/stereo_44100.wav")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("44100 Hz"))
        #expect(result.stdout.contains("channels:    2"))
        #expect(result.stdout.contains("LUFS"))
    }

    @Test func audioConvertWritesADecodableFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        for ext in ["flac", "mp3", "opus", "aac", "wav"] {
            let output = directory.appendingPathComponent("out.\(ext)").path
            let result = try run(["audio", "convert", Fixtures.path("audio/speech_like_22050.wav"), output,
                                  "--sample-rate", "24000", "--loudness", "-20"])
            #expect(result.status == 0, "\(ext): \(result.stderr)")
            let info = try run(["audio", "info", output])
            #expect(info.status == 0, "\(ext): \(info.stderr)")
            #expect(info.stdout.contains("24000 Hz"))
        }
        let bad = try run(["audio", "convert", Fixtures.path("audio/speech_like_22050.wav"), directory.appendingPathComponent("x.wma").path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("wma"))
    }

    @Test func audioFeaturesDumpsSafetensors() throws {
        let output = try Fixtures.temporaryDirectory().appendingPathComponent("features.safetensors").path
        let result = try run(["audio", "features", Fixtures.path("audio/speech_like_22050.wav"), output])
        #expect(result.status == 0, "\(result.stderr)")
        let inspect = try run(["models", "inspect", "--no-checksums", output])
        for key in ["mel", "fbank", "w2v_features", "w2v_mask", "audio_16k"] { #expect(inspect.stdout.contains(key)) }
    }

    @Test func audioInfoOfANonAudioFileFails() throws {
        let result = try run(["audio", "info", Fixtures.path("readers/expected.json")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("expected.json"))
    }
}

extension CLITests {
    @Test func audioProsodySummarisesAVoice() throws {
        let result = try run(["audio", "prosody", Fixtures.path("audio/speech/arctic_a0007.wav")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("F0 median"))
        #expect(result.stdout.contains("syllables/s"))
    }

    @Test func textPinyinPreviewsReadingsAndPhones() throws {
        let r = try run(["text", "pinyin", "--json", "--cache", Fixtures.cache(""), "--text", "银行A"])
        #expect(r.status == 0, "\(r.stderr)")
        struct Output: Decodable { let pinyin: [String]; let phones: [String]; let ids: [Int]; let unread: [String] }
        let output = try JSONDecoder().decode(Output.self, from: Data(r.stdout.utf8))
        #expect(output.pinyin == ["yin2", "hang2"])
        #expect(output.phones == ["sil", "^", "in2", "#0", "h", "ang2", "#0", "^", "ei1", "sil"])
        #expect(output.ids.count == output.phones.count + 1 && output.unread.isEmpty)
        let missing = try run(["text", "pinyin", "--cache", "/nonexistent", "--text", "你好"])
        #expect(missing.status != 0 && missing.stderr.contains("fetch-default-voice"))
    }

    @Test func textNormalizeReadsNumbers() throws {
        let cache = Fixtures.cache("")
        let r = try run(["text", "normalize", "--json", "--cache", cache, "--text", "共1024人，增长3.5%"])
        #expect(r.status == 0, "\(r.stderr)")
        // IndexTTS2's front end: numbers read by WeTextProcessing, then its punctuation map (，→ ,).
        #expect(r.stdout.contains("共一千零二十四人,增长百分之三点五") && r.stdout.contains("\"language\" : \"zh\""))
        let en = try run(["text", "normalize", "--tags", "--cache", cache, "--text", "It costs $5 on 5/6/2024."])
        #expect(en.status == 0 && en.stdout.contains("money {") && en.stdout.contains("five dollars"), "\(en.stdout)\(en.stderr)")
        let missing = try run(["text", "normalize", "--cache", "/nonexistent", "--text", "1"])
        #expect(missing.status != 0 && missing.stderr.contains("fetch-default-voice"), "\(missing.stderr)")
        let glossary = try Fixtures.temporaryDirectory().appendingPathComponent("glossary.yaml")
        try "TTS: T T S\n".write(to: glossary, atomically: true, encoding: .utf8)
        let g = try run(["text", "normalize", "--cache", cache, "--glossary", glossary.path, "--text", "我们做tts。"])
        #expect(g.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "我们做T T S.", "\(g.stdout)\(g.stderr)")
    }

    /// `text normalize --explain` names the rule of each span and the user's overrides; `bench text` takes the mode
    /// and prints the machine header every bench prints (its timings are never asserted).
    @Test func readingsAreExplainedAndBenchedPerMode() throws {
        let cache = Fixtures.cache("")
        let r = try run(["text", "normalize", "--explain", "--cache", cache, "--text", "大约1/4的人，房间<2305|二三零五>"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("[zh.fraction] @2 \"1/4\" → \"四分之一\"") && r.stdout.contains("[user.annotation]")
                && r.stdout.contains("大约四分之一的人,房间二三零五"), "\(r.stdout)")
        let text = try Fixtures.temporaryDirectory().appendingPathComponent("chapter.txt")
        try "大约1/4的人，凌晨0:05下班。\n".write(to: text, atomically: true, encoding: .utf8)
        let bpe = Fixtures.path("text/bpe_cjk.model")
        for mode in ["corrected", "upstream"] {
            let b = try run(["bench", "text", "--text-file", text.path, "--bpe", bpe, "--cache", cache, "--characters", "15",
                             "--repetitions", "1", "--readings", mode])
            #expect(b.status == 0, "\(b.stderr)")
            #expect(b.stdout.contains("cpu: ") && b.stdout.contains("instruction sets: ") && b.stdout.contains("blas: OpenBLAS")
                    && b.stdout.contains("readings: \(mode)") && b.stdout.contains("normalise: "), "\(b.stdout)")
        }
        let bad = try run(["bench", "text", "--readings", "fancy"])
        #expect(bad.status != 0 && bad.stderr.contains("--readings must be one of: corrected, upstream"), "\(bad.stderr)")
    }

    @Test func textSegmentsAndTokens() throws {
        let bpe = Fixtures.path("text/bpe_cjk.model")
        let r = try run(["text", "segments", "--json", "--bpe", bpe, "--max-tokens", "6", "--text", "今天天气很好. 我们一起去公园散步吧."])
        #expect(r.status == 0, "\(r.stderr)")
        struct Segment: Decodable { let index: Int; let tokens: Int; let text: String }
        let segments = try JSONDecoder().decode([Segment].self, from: Data(r.stdout.utf8))
        #expect(segments.count >= 3 && segments.allSatisfy { $0.tokens <= 6 && $0.tokens > 1 })
        let t = try run(["text", "tokenize", "--json", "--bpe", bpe, "--text", "你好"])
        #expect(t.status == 0 && t.stdout.contains("\"ids\""))
    }

    @Test func synthWritesSpeechAndExplainsProblems() throws {
        let directory = try Fixtures.temporaryDirectory()
        let out = directory.appendingPathComponent("hello.flac").path
        let r = try run(["synth", "--cache", Fixtures.cache(""), "--text", "你好，世界。", "--emotion", "happy", "-o", out, "--verbose"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("real-time factor") && r.stdout.contains("pitch_shift=0.600"))
        let audio = try AudioProbe.decode(out)
        #expect(audio.sampleRate == 24000 && audio.seconds > 0.8 && audio.seconds < 3)
        let bad = try run(["synth", "--cache", Fixtures.cache(""), "--text", "你好", "--speed", "9", "-o", out])
        #expect(bad.status != 0 && bad.stderr.contains("speed"))
        let empty = try run(["synth", "--cache", Fixtures.cache(""), "--text", "。。", "-o", out])
        #expect(empty.status != 0 && empty.stderr.contains("empty"))
        let voices = try run(["voices", "list", "--json", "--cache", Fixtures.cache("")])
        #expect(voices.status == 0 && voices.stdout.contains("non-commercial") && voices.stdout.contains("\"installed\" : true"))
    }
}

extension CLITests {
    /// `indextts system`: without user action OpenBLAS runs kernels as wide as the CPU allows (the binary re-executes
    /// itself with OPENBLAS_CORETYPE when OpenBLAS fell back to generic ones); a user's own choice is kept and reported.
    @Test func systemReportsTheBLASCoreAndKeepsTheUsersChoice() throws {
        struct Report: Decodable {
            let cpu: String
            let instructionSets: [String]
            let blasCore: String
            let blasCoreOrigin: String
            let blasThreads: Int
            let kernelThreads: Int
            let recommendedBLASCore: String?
        }
        let automatic = try run(["system", "--json"], environment: ["OPENBLAS_CORETYPE": nil, "INDEXTTS_BLAS_CORE_DETECTED": nil])
        #expect(automatic.status == 0, "\(automatic.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(automatic.stdout.utf8))
        #expect(!report.blasCore.isEmpty && report.blasThreads >= 1 && report.kernelThreads >= 1 && !report.cpu.isEmpty)
        #expect(report.recommendedBLASCore == nil, "OpenBLAS still runs \(report.blasCore): \(report.blasCoreOrigin)")

        let forced = try run(["system", "--json"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        let user = try JSONDecoder().decode(Report.self, from: Data(forced.stdout.utf8))
        #expect(user.blasCore == "Prescott")
        #expect(user.blasCoreOrigin == "OPENBLAS_CORETYPE=Prescott from the environment")
        if report.instructionSets.contains("avx") {
            // The user's choice stands, with a warning naming the better core.
            #expect(user.recommendedBLASCore != nil)
            let text = try run(["system"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
            #expect(text.stdout.contains("warning: OpenBLAS runs its Prescott kernels"), "\(text.stdout)")
        }
    }

    /// Our kernels use the cores the process may use: under `taskset -c 0` (one allowed CPU on a machine with more)
    /// `indextts system` reports one kernel thread, and the worker pool stands aside.
    @Test func kernelThreadsFollowTheAffinityMask() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset"), ProcessInfo.processInfo.activeProcessorCount > 1
        else { return }
        let result = try run(["system"], environment: ["INDEXTTS_THREADS": nil], launcher: ["/usr/bin/taskset", "-c", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("our kernels: 1 threads (on the calling thread)"), "\(result.stdout)")
    }

    /// The release binary is compiled for Haswell-class CPUs; on an older one it must explain and exit, not die of
    /// SIGILL. Run under QEMU's user-mode emulation of a Nehalem CPU (Debian's qemu-user, which scripts/test.sh
    /// installs); debug builds are not compiled for Haswell and have no such check.
    @Test func releaseBinaryExplainsAMissingInstructionSet() throws {
        #if arch(x86_64)
        let binary = try Self.binary().path
        guard binary.contains("/release/") else { return }
        guard let qemu = ["/usr/bin/qemu-x86_64", "/usr/bin/qemu-x86_64-static"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("qemu-user is not installed (scripts/test.sh installs it)")
            return
        }
        let result = try run(["system"], launcher: [qemu, "-cpu", "Nehalem"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("this build needs an x86-64 CPU with AVX2, FMA and F16C")
                && result.stderr.contains("lacks: avx avx2 fma"), "\(result.stderr)")
        #endif
    }
}

import IndexTTSAudio
enum AudioProbe {
    static func decode(_ path: String) throws -> (sampleRate: Int, seconds: Double) {
        let a = try AudioDecoder.decode(path: path)
        return (a.sampleRate, a.duration)
    }
}
