import Foundation
import IndexTTS
import IndexTTSModels
import IndexTTSTestSupport
import IndexTTSWeights
import Synchronization
import Testing

/// The two hooks `indextts bench e2e` uses on the tiny e2e fixture: a forced code count (`minMelTokens`: the stop
/// code masked until that count, Hugging Face's `min_new_tokens`) and the stage marks (`stageFinished`).
@Suite(.serialized) struct IndexTTS2BenchHooksTests {
    struct Run: Decodable {
        let segment_tokens: [[String]]
        let codes: [[Int]]
        let stop_token_generated: [Bool]
    }

    static let loaded = Result { try IndexTTS2Pipeline.load(modelDirectory: Fixtures.path("e2e/model")) }

    /// The recorded default case (argmax decoding; upstream stopped on the stop code after 11 codes).
    static func request() throws -> (IndexTTS2Request, Run) {
        let run = try Fixtures.json("e2e/default/run.json", as: Run.self)
        var request = IndexTTS2Request(text: "", speaker: try IndexTTS2Clip.load(path: Fixtures.path("e2e/ref.wav")))
        request.segmentTokens = run.segment_tokens
        request.sampling.topK = 1
        request.sampling.numBeams = 1
        request.sampling.maxMelTokens = 24
        request.sampling.diffusionSteps = 2
        return (request, run)
    }

    @Test func forcedCountSuppressesTheStopCodeUntilThatCount() throws {
        let pipeline = try Self.loaded.get()
        var (request, run) = try Self.request()
        #expect(run.stop_token_generated == [true] && run.codes[0].count < 20)
        let free = try pipeline.synthesize(request)
        #expect(free.segments.map(\.codes) == run.codes && free.segments[0].stop == .stopToken)
        request.sampling.minMelTokens = 20
        request.sampling.maxMelTokens = 20
        let forced = try pipeline.synthesize(request)
        let codes = forced.segments[0].codes
        #expect(codes.count == 20 && forced.segments[0].stop == .maxLength)
        // Until the step upstream stopped at, the argmax path is the same: the mask only removes the stop code.
        #expect(Array(codes.prefix(run.codes[0].count)) == run.codes[0])
        #expect(!codes.contains(pipeline.gpt.configuration.stopMelToken))
        #expect(forced.samples.count == Int(Float(20) * 1.72) * 256)
        // A minimum below the natural length changes nothing.
        request.sampling.minMelTokens = 5
        request.sampling.maxMelTokens = 24
        #expect(try pipeline.synthesize(request).segments.map(\.codes) == run.codes)
    }

    @Test func forcedCountHoldsWithBeamSampling() throws {
        let pipeline = try Self.loaded.get()
        var (request, _) = try Self.request()
        request.sampling = IndexTTS2Sampling()  // upstream's defaults: do_sample, top_k 30, 3 beams
        request.sampling.diffusionSteps = 2
        request.sampling.maxMelTokens = 16
        request.sampling.minMelTokens = 16
        for seed in [UInt64(1), 2, 3] {
            request.sampling.seed = seed
            let output = try pipeline.synthesize(request)
            #expect(output.segments.map(\.codes.count) == [16] && output.segments[0].stop == .maxLength)
        }
    }

    @Test func minimumAboveMaximumIsRefused() throws {
        let pipeline = try Self.loaded.get()
        var (request, _) = try Self.request()
        request.sampling.minMelTokens = 25
        do {
            _ = try pipeline.synthesize(request)
            Issue.record("a minimum of 25 codes with a maximum of 24 was accepted")
        } catch ModelError.invalidInput(_, let reason) {
            #expect(reason.contains("min_new_tokens"), "\(reason)")
        }
    }

    @Test func stageMarksArriveInPipelineOrder() throws {
        let pipeline = try Self.loaded.get()
        var (request, _) = try Self.request()
        request.segmentTokens = [Array(request.segmentTokens![0].prefix(6)), Array(request.segmentTokens![0].dropFirst(6))]
        request.sampling.minMelTokens = 4  // a short segment could otherwise stop at once (no codes)
        request.sampling.maxMelTokens = 4
        let marks = Mutex<[String]>([])
        request.stageFinished = { name in marks.withLock { $0.append(name) } }
        _ = try pipeline.synthesize(request)
        let names = marks.withLock { $0 }
        let expected = ["audio_16k", "spk_cond_emb", "S_ref", "ref_mel", "style", "prompt_condition", "emo_cond_emb",
                        "text_tokens", "codes", "latent", "cat_condition", "vc_target", "wav_bigvgan",
                        "text_tokens@1", "codes@1", "latent@1", "vc_target@1", "wav_bigvgan@1", "wav"]
        let positions = expected.map { names.firstIndex(of: $0) }
        #expect(positions.allSatisfy { $0 != nil }, "missing marks: \(zip(expected, positions).filter { $0.1 == nil }.map(\.0))")
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "marks out of order: \(names)")
        #expect(names.last == "wav" && Set(names).count == names.count)
    }

    /// After a request neither the conditioning-only weights (w2v-BERT) nor the GPT checkpoint (let go after each
    /// segment's latent pass, before S2M and BigVGAN) are resident; the GPT faults back in when generation reads it
    /// (observed at the next request's `latent` mark, just before the release); the pipeline's
    /// output is unchanged by the releases.
    @Test func conditioningWeightsLeaveMemoryAfterUse() throws {
        let copy = try Fixtures.temporaryDirectory().appendingPathComponent("model")  // paths no other test maps
        try FileManager.default.copyItem(atPath: Fixtures.path("e2e/model"), toPath: copy.path)
        let pipeline = try IndexTTS2Pipeline.load(modelDirectory: copy.path)
        let w2v = copy.appendingPathComponent("hf_cache/w2v-bert-2.0/model.safetensors").path
        let gpt = copy.appendingPathComponent("gpt.pth").path
        try #require(MappedFile.liveMappings(of: w2v).count == 1 && MappedFile.liveMappings(of: gpt).count == 1)
        let (request, run) = try Self.request()
        let first = try pipeline.synthesize(request)
        #expect(first.segments.map(\.codes) == run.codes)
        #expect(MappedFile.liveMappings(of: w2v).first?.residentBytes == 0)
        #expect(MappedFile.liveMappings(of: gpt).first?.residentBytes == 0)
        final class Resident: @unchecked Sendable { var atLatent = 0 }
        let resident = Resident()
        var again = request
        again.stageFinished = { name in
            if name == "latent" { resident.atLatent = MappedFile.liveMappings(of: gpt).first?.residentBytes ?? 0 }
        }
        let second = try pipeline.synthesize(again)
        #expect(resident.atLatent > 0)  // generation and the latent pass read the GPT's pages back in
        #expect(MappedFile.liveMappings(of: gpt).first?.residentBytes == 0)
        #expect(second.samples == first.samples)
    }
}
