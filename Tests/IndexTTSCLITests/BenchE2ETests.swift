import Foundation
import IndexTTSTestSupport
import Testing

/// `indextts bench e2e`: argument checks, and one real run on the tiny e2e model folder (the numbers themselves are
/// for docs/BENCHMARKS.md, never asserted here).
struct BenchE2ETests {
    let cli = CLITests()
    static let model = Fixtures.path("e2e/model")
    static let ref = Fixtures.path("e2e/ref.wav")
    static let haveGrammars = FileManager.default.fileExists(atPath: Fixtures.cache("wetextprocessing-1.2.0-grammars/zh_tn_tagger.fst"))

    @Test(arguments: [
        (["--codes", "0"], "--codes must be at least 1"),
        (["--num-beams", "0"], "--num-beams must be at least 1"),
        (["--diffusion-steps", "0"], "--diffusion-steps must be at least 1"),
        (["--repeats=-1"], "--repeats must not be negative"),
        (["--text", " "], "--text is empty"),
    ])
    func badArgumentsAreRefusedByName(_ extra: [String], _ message: String) throws {
        let result = try cli.run(["bench", "e2e", "--model-dir", Self.model, "--ref", Self.ref] + extra)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func missingFolderAndClipAreNamed() throws {
        let noFolder = try cli.run(["bench", "e2e", "--model-dir", "/nonexistent/checkpoints", "--ref", Self.ref])
        #expect(noFolder.status != 0 && noFolder.stderr.contains("/nonexistent/checkpoints"), "\(noFolder.stderr)")
        let noClip = try cli.run(["bench", "e2e", "--model-dir", Self.model, "--ref", "/nonexistent/clip.wav"])
        #expect(noClip.status != 0 && noClip.stderr.contains("/nonexistent/clip.wav"), "\(noClip.stderr)")
    }

    @Test(.enabled(if: haveGrammars, "needs the text grammars in cache_hub (scripts/fetch-default-voice.sh)"))
    func reportsEveryRunWithTheForcedCodeCount() throws {
        let result = try cli.run(["bench", "e2e", "--model-dir", Self.model, "--ref", Self.ref, "--codes", "7",
                                  "--num-beams", "2", "--diffusion-steps", "2", "--repeats", "1", "--json",
                                  "--cache", Fixtures.cache("")])
        #expect(result.status == 0, "\(result.stderr)")
        struct Report: Decodable {
            struct Run: Decodable {
                struct Stage: Decodable { let name: String; let seconds: Double }
                let voice: String
                let seconds: Double
                let audioSeconds: Double
                let realTimeFactor: Double
                let codes: [Int]
                let stages: [Stage]
                let peakResidentBytes: Int
            }
            let codes: Int
            let numBeams: Int
            let diffusionSteps: Int
            let loadSeconds: Double
            let residentAfterLoadBytes: Int
            let runs: [Run]
            let peakResidentBytes: Int
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.codes == 7 && report.numBeams == 2 && report.diffusionSteps == 2)
        #expect(report.runs.count == 2 && report.runs.allSatisfy { $0.codes.allSatisfy { $0 == 7 } && !$0.codes.isEmpty })
        #expect(report.loadSeconds > 0 && report.residentAfterLoadBytes > 0 && report.peakResidentBytes >= report.residentAfterLoadBytes)
        for run in report.runs {
            let samples = run.codes.count * Int(7 * 1.72) * 256 + (run.codes.count - 1) * 4410  // 200 ms pauses
            #expect(run.audioSeconds == Double(samples) / 22_050)
            let names = run.stages.map(\.name)
            #expect(names.contains("GPT generate") && names.contains("CFM") && names.contains("BigVGAN"), "\(names)")
            // The stages account for the whole request (marks cover it from start to the final waveform).
            let sum = run.stages.map(\.seconds).reduce(0, +)
            #expect(sum <= run.seconds + 1e-6 && sum >= 0.9 * run.seconds, "stages \(sum) s of \(run.seconds) s")
        }
    }
}
