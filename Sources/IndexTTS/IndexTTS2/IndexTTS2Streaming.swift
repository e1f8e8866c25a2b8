import Foundation
import IndexTTSModels
import IndexTTSTensor

// Windowed streaming of IndexTTS2 (issue 18), after upstream's TensorRT backend (`backends/trt`, 2.0 only):
// `runtime/gpt_trtllm_runtime.py:generate_chunks` cuts the growing code sequence into windows,
// `pipeline/pipeline.py:_codes_to_audio_batch` renders each window on its own (gpt_layer(hidden) + vq2emb(codes),
// length regulator to int(n·1.72) frames, CFM with the full speaker prompt, BigVGAN), and
// `pipeline/streaming.py:StreamingDecoder.generate` joins them with a Hann cross-fade.
// IndexTTS-2.5 (no upstream streaming) uses the same plan and stitching; its window content is the codec's decode of
// the window with context codes on both sides (`EnhancedCodec.decode(codes:keeping:)`), so a window waits for
// `lookahead` codes past its end.

/// Which code windows a segment's stream renders (`generate_chunks`): the first window is
/// `[0, firstChunkSize)`; every later one starts `overlapSize` codes before the previous one ended and is
/// `chunkSize` long; after the GPT stops, the codes from the last start to the end form the final window. With
/// `firstChunkSize == chunkSize` window k is `[k·stride, k·stride + chunk)`, `stride = chunk − overlap`, as upstream.
public struct StreamWindowPlan: Sendable, Equatable {
    public let options: StreamingOptions
    /// Start and end (exclusive) of the next window, in codes.
    public private(set) var start = 0
    public private(set) var end: Int

    public init(options: StreamingOptions) {
        self.options = options
        end = options.firstWindow
    }

    /// The windows that are complete once `available` codes exist (in order; usually none or one).
    public mutating func ready(available: Int) -> [Range<Int>] {
        var windows: [Range<Int>] = []
        while available >= end {
            windows.append(start..<end)
            start = end - options.overlapSize
            end = start + options.chunkSize
        }
        return windows
    }

    /// The final window once generation ended with `total` codes; nil when it would hold no code past `start` (a
    /// beam search whose best hypothesis ended shorter than what was already streamed).
    public func finalWindow(total: Int) -> Range<Int>? {
        start < total ? start..<total : nil
    }
}

/// Joins window audio as `StreamingDecoder.generate` does. `overlap` = the overlap codes' samples
/// (`int(overlap·1.72·df)·256` for IndexTTS2, `int(2·overlap·1.72·df)·256` for IndexTTS-2.5). First window: all but its last `overlap` samples are final, the rest is kept as the tail.
/// Later windows: `tail·fade_out + head·fade_in` over `min(tail, overlap)` samples (`fade_in, fade_out =
/// hanning(2n)[:n], hanning(2n)[n:]`), then the window's body, keeping its last `overlap` samples as the new tail.
/// The last window (and a tail left over) ends with a 512-sample linear fade-out. Samples in [−1, 1].
///
/// One deviation: where a window is shorter than two overlaps (only when `chunk < 2·overlap` in codes), numpy's
/// negative split index is replaced by 0 (the whole body becomes the tail).
public struct CrossFadeStitcher: Sendable {
    public let overlap: Int
    /// `_fade_out_tail`'s length.
    public static let fadeOutSamples = 512
    private var tail: [Float]? = nil

    public init(overlap: Int) { self.overlap = max(0, overlap) }

    /// `np.hanning(m)`: `0.5 − 0.5·cos(2πk/(m−1))`, `[1]` for m = 1.
    public static func hanning(_ m: Int) -> [Double] {
        guard m > 1 else { return m == 1 ? [1] : [] }
        return (0..<m).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(m - 1)) }
    }

    /// `_crossfade(tail, head)`.
    public static func crossFade(tail: ArraySlice<Float>, head: ArraySlice<Float>) -> [Float] {
        let n = min(tail.count, head.count)
        guard n > 0 else { return [] }
        let window = hanning(2 * n)
        let (t, h) = (Array(tail.prefix(n)), Array(head.prefix(n)))
        return (0..<n).map { Float(Double(t[$0]) * window[n + $0] + Double(h[$0]) * window[$0]) }
    }

    /// `_fade_out_tail`: the last 512 samples times `linspace(1, 0, 512)`; shorter audio unchanged.
    public static func fadeOutTail(_ audio: [Float]) -> [Float] {
        let n = fadeOutSamples
        guard audio.count > n else { return audio }
        var out = audio
        for k in 0..<n { out[audio.count - n + k] *= Float(1 - Double(k) / Double(n - 1)) }
        return out
    }

    /// Samples that are final once `audio` (the next window's) is known. After `isLast` the stitcher is empty again.
    public mutating func add(_ audio: [Float], isLast: Bool) -> [Float] {
        guard let previous = tail else {
            if isLast { return Self.fadeOutTail(audio) }
            let split = max(0, audio.count - overlap)
            tail = Array(audio[split...])
            return Array(audio[..<split])
        }
        let headCount = min(overlap, audio.count)
        let blended = Self.crossFade(tail: previous[...], head: audio[..<headCount])
        let rest = audio[headCount...]
        if isLast {
            tail = nil
            return Self.fadeOutTail(blended + rest)
        }
        let split = max(0, rest.count - overlap)
        tail = Array(rest.dropFirst(split))
        return blended + rest.prefix(split)
    }

    /// The leftover tail with the fade-out (when the stream ended without a last window).
    public mutating func finish() -> [Float] {
        defer { tail = nil }
        return tail.map(Self.fadeOutTail) ?? []
    }
}

/// One rendered window of a streamed segment.
public struct IndexTTS2StreamWindow: Sendable {
    public var segment: Int
    /// Window number within its segment.
    public var index: Int
    /// Code positions it rendered, within the segment's codes.
    public var codeRange: Range<Int>
    /// IndexTTS-2.5: the codes its codec decode read (the window with its context), within the segment's codes;
    /// nil for IndexTTS2.
    public var contextRange: Range<Int>?
    /// The codes it rendered (with beams: the running best beam's when the window was cut).
    public var codes: [Int]
    /// Mel frame of its first code in a whole-segment rendering (`int(start·1.72·df)`; IndexTTS-2.5
    /// `int(2·start·1.72·df)`), and its own frames (`int(n·1.72·df)`; IndexTTS-2.5 `int(2n·1.72·df)`).
    public var frameOffset: Int
    public var frames: Int
    /// Index in ``IndexTTS2Output/samples`` of the first sample it made final (after a segment's leading silence),
    /// and how many (its cross-fade with the previous window first, unless it is the segment's first window).
    public var outputStart: Int
    public var emitted: Int
    /// Samples of the cross-fade at ``outputStart`` (0 for a segment's first window).
    public var crossFade: Int
    public var isLast: Bool
    /// Seconds from the call until its audio was delivered, and spent rendering it (S2M + BigVGAN).
    public var deliveredAt: Double
    public var renderSeconds: Double
    /// With ``IndexTTS2Request/recordStages``: its CFM output `vc_target`, `[1, mels, frames]`.
    public var mel: Tensor?
    /// With ``IndexTTS2Request/recordStages``: its S2M content `S_infer`, `[1, content frames, hidden]` (IndexTTS2:
    /// one frame per code; IndexTTS-2.5: two).
    public var content: Tensor?
}

/// Hands items from the GPT's thread to the renderer's, in order, blocking the receiver until one arrives.
final class StreamChannel<Item: Sendable>: @unchecked Sendable {
    // @unchecked: every access to `items` holds `condition`'s lock.
    private let condition = NSCondition()
    private var items: [Item] = []

    func send(_ item: Item) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    func receive() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        return items.removeFirst()
    }
}

/// A flag set once by one thread and read by another.
final class StreamFlag: @unchecked Sendable {
    // @unchecked: every access to `value` holds `lock`.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

extension IndexTTS2Pipeline {
    /// What one window renders from: its codes and, for IndexTTS2, the GPT hidden states that predicted them; for
    /// IndexTTS-2.5 the codes its codec decode reads around it.
    struct WindowInput: Sendable {
        /// The window, in the segment's codes.
        var range: Range<Int>
        var codes: [Int]
        /// IndexTTS2: `[1, codes.count, model_dim]`.
        var hidden: Tensor?
        /// IndexTTS-2.5: the decoded stretch (the window and its context), in the segment's codes, and its codes.
        var context: Range<Int>
        var contextCodes: [Int]
    }

    /// The window `range` of a segment whose first `available.count` codes exist (its hidden states in `hidden`,
    /// IndexTTS2), with IndexTTS-2.5's codec context: ``EnhancedCodec/contextRadius`` codes before it and up to
    /// `min(lookahead, contextRadius)` after it, as far as they exist (codes past the radius cannot change its
    /// features, so a longer lookahead only delays the window).
    func windowInput(_ range: Range<Int>, codes available: ArraySlice<Int>, hidden: (Range<Int>) throws -> Tensor?,
                     lookahead: Int) throws -> WindowInput {
        let codes = Array(available[range])
        guard let enhancedCodec else {
            return WindowInput(range: range, codes: codes, hidden: try hidden(range), context: range, contextCodes: codes)
        }
        let radius = enhancedCodec.contextRadius
        let context = max(0, range.lowerBound - radius)..<min(available.count, range.upperBound + min(lookahead, radius))
        return WindowInput(range: range, codes: codes, hidden: nil, context: context, contextCodes: Array(available[context]))
    }

    /// Codes past a window's end that must exist before it renders: IndexTTS-2.5's `lookahead` (the codec's context
    /// radius when unset); 0 for IndexTTS2, whose content is per code.
    func streamLookahead(_ options: StreamingOptions) -> Int {
        guard let enhancedCodec else { return 0 }
        return options.lookahead ?? enhancedCodec.contextRadius
    }

    /// `options` as this model applies them (for reports): IndexTTS-2.5 with its lookahead filled in (the codec's
    /// context radius when unset), IndexTTS2 without one (it ignores it).
    public func appliedStreaming(_ options: StreamingOptions) -> StreamingOptions {
        var applied = options
        applied.lookahead = enhancedCodec == nil ? nil : streamLookahead(options)
        return applied
    }

    /// A window's S2M content `S_infer` `[1, content frames, hidden]`: IndexTTS2's `vq2emb(codes) + gpt_layer(hidden)`,
    /// or IndexTTS-2.5's codec decode of the context cropped to the window.
    func windowContent(_ input: WindowInput) throws -> Tensor {
        if let enhancedCodec {
            let keep = (input.range.lowerBound - input.context.lowerBound)..<(input.range.upperBound - input.context.lowerBound)
            return try enhancedCodec.decode(codes: input.contextCodes, keeping: keep)
        }
        guard let semanticCodec, let hidden = input.hidden, hidden.rank == 3, hidden.shape[0] == 1,
              hidden.shape[1] == input.codes.count else {
            throw IndexTTS2Error.invalidRequest("window of \(input.codes.count) codes needs the GPT's hidden states [1, \(input.codes.count), model_dim]")
        }
        return try semanticCodec.embeddings(codes: [input.codes]).adding(s2m.requireGPTLayer()(hidden))
    }

    /// Mel frames of `codes` codes in a window (and of the codes before a window, its frame offset): IndexTTS2's
    /// `int(n·1.72·df)`, IndexTTS-2.5's `int(2n·1.72·df)`.
    func windowFrames(codes: Int, durationFactor: Double) -> Int {
        guard let enhancedCodec else { return Self.targetFrames(codes: codes, durationFactor: durationFactor) }
        return Self.targetFrames(contentFrames: enhancedCodec.configuration.downsampleScale * codes, durationFactor: durationFactor)
    }

    /// Renders one window of codes as `_codes_to_audio_batch` does: its content (``windowContent``), the length
    /// regulator to ``windowFrames(codes:durationFactor:)`` frames, CFM over `[prompt_condition, cond]` with the full
    /// speaker prompt, BigVGAN, cropped to `frames·hop` samples. Also renders a whole segment when given all its codes.
    /// - Parameters:
    ///   - hiddenStates: IndexTTS2: `[1, codes.count, model_dim]`, the GPT's final-normed states that predicted the
    ///     codes (the latent pass' output, or generation's hidden states standing in for it). IndexTTS-2.5 ignores
    ///     them (nil is fine) and decodes `codes` as a whole.
    ///   - noise: CFM start noise `[1, mels, prompt + frames]`; nil draws it from `seed`.
    /// - Returns: the mel `[1, mels, frames]` and the samples in [−1, 1].
    public func renderWindow(codes: [Int], hiddenStates: Tensor?, promptCondition: Tensor, referenceMel refMel: Tensor,
                             style: Tensor, sampling: IndexTTS2Sampling, durationFactor: Double = 1, noise: Tensor? = nil,
                             seed: UInt64 = 0) throws -> (mel: Tensor, samples: [Float]) {
        guard !codes.isEmpty else { throw IndexTTS2Error.invalidRequest("a window needs at least one code") }
        var clock = StageClock()
        let input = WindowInput(range: 0..<codes.count, codes: codes, hidden: hiddenStates, context: 0..<codes.count,
                                contextCodes: codes)
        let r = try renderWindow(input, promptCondition: promptCondition, refMel: refMel, style: style, sampling: sampling,
                                 durationFactor: durationFactor, noise: noise, seed: seed, clock: &clock)
        return (r.mel, r.samples)
    }

    func renderWindow(_ input: WindowInput, promptCondition: Tensor, refMel: Tensor, style: Tensor,
                      sampling: IndexTTS2Sampling, durationFactor: Double, noise: Tensor?, seed: UInt64,
                      clock: inout StageClock) throws -> (content: Tensor, mel: Tensor, samples: [Float]) {
        let frames = windowFrames(codes: input.codes.count, durationFactor: durationFactor)
        let content = try clock.measure("s2m") { try windowContent(input) }
        let catCondition = try clock.measure("s2m") { () throws -> Tensor in
            try Tensor.concatenate([promptCondition, try s2m.lengthRegulator(content, frames: frames)], axis: 1)
        }
        let mel = try clock.measure("s2m") {
            try s2m.flow.generate(mu: catCondition, promptMel: refMel, style: style, steps: sampling.diffusionSteps,
                                  guidanceRate: sampling.inferenceCfgRate, noise: noise, seed: seed)
        }
        let samples = try clock.measure("bigvgan") { try bigvgan(mel).scalars }
        return (content, mel, Array(samples.prefix(frames * bigvgan.hopLength)))
    }

    /// A window's CFM start noise cut from a whole segment's `[1, mels, prompt + frames]`: the prompt's columns, then
    /// the window's frames from `frameOffset` (so a streamed and a whole rendering start from the same noise).
    static func windowNoise(_ noise: Tensor, promptFrames: Int, frameOffset: Int, frames: Int, segment: Int) throws -> Tensor {
        let need = promptFrames + frameOffset + frames
        guard noise.rank == 3, noise.shape[2] >= need else {
            throw IndexTTS2Error.invalidRequest(
                "CFM noise of segment \(segment) is \(noise.shape); a window at frame \(frameOffset) of \(frames) frames needs \(need) columns")
        }
        return try Tensor.concatenate([noise.sliced(axis: 2, range: 0..<promptFrames),
                                       noise.sliced(axis: 2, range: (promptFrames + frameOffset)..<need)], axis: 2).contiguous()
    }

    /// Samples of `codes` codes' frames (``windowFrames(codes:durationFactor:)``·hop; 0 for none): the cross-fade
    /// length of an overlap.
    func overlapSamples(codes: Int, durationFactor: Double) -> Int {
        codes == 0 ? 0 : windowFrames(codes: codes, durationFactor: durationFactor) * bigvgan.hopLength
    }

    enum StreamItem: Sendable {
        case window(WindowInput)
        case finished(GenerationResult, SeededRandomSource, plan: StreamWindowPlan, seconds: Double)
        case failed(any Error, seconds: Double)
    }

    /// What a streamed segment produced.
    struct StreamedSegment {
        var generation: GenerationResult
        var random: SeededRandomSource
        var windows: [IndexTTS2StreamWindow]
    }

    /// One segment, streamed: the GPT generates on a thread of its own and hands each complete window over (for
    /// IndexTTS-2.5 once its lookahead exists too); this thread renders the windows in order, joins them and passes
    /// every piece of final audio (int16 range; the segment's leading silence before its first piece) to `deliver`
    /// at once. When the GPT stops, the windows still waiting for their lookahead and the final window render from
    /// the finished codes.
    func streamSegment(index: Int, prompt: Tensor, options: GenerationOptions, random: SeededRandomSource,
                       streaming: StreamingOptions, promptCondition: Tensor, refMel: Tensor, style: Tensor,
                       sampling: IndexTTS2Sampling, durationFactor: Double, noise: Tensor?, leadingSilence: [Float],
                       outputOffset: Int, record: Bool, isCancelled: (@Sendable () -> Bool)?, callStart: UInt64,
                       clock: inout StageClock,
                       deliver: (_ chunk: [Float], _ window: IndexTTS2StreamWindow?) -> Void) throws -> StreamedSegment {
        let channel = StreamChannel<StreamItem>()
        let abandoned = StreamFlag()
        let lookahead = streamLookahead(streaming)
        // IndexTTS2's windows carry the hidden states that predicted their codes; IndexTTS-2.5's need only codes.
        let gptOptions = { var o = options; o.collectHiddenStates = enhancedCodec == nil; return o }()
        let gpt = self.gpt, width = gpt.configuration.modelDim, batcher = decodeBatcher, pipeline = self
        DispatchQueue.global(qos: .userInitiated).async {
            let start = DispatchTime.now().uptimeNanoseconds
            func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            var random = random
            var plan = StreamWindowPlan(options: streaming)
            do {
                let result = try gpt.generate(prompt: prompt, options: gptOptions, random: &random, batcher: batcher) { step in
                    if abandoned.isSet || isCancelled?() == true { throw IndexTTS2Error.cancelled }
                    for range in plan.ready(available: step.codes.count - lookahead) {
                        channel.send(.window(try pipeline.windowInput(range, codes: step.codes[...], hidden: { range in
                            try Tensor(shape: [1, range.count, width], scalars: step.hiddenStates[range].flatMap { $0 })
                        }, lookahead: lookahead)))
                    }
                }
                channel.send(.finished(result, random, plan: plan, seconds: seconds()))
            } catch {
                channel.send(.failed(error, seconds: seconds()))
            }
        }

        let promptFrames = promptCondition.shape[1]
        var stitcher = CrossFadeStitcher(overlap: overlapSamples(codes: streaming.overlapSize, durationFactor: durationFactor))
        var windows: [IndexTTS2StreamWindow] = []
        var produced = 0  // samples delivered for this segment, silence included
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - callStart) / 1e9 }
        func emit(_ audio: [Float], window: IndexTTS2StreamWindow?) {
            var chunk = produced == 0 ? leadingSilence : []
            chunk += audio.map { min(max(32767 * $0, -32767), 32767) }
            produced += chunk.count
            deliver(chunk, window)
        }
        func render(_ input: WindowInput, isLast: Bool) throws {
            if isCancelled?() == true { throw IndexTTS2Error.cancelled }
            let renderStart = DispatchTime.now().uptimeNanoseconds
            let range = input.range
            let frameOffset = range.lowerBound == 0 ? 0 : windowFrames(codes: range.lowerBound, durationFactor: durationFactor)
            let frames = windowFrames(codes: input.codes.count, durationFactor: durationFactor)
            let windowNoise = try noise.map {
                try Self.windowNoise($0, promptFrames: promptFrames, frameOffset: frameOffset, frames: frames, segment: index)
            }
            let seed = sampling.seed &+ UInt64(index) &+ (UInt64(windows.count + 1) << 32)
            let (content, mel, audio) = try renderWindow(input, promptCondition: promptCondition, refMel: refMel, style: style,
                                                         sampling: sampling, durationFactor: durationFactor,
                                                         noise: windowNoise, seed: seed, clock: &clock)
            let crossFade = windows.isEmpty ? 0 : min(stitcher.overlap, audio.count)
            let final = stitcher.add(audio, isLast: isLast)
            let silence = produced == 0 ? leadingSilence.count : 0
            let window = IndexTTS2StreamWindow(
                segment: index, index: windows.count, codeRange: range,
                contextRange: enhancedCodec == nil ? nil : input.context, codes: input.codes, frameOffset: frameOffset,
                frames: frames, outputStart: outputOffset + produced + silence, emitted: final.count, crossFade: crossFade,
                isLast: isLast, deliveredAt: elapsed(),
                renderSeconds: Double(DispatchTime.now().uptimeNanoseconds - renderStart) / 1e9, mel: record ? mel : nil,
                content: record ? content : nil)
            windows.append(window)
            emit(final, window: window)
        }

        var failure: (any Error)? = nil
        while true {
            switch channel.receive() {
            case .window(let input):
                guard failure == nil else { continue }  // draining after a failure: wait for the GPT to stop
                do { try render(input, isLast: false) } catch {
                    failure = error
                    abandoned.set()
                }
            case .finished(let result, let random, var plan, let seconds):
                clock.seconds["gpt.generation", default: 0] += seconds
                if let failure { throw failure }
                // The finished codes (with beams, the best hypothesis'): windows that waited for their lookahead,
                // then the final one.
                let codes = result.codes[...]
                func hidden(_ range: Range<Int>) throws -> Tensor? {
                    guard enhancedCodec == nil else { return nil }
                    guard let rows = result.hiddenStates.map({ try? $0.sliced(axis: 1, range: range).contiguous() }) ?? nil else {
                        throw IndexTTS2Error.invalidRequest("generation returned no hidden states for the final windows")
                    }
                    return rows
                }
                var pending = try plan.ready(available: codes.count).map {
                    try windowInput($0, codes: codes, hidden: hidden, lookahead: lookahead)
                }
                if !codes.isEmpty, let last = plan.finalWindow(total: codes.count) {
                    pending.append(try windowInput(last, codes: codes, hidden: hidden, lookahead: lookahead))
                }
                for (k, input) in pending.enumerated() { try render(input, isLast: k == pending.count - 1) }
                if pending.isEmpty { emit(stitcher.finish(), window: nil) }
                return StreamedSegment(generation: result, random: random, windows: windows)
            case .failed(let error, let seconds):
                clock.seconds["gpt.generation", default: 0] += seconds
                throw failure ?? error
            }
        }
    }
}
