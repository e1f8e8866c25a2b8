import Foundation
import IndexTTSAudio
import IndexTTSFuzzing
import IndexTTSServer
import IndexTTSWeights
import Testing

/// Every input a fuzzer once crashed a harness with (Tests/Fixtures/fuzz-regressions/<harness>/) and every seed
/// (tools/fuzz/seeds.txt) goes through its harness again: the harness must return or throw, never trap.
/// A crash here kills the test process, which fails the run.
@Suite struct FuzzRegressionTests {
    static let root = FuzzResources.repositoryRoot

    static func files(under relative: String) -> [URL] {
        let url = root.appendingPathComponent(relative)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [url] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { url.appendingPathComponent($0) }
    }

    static func replay(_ harness: FuzzHarness, _ file: URL) throws {
        let data = try [UInt8](Data(contentsOf: file))
        do { try harness.run(data) } catch let failure as FuzzFailure {
            Issue.record("\(harness.rawValue) \(file.lastPathComponent): \(failure)")
        } catch {
            // A typed error is the expected answer to hostile input.
        }
    }

    @Test(arguments: FuzzHarness.allCases)
    func committedCrashInputsStayFixed(_ harness: FuzzHarness) throws {
        for file in Self.files(under: harness.regressionPath) { try Self.replay(harness, file) }
    }

    @Test func everySeedRunsThroughItsHarness() throws {
        let table = try String(contentsOf: Self.root.appendingPathComponent("tools/fuzz/seeds.txt"), encoding: .utf8)
        var seen = Set<FuzzHarness>()
        for line in table.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ", maxSplits: 1).map(String.init)
            let harness = try #require(fields.count == 2 ? FuzzHarness(rawValue: fields[0]) : nil, "bad seeds.txt line: \(line)")
            let files = Self.files(under: fields[1])
            #expect(!files.isEmpty, "seed path \(fields[1]) is missing")
            for file in files { try Self.replay(harness, file) }
            seen.insert(harness)
        }
        #expect(seen == Set(FuzzHarness.allCases), "harnesses without seeds: \(Set(FuzzHarness.allCases).subtracting(seen))")
    }

    /// The text front end on a 100k-character line, with invalid UTF-8 sequences and a lone combining mark.
    @Test func textFrontEndTakesLongLinesAndInvalidUTF8() throws {
        var bytes: [UInt8] = [0x20]  // corrected readings, segments of up to 18 tokens
        let unit = Array("Hello 世界 123, ok. ".utf8) + [0xFF, 0xC3, 0x28, 0xE2, 0x82] + Array("\u{301}".utf8)
        while bytes.count < 100_000 { bytes += unit }
        try FuzzHarness.text.run(bytes)
        // One 20k-letter word (the server's text limit) and one of letters and digits: linear since the tech-term
        // pattern is anchored at word starts.
        try FuzzHarness.text.run([0x01] + [UInt8](repeating: 0x41, count: 20_000))
        try FuzzHarness.text.run([0x01] + Array(String(repeating: "a1", count: 10_000).utf8) + Array("-b".utf8))
    }
}
