import Foundation
import IndexTTS
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// Windowed streaming (issue 18): the window plan and the cross-fade as upstream's TensorRT backend
/// (`generate_chunks`, `StreamingDecoder`), then streamed syntheses on the tiny random model folder of
/// Tests/Fixtures/e2e (24 codes per segment, so windows of 8 codes with overlap 2).
@Suite(.serialized) struct IndexTTS2StreamingTests {
    // MARK: Plan and stitching (no model)

    @Test func windowPlanFollowsGenerateChunks() {
        var plan = StreamWindowPlan(options: StreamingOptions(chunkSize: 8, overlapSize: 2))
        var windows: [Range<Int>] = []
        for n in 1...24 { windows += plan.ready(available: n) }
        #expect(windows == [0..<8, 6..<14, 12..<20])
        #expect(plan.finalWindow(total: 24) == 18..<24)
        // Upstream's shipped configuration: stride 95.
        var upstream = StreamWindowPlan(options: StreamingOptions())
        #expect(upstream.ready(available: 99).isEmpty)
        #expect(upstream.ready(available: 100) == [0..<100])
        #expect(upstream.ready(available: 195) == [95..<195])
        #expect(upstream.finalWindow(total: 201) == 190..<201)
        // A shorter first window, then full windows starting `overlap` codes before the previous end.
        var short = StreamWindowPlan(options: StreamingOptions(chunkSize: 8, overlapSize: 2, firstChunkSize: 4))
        #expect(short.ready(available: 24) == [0..<4, 2..<10, 8..<16, 14..<22])
        #expect(short.finalWindow(total: 24) == 20..<24)
        // A generation shorter than one window is one final window; nothing past the last start gives none.
        #expect(StreamWindowPlan(options: StreamingOptions(chunkSize: 8, overlapSize: 2)).finalWindow(total: 5) == 0..<5)
        #expect(plan.finalWindow(total: 18) == nil)
    }

    @Test func optionsValidateAndDecode() throws {
        #expect(throws: SynthesisError.self) { try StreamingOptions(chunkSize: 4, overlapSize: 4).validate() }
        #expect(throws: SynthesisError.self) { try StreamingOptions(chunkSize: 8, overlapSize: 2, firstChunkSize: 2).validate() }
        #expect(throws: SynthesisError.self) { try StreamingOptions(chunkSize: 8, overlapSize: 2, firstChunkSize: 9).validate() }
        try StreamingOptions(chunkSize: 8, overlapSize: 2, firstChunkSize: 3).validate()
        let decoder = JSONDecoder()
        #expect(try decoder.decode(StreamingOptions.self, from: Data("true".utf8)) == StreamingOptions())
        #expect(try decoder.decode(StreamingOptions.self, from: Data("false".utf8)).enabled == false)
        let object = try decoder.decode(StreamingOptions.self, from: Data(#"{"chunk_size": 50, "first_chunk_size": 25}"#.utf8))
        #expect(object == StreamingOptions(chunkSize: 50, overlapSize: 5, firstChunkSize: 25))
    }

    @Test func hanningIsNumpys() {
        // np.hanning(4) = [0, 0.75, 0.75, 0]; np.hanning(5) = [0, 0.5, 1, 0.5, 0].
        #expect(CrossFadeStitcher.hanning(4).map { ($0 * 1e12).rounded() / 1e12 } == [0, 0.75, 0.75, 0])
        #expect(CrossFadeStitcher.hanning(5).map { ($0 * 1e12).rounded() / 1e12 } == [0, 0.5, 1, 0.5, 0])
        #expect(CrossFadeStitcher.hanning(1) == [1])
    }

    @Test func stitchingJoinsAsStreamingDecoder() {
        // Three windows of 10, 10 and 7 samples, overlap 3: 10 − 3 + (10 − 3) + 7 = 21 samples.
        var stitcher = CrossFadeStitcher(overlap: 3)
        let a = [Float](repeating: 1, count: 10), b = [Float](repeating: 2, count: 10), c = [Float](repeating: 3, count: 7)
        let first = stitcher.add(a, isLast: false)
        #expect(first == [Float](repeating: 1, count: 7))
        let second = stitcher.add(b, isLast: false)
        let w = CrossFadeStitcher.hanning(6)  // fade_in = w[0..<3], fade_out = w[3..<6]
        let blended = (0..<3).map { Float(1 * w[3 + $0] + 2 * w[$0]) }
        #expect(second == blended + [Float](repeating: 2, count: 4))
        let last = stitcher.add(c, isLast: true)
        #expect(last.count == 7)
        #expect(first.count + second.count + last.count == 21)
        #expect(stitcher.finish().isEmpty)
        // A single window only gets the fade-out: the last 512 samples times linspace(1, 0, 512).
        var single = CrossFadeStitcher(overlap: 3)
        let faded = single.add([Float](repeating: 1, count: 600), isLast: true)
        #expect(faded.count == 600 && faded[87] == 1 && faded[88] == 1 && faded[599] == 0)
        #expect(abs(faded[88 + 255] - Float(1 - 255.0 / 511)) < 1e-6)
        // A stream that ends without a last window flushes its tail with the fade-out.
        var open = CrossFadeStitcher(overlap: 3)
        _ = open.add(a, isLast: false)
        #expect(open.finish() == [1, 1, 1])
    }

    // MARK: Streamed syntheses on the tiny model

    static func pipeline() throws -> IndexTTS2Pipeline { try IndexTTS2PipelineTests.pipeline() }

    /// The analysed fixture voice, shared by the tests (w2v-BERT runs once).
    static let conditioning = Result { () throws -> IndexTTS2SpeakerConditioning in
        try pipeline().analyzeSpeaker(IndexTTS2Clip.load(path: Fixtures.path("e2e/ref.wav"))).conditioning
    }

    /// One segment of the `default` case, exactly 24 codes, windows of 8 codes with overlap 2.
    static func request(beams: Int = 1, streaming: StreamingOptions? = StreamingOptions(chunkSize: 8, overlapSize: 2))
        throws -> IndexTTS2Request {
        let run = try Fixtures.json("e2e/default/run.json", as: IndexTTS2PipelineTests.Run.self)
        var request = IndexTTS2Request(text: run.infer.text, speaker: IndexTTS2Clip(samples: [], sampleRate: 22_050))
        request.segmentTokens = [run.segment_tokens[0]]
        request.speakerConditioning = try conditioning.get()
        request.sampling.numBeams = beams
        request.sampling.topK = beams == 1 ? 1 : 30
        request.sampling.maxMelTokens = 24
        request.sampling.minMelTokens = 24
        request.sampling.seed = 11
        request.sampling.diffusionSteps = 4  // the windows' arithmetic and seams, not the CFM, are under test
        request.streaming = streaming
        return request
    }

    /// Expected streamed length: every window's `int(n·1.72)` frames of audio, less one overlap per join.
    static func streamedFrames(codes: Int, options: StreamingOptions) -> Int {
        var plan = StreamWindowPlan(options: options)
        var windows = plan.ready(available: codes)
        if let last = plan.finalWindow(total: codes) { windows.append(last) }
        let overlap = options.overlapSize == 0 ? 0 : LengthRegulator.targetFrames(codes: options.overlapSize)
        return windows.map { LengthRegulator.targetFrames(codes: $0.count) }.reduce(0, +) - (windows.count - 1) * overlap
    }

    /// Serialises what the progress callback saw.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var _chunks: [[Float]] = []
        private var _windows: [IndexTTS2StreamWindow?] = []
        private var _gptSteps = 0
        private var _stepsAtFirstDelivery: Int? = nil
        let firstDelivered = DispatchSemaphore(value: 0)

        func deliver(_ p: IndexTTS2Pipeline.Progress) {
            lock.withLock {
                if _stepsAtFirstDelivery == nil {
                    _stepsAtFirstDelivery = _gptSteps
                    firstDelivered.signal()
                }
                _chunks.append(p.chunk)
                _windows.append(p.window)
            }
        }
        func step() -> Int { lock.withLock { _gptSteps += 1; return _gptSteps } }
        var chunks: [[Float]] { lock.withLock { _chunks } }
        var windows: [IndexTTS2StreamWindow?] { lock.withLock { _windows } }
        var gptSteps: Int { lock.withLock { _gptSteps } }
        var stepsAtFirstDelivery: Int? { lock.withLock { _stepsAtFirstDelivery } }
    }

    /// The GPT's steps are counted from its own thread (`isCancelled` is polled once per step there, and by the
    /// renderer on the calling thread); at step 16 the GPT waits until the first window has been delivered. A
    /// pipeline that rendered only after generation would never deliver it there: the wait would time out.
    @Test func windowsArriveWhileTheGPTGenerates() throws {
        let recorder = Recorder()
        let caller = CallerThread()
        let timedOut = StreamFlagBox()
        var request = try Self.request()
        request.isCancelled = {
            if caller.isCurrent { return false }
            if recorder.step() == 16, recorder.firstDelivered.wait(timeout: .now() + 60) == .timedOut { timedOut.set() }
            return false
        }
        let output = try Self.pipeline().synthesize(request) { recorder.deliver($0) }
        #expect(!timedOut.isSet, "the first window was not delivered while the GPT was generating")
        let atFirst = try #require(recorder.stepsAtFirstDelivery)
        #expect(atFirst < 24, "first audio after \(atFirst) of 24 GPT steps")
        // Windows [0,8) [6,14) [12,20) and the final [18,24), each delivered with its audio.
        #expect(output.streamWindows.map(\.codeRange) == [0..<8, 6..<14, 12..<20, 18..<24])
        #expect(recorder.windows.compactMap { $0?.codeRange } == [0..<8, 6..<14, 12..<20, 18..<24])
        #expect(output.segments.first?.codes.count == 24)
        // The streamed audio: the chunks concatenated are the output, of the length the plan gives.
        #expect(recorder.chunks.flatMap { $0 } == output.samples)
        let frames = Self.streamedFrames(codes: 24, options: StreamingOptions(chunkSize: 8, overlapSize: 2))
        #expect(output.samples.count == frames * 256, "\(output.samples.count) samples, expected \(frames) frames")
        #expect(output.samples.allSatisfy { $0.isFinite && abs($0) <= 32767 })
        #expect(output.timeToFirstAudio > 0 && output.timeToFirstAudio < output.streamWindows.last!.deliveredAt)
    }

    /// Windows with beams (the running best beam's codes) and with a shorter first window keep the arithmetic; two
    /// segments restart the window stream after the interval silence.
    @Test func beamsFirstWindowAndSegments() throws {
        var request = try Self.request(beams: 3, streaming: StreamingOptions(chunkSize: 8, overlapSize: 2, firstChunkSize: 4))
        let run = try Fixtures.json("e2e/default/run.json", as: IndexTTS2PipelineTests.Run.self)
        request.segmentTokens = [run.segment_tokens[0], run.segment_tokens[0]]
        var chunks: [[Float]] = []
        let output = try Self.pipeline().synthesize(request) { chunks.append($0.chunk) }
        #expect(chunks.flatMap { $0 } == output.samples)
        let perSegment = output.streamWindows.filter { $0.segment == 0 }.map(\.codeRange)
        #expect(perSegment == [0..<4, 2..<10, 8..<16, 14..<22, 20..<24])
        let frames = Self.streamedFrames(codes: 24, options: StreamingOptions(chunkSize: 8, overlapSize: 2, firstChunkSize: 4))
        let silence = Int(Double(IndexTTS2Pipeline.sampleRate) * 0.2)
        #expect(output.samples.count == 2 * frames * 256 + silence)
        #expect(output.streamWindows.first { $0.segment == 1 }?.outputStart == frames * 256 + silence)
    }

    /// Cancellation stops the GPT within one step: the step that sees it is the last one run.
    @Test func cancellationStopsTheGPTWithinOneStep() throws {
        let recorder = Recorder()
        let caller = CallerThread()
        var request = try Self.request()
        request.isCancelled = {
            if caller.isCurrent { return false }
            return recorder.step() >= 10
        }
        #expect(throws: IndexTTS2Error.cancelled) { try Self.pipeline().synthesize(request) { recorder.deliver($0) } }
        #expect(recorder.gptSteps == 10)
        // Without streaming as well.
        let whole = Recorder()
        request.streaming = nil
        request.isCancelled = { whole.step() >= 5 }
        #expect(throws: IndexTTS2Error.cancelled) { try Self.pipeline().synthesize(request) }
        #expect(whole.gptSteps == 5)
    }

    /// The seams: the streamed synthesis against the same codes rendered whole, from the same CFM start noise (each
    /// window's noise is the whole noise's columns at its frames). Reported: per-window mel distance (mean |Δ| of the
    /// log-mel against the whole mel at the window's frames) and waveform SNR outside and inside the cross-fades,
    /// each beside the same measure between two whole renderings from different noise (what "unrelated audio"
    /// scores on this random model). The whole reference uses the generation's hidden states as the stream does;
    /// the latent pass (what an unstreamed synthesis uses) is reported too.
    @Test func seamsAgainstTheWholeSynthesis() throws {
        var request = try Self.request(streaming: StreamingOptions(chunkSize: 8, overlapSize: 2))
        let seams = try Self.pipeline().measureStreamSeams(request, codes: 24, noiseSeed: 5, unrelatedSeed: 6)
        #expect(seams.codesUnchanged, "streaming changed the codes")
        print("IndexTTS2 streaming seams (tiny model, chunk 8, overlap 2, 24 codes): "
              + seams.windows.map { String(format: "window %d codes %d..<%d mel |Δ| %.4f", $0.index, $0.codes[0], $0.codes[1], $0.melDistance) }
                .joined(separator: "; ")
              + String(format: "; unrelated noise mel |Δ| %.4f", seams.unrelatedMelDistance)
              + String(format: "; SNR outside cross-fades %.2f dB (%d samples), inside %.2f dB (%d samples), unrelated noise %.2f dB",
                       seams.snrOutsideCrossFades, seams.samplesOutside, seams.snrInsideCrossFades, seams.samplesInside,
                       seams.snrUnrelated)
              + String(format: "; whole latent pass vs whole generation hidden states: SNR %.2f dB, mel |Δ| %.4f",
                       seams.snrLatentVersusHidden ?? .nan, seams.melLatentVersusHidden ?? .nan))
        #expect(seams.snrLatentVersusHidden != nil && seams.melLatentVersusHidden != nil)  // 2.0 has a latent pass
        #expect(seams.windows.map(\.codes) == [[0, 8], [6, 14], [12, 20], [18, 24]])
        for window in seams.windows {
            // Measured 0.010–0.021 against 1.10 for unrelated noise (4 CFM steps).
            #expect(window.melDistance < 0.1 * seams.unrelatedMelDistance,
                    "window \(window.index): mel distance \(window.melDistance), unrelated \(seams.unrelatedMelDistance)")
        }
        #expect(seams.samplesOutside > seams.samplesInside && seams.samplesInside > 0)
        #expect(seams.snrOutsideCrossFades.isFinite && seams.snrInsideCrossFades.isFinite)
        // Measured 11.9 dB outside and 6.7 dB inside the cross-fades, 1.4 dB for unrelated noise.
        #expect(seams.snrOutsideCrossFades > seams.snrUnrelated + 6,
                "outside the cross-fades \(seams.snrOutsideCrossFades) dB vs unrelated \(seams.snrUnrelated) dB")
        #expect(seams.snrInsideCrossFades > seams.snrUnrelated + 3,
                "inside the cross-fades \(seams.snrInsideCrossFades) dB vs unrelated \(seams.snrUnrelated) dB")
        // Bad requests are refused with a typed error: unstreamed, or without the conditioning.
        var unstreamed = request
        unstreamed.streaming = nil
        #expect(throws: IndexTTS2Error.self) { try Self.pipeline().measureStreamSeams(unstreamed, codes: 24) }
        request.speakerConditioning = nil
        #expect(throws: IndexTTS2Error.self) { try Self.pipeline().measureStreamSeams(request, codes: 24) }
    }
}

/// A flag shared with a `@Sendable` closure.
final class StreamFlagBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// The thread that created it (the test's, which runs the pipeline and receives its progress).
final class CallerThread: @unchecked Sendable {
    // @unchecked: the id is written once, at init.
    private let id = pthread_self()
    var isCurrent: Bool { pthread_equal(pthread_self(), id) != 0 }
}
