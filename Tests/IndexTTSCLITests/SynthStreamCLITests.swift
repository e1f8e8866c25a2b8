import Foundation
import IndexTTSAudio
import IndexTTSTestSupport
import Testing

/// `indextts synth --stream -o -`: IndexTTS2's windows go to standard output as they are made; messages go to
/// standard error.
struct SynthStreamCLITests {
    @Test func streamedSynthesisWritesAudioToStandardOutput() throws {
        let process = Process()
        process.executableURL = try CLITests.binary()
        process.arguments = ["synth", "--model-dir", Fixtures.path("e2e/model"), "--cache", Fixtures.cache(""),
                             "--spk-audio-prompt", Fixtures.path("e2e/ref.wav"), "--text", "你好",
                             "--max-mel-tokens", "24", "--top-k", "1", "--num-beams", "1", "--diffusion-steps", "2",
                             "--stream", "--stream-chunk-size", "8", "--stream-overlap-size", "2", "-o", "-", "--verbose"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("stream=chunk 8, overlap 2, first 8") && stderr.contains("wrote standard output"), "\(stderr)")
        let audio = try AudioDecoder.decode(bytes: Array(stdout), name: "out.wav")
        #expect(audio.sampleRate == 22_050 && audio.samples.count > 0)
    }
}
