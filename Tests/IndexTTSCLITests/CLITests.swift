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

    func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = arguments
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
