import Foundation
import IndexTTS
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// Windowed streaming of IndexTTS-2.5 on the tiny 2.5 folder of Tests/Fixtures/e2e25 (codec of 2 ConvNeXt blocks:
/// context radius 10 codes): the plan and cross-fade of IndexTTS2's streaming, with each window's content decoded by
/// the codec from the window and its context codes. Upstream has no 2.5 streaming; the reference is our whole
/// synthesis, whose every stage matches upstream's `infer_v2_5` (IndexTTS25PipelineTests).
@Suite(.serialized) struct IndexTTS25StreamingTests {
    static func pipeline() throws -> IndexTTS2Pipeline { try IndexTTS25PipelineTests.pipeline() }

    static let conditioning = Result { () throws -> IndexTTS2SpeakerConditioning in
        try pipeline().analyzeSpeaker(IndexTTS2Clip.load(path: Fixtures.path("e2e25/ref.wav"))).conditioning
    }

    /// One English segment, exactly 40 codes (greedy), 4 CFM steps, windows of 12 codes with overlap 2.
    static func request(_ streaming: StreamingOptions? = StreamingOptions(chunkSize: 12, overlapSize: 2)) throws -> IndexTTS2Request {
        let run = try Fixtures.json("e2e25/english/run.json", as: IndexTTS25PipelineTests.Run.self)
        var request = IndexTTS2Request(text: run.infer.text, speaker: IndexTTS2Clip(samples: [], sampleRate: 22_050))
        request.language = run.infer.lang
        request.segmentIDs = run.segment_ids
        request.speakerConditioning = try conditioning.get()
        request.sampling.numBeams = 1
        request.sampling.topK = 1
        request.sampling.maxMelTokens = 40
        request.sampling.minMelTokens = 40
        request.sampling.seed = 11
        request.sampling.diffusionSteps = 4
        request.recordStages = true
        request.streaming = streaming
        return request
    }

    /// 2.5's mel frames for n codes: `int(2n·1.72)`.
    static func frames(_ codes: Int) -> Int { IndexTTS2Pipeline.targetFrames(contentFrames: 2 * codes, durationFactor: 1) }

    /// With the default lookahead (the codec's context radius) every window's content is the whole segment's decode at
    /// its frames; the GPT hands a window over once its lookahead exists, and the windows still waiting when it stops
    /// render from the finished codes. Streaming leaves the codes as the whole synthesis makes them.
    @Test func windowsDecodeWithTheirWholeContext() throws {
        let pipeline = try Self.pipeline()
        let radius = try #require(pipeline.enhancedCodec?.contextRadius)
        #expect(radius == 10)
        let recorder = IndexTTS2StreamingTests.Recorder()
        let caller = CallerThread()
        let timedOut = StreamFlagBox()
        var request = try Self.request()
        // At step 30 the GPT waits for the first window's audio (a pipeline that rendered only after generation would
        // never deliver it there).
        request.isCancelled = {
            if caller.isCurrent { return false }
            if recorder.step() == 30, recorder.firstDelivered.wait(timeout: .now() + 60) == .timedOut { timedOut.set() }
            return false
        }
        let streamed = try pipeline.synthesize(request) { recorder.deliver($0) }
        var wholeRequest = try Self.request(nil)
        wholeRequest.streaming = nil
        let whole = try pipeline.synthesize(wholeRequest)
        #expect(streamed.segments.map(\.codes) == whole.segments.map(\.codes))
        #expect(streamed.segments.first?.codes.count == 40)

        // Windows [0,12) [10,22) [20,32) and the final [30,40); each decoded 10 codes either side where they exist.
        #expect(streamed.streamWindows.map(\.codeRange) == [0..<12, 10..<22, 20..<32, 30..<40])
        #expect(streamed.streamWindows.map(\.contextRange) == [0..<22, 0..<32, 10..<40, 20..<40])
        // The first window went out once code 22 existed, while the GPT still had 18 codes to go.
        #expect(!timedOut.isSet, "the first window was not delivered while the GPT was generating")
        let atFirst = try #require(recorder.stepsAtFirstDelivery)
        #expect(atFirst >= 22 && atFirst <= 30, "first audio after \(atFirst) of 40 GPT steps")
        let content = try #require(whole.stages["S_infer"])  // [1, 80, hidden]
        for window in streamed.streamWindows {
            let got = try #require(window.content)
            let r = window.codeRange
            expectClose(got, try content.sliced(axis: 1, range: (2 * r.lowerBound)..<(2 * r.upperBound)).contiguous(),
                        "window \(r): content against the whole decode")
            #expect(window.frameOffset == (r.lowerBound == 0 ? 0 : Self.frames(r.lowerBound)))
            #expect(window.frames == Self.frames(r.count))
        }
        // The chunks are the output; its length is the windows' frames less one overlap (int(2·2·1.72) = 6 frames)
        // per join.
        #expect(recorder.chunks.flatMap { $0 } == streamed.samples)
        let expectedFrames = [12, 12, 12, 10].map(Self.frames).reduce(0, +) - 3 * Self.frames(2)
        #expect(streamed.samples.count == expectedFrames * 256)
        #expect(streamed.samples.allSatisfy { $0.isFinite && abs($0) <= 32767 })
    }

    /// A shorter lookahead renders earlier, and the content near each interior window's end then differs from the
    /// whole decode (padding where later codes would be) — what the default's whole radius avoids.
    @Test func aShorterLookaheadRendersEarlierWithEdgeDifferences() throws {
        let pipeline = try Self.pipeline()
        let recorder = IndexTTS2StreamingTests.Recorder()
        let caller = CallerThread()
        let timedOut = StreamFlagBox()
        var request = try Self.request(StreamingOptions(chunkSize: 12, overlapSize: 2, lookahead: 0))
        request.isCancelled = {
            if caller.isCurrent { return false }
            if recorder.step() == 20, recorder.firstDelivered.wait(timeout: .now() + 60) == .timedOut { timedOut.set() }
            return false
        }
        let streamed = try pipeline.synthesize(request) { recorder.deliver($0) }
        #expect(streamed.streamWindows.map(\.contextRange) == [0..<12, 0..<22, 10..<32, 20..<40])
        #expect(!timedOut.isSet, "the first window was not delivered while the GPT was generating")
        let atFirst = try #require(recorder.stepsAtFirstDelivery)
        #expect(atFirst >= 12 && atFirst <= 20, "first audio after \(atFirst) GPT steps")
        var whole = try Self.request(nil)
        whole.streaming = nil
        let content = try #require(try pipeline.synthesize(whole).stages["S_infer"])
        let first = try #require(streamed.streamWindows.first?.content)
        let expected = try content.sliced(axis: 1, range: 0..<24).contiguous()
        let gap = zip(first.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(gap > 1e-3, "the first window's content without lookahead differs by only \(gap)")
        // A lookahead past the radius only delays the windows: the codec still reads at most 10 codes after each.
        let longer = try pipeline.synthesize(try Self.request(StreamingOptions(chunkSize: 12, overlapSize: 2, lookahead: 15)))
        #expect(longer.streamWindows.map(\.contextRange) == [0..<22, 0..<32, 10..<40, 20..<40])
        // Its first frames are far enough from the edge to be exact.
        expectClose(try first.sliced(axis: 1, range: 0..<2).contiguous(), try expected.sliced(axis: 1, range: 0..<2).contiguous(),
                    "frames a radius away from the window's end")
    }

    /// The seam measurement on 2.5 (IndexTTS2StreamingTests.seamsAgainstTheWholeSynthesis): the streamed windows
    /// against the same codes rendered whole from the same noise, beside two whole renderings from different noise.
    @Test func seamsAgainstTheWholeSynthesis() throws {
        let request = try Self.request()
        let seams = try Self.pipeline().measureStreamSeams(request, codes: 40, noiseSeed: 5, unrelatedSeed: 6)
        #expect(seams.codesUnchanged, "streaming changed the codes")
        #expect(seams.snrLatentVersusHidden == nil && seams.melLatentVersusHidden == nil)  // no latent pass in 2.5
        print("IndexTTS-2.5 streaming seams (tiny model, chunk 12, overlap 2, lookahead 10, 40 codes): "
              + seams.windows.map { String(format: "window %d codes %d..<%d mel |Δ| %.4f", $0.index, $0.codes[0], $0.codes[1], $0.melDistance) }
                .joined(separator: "; ")
              + String(format: "; unrelated noise mel |Δ| %.4f", seams.unrelatedMelDistance)
              + String(format: "; SNR outside cross-fades %.2f dB (%d samples), inside %.2f dB (%d samples), unrelated noise %.2f dB",
                       seams.snrOutsideCrossFades, seams.samplesOutside, seams.snrInsideCrossFades, seams.samplesInside,
                       seams.snrUnrelated))
        #expect(seams.windows.map(\.codes) == [[0, 12], [10, 22], [20, 32], [30, 40]])
        for window in seams.windows {
            #expect(window.melDistance < 0.1 * seams.unrelatedMelDistance,
                    "window \(window.index): mel distance \(window.melDistance), unrelated \(seams.unrelatedMelDistance)")
        }
        #expect(seams.samplesOutside > seams.samplesInside && seams.samplesInside > 0)
        #expect(seams.snrOutsideCrossFades > seams.snrUnrelated + 6,
                "outside the cross-fades \(seams.snrOutsideCrossFades) dB vs unrelated \(seams.snrUnrelated) dB")
        #expect(seams.snrInsideCrossFades > seams.snrUnrelated + 3,
                "inside the cross-fades \(seams.snrInsideCrossFades) dB vs unrelated \(seams.snrUnrelated) dB")
    }
}
