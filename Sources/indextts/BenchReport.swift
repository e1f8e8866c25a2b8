import Foundation
import IndexTTS
import IndexTTSTensor

/// What an IndexTTS2 bench (`bench e2e`, `bench stream`) ran with, the head of its report: the machine, the model
/// folder, the speaker clip, the text, the forced code count, beams, CFM steps and the engine's load time.
struct IndexTTS2BenchSetup: Encodable {
    let machine: ComputeEnvironment
    let modelDir: String
    let ref: String
    let text: String
    let codes: Int
    let numBeams: Int
    let diffusionSteps: Int
    let loadSeconds: Double

    /// The request both benches time: `text` with `clip` as the speaker reference, `seed`, and this setup's beams,
    /// code count (`max_mel_tokens`; the benches also force it as the minimum) and CFM steps.
    func request(clip: IndexTTS2Clip, seed: UInt64) -> SynthesisRequest {
        var request = SynthesisRequest(text: text, seed: seed)
        request.referenceAudio = (clip.samples, clip.sampleRate)
        request.sampling = SamplingParameters(numBeams: numBeams, maxMelTokens: codes, diffusionSteps: diffusionSteps)
        return request
    }
}

/// A bench's report: its setup's fields and its own results side by side in one JSON object.
struct BenchReport<Results: Encodable>: Encodable {
    let setup: IndexTTS2BenchSetup
    var results: Results

    func encode(to encoder: any Encoder) throws {
        try setup.encode(to: encoder)
        try results.encode(to: encoder)
    }

    /// The report as every bench prints `--json`: pretty-printed, keys sorted.
    func printJSON() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // An SNR of identical signals is infinite.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        print(String(decoding: try encoder.encode(self), as: UTF8.self))
    }
}
