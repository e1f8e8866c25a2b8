import Foundation
import IndexTTSTestSupport
import Testing

/// `indextts batch` with the default voice: bad lines are reported by number without stopping the rest, results land
/// at their output paths, and running the same file again resumes instead of synthesising twice.
struct BatchCommandTests {
    @Test func reportsBadLinesWritesOutputsAndResumes() throws {
        let cli = CLITests()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let lines = [
            #"{"text": "今天天气很好。", "output_path": "out/one.wav", "emotion": "happy"}"#,
            #"{"text": "这一行坏了", "emo_vector": [1, 2]}"#,
            "not json at all",
            "",
            #"{"text": "明天见。", "output_path": "out/two.mp3", "speed": 1.2}"#,
            #"{"text": "没有参考音频。", "spk_audio_prompt": "missing.wav"}"#,
        ]
        let file = dir.appendingPathComponent("lines.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let data = dir.appendingPathComponent("data").path
        let arguments = ["batch", file.path, "--data", data, "--cache", Fixtures.cache(""), "--lease-seconds", "5"]

        let first = try cli.run(arguments)
        #expect(first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("2 lines queued") && first.stderr.contains("3 rejected"), "\(first.stderr)")
        #expect(first.stderr.contains("line 2: emo_vector") && first.stderr.contains("line 3: invalid JSON")
                && first.stderr.contains("line 6: spk_audio_prompt"), "\(first.stderr)")
        #expect(first.stdout.contains("2 of 5 lines synthesised"), "\(first.stdout)")
        let one = dir.appendingPathComponent("out/one.wav").path, two = dir.appendingPathComponent("out/two.mp3").path
        #expect(FileManager.default.fileExists(atPath: one) && FileManager.default.fileExists(atPath: two))
        let produced = try FileManager.default.contentsOfDirectory(atPath: data + "/outputs")
        #expect(produced.count == 2)

        // Again: the same jobs are found finished and nothing is synthesised twice.
        try FileManager.default.removeItem(atPath: one)
        let second = try cli.run(arguments)
        #expect(second.status == 1 && second.stderr.contains("(2 from an earlier run)"), "\(second.stderr)")
        #expect(FileManager.default.fileExists(atPath: one))
        #expect(try FileManager.default.contentsOfDirectory(atPath: data + "/outputs").count == 2)
    }

    @Test func aCleanFileExitsZero() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("ok.jsonl")
        try #"{"text": "你好。"}"#.write(to: file, atomically: true, encoding: .utf8)
        let result = try CLITests().run(["batch", file.path, "--data", dir.appendingPathComponent("data").path,
                                         "--cache", Fixtures.cache(""), "--format", "flac"])
        #expect(result.status == 0, "\(result.stderr)")
        let outputs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("data/outputs").path)
        #expect(outputs.count == 1 && outputs[0].hasSuffix(".flac"))
    }

    @Test func voicesAddListAndDeleteTheLibrary() throws {
        let cli = CLITests()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("voices-\(UUID().uuidString)").path
        let clip = Fixtures.path("audio/speech_like_22050.wav")
        let added = try cli.run(["voices", "add", "narrator", clip, "--data", data, "--description", "test"])
        #expect(added.status == 0 && added.stdout.contains("added narrator"), "\(added.stderr)")
        let listed = try cli.run(["voices", "list", "--data", data, "--cache", Fixtures.cache("")])
        #expect(listed.stdout.contains("narrator") && listed.stdout.contains("test"))
        let escaped = try cli.run(["voices", "add", "../evil", clip, "--data", data])
        #expect(escaped.status != 0 && escaped.stderr.contains("invalid voice name"))
        let deleted = try cli.run(["voices", "delete", "narrator", "--data", data])
        #expect(deleted.status == 0)
        let again = try cli.run(["voices", "delete", "narrator", "--data", data])
        #expect(again.status != 0 && again.stderr.contains("no voice named 'narrator'"))
    }
}
