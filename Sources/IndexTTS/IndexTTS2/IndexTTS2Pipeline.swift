import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText
import IndexTTSWeights

/// IndexTTS2's inference pipeline (`infer_v2.IndexTTS2.infer`, ee40fa7), loaded from a model folder — and
/// IndexTTS-2.5's (`infer_v2_5`), which is the same chain configured by ``generation``:
///
/// - text: 2.0 SentencePiece `bpe.model` (``segments(text:maxTokensPerSegment:readings:)``); 2.5 tiktoken with a
///   language prefix (``IndexTTS25FrontEnd``, ``indexTTS25Segments(text:language:maxTokensPerSegment:readings:)``);
/// - GPT speaker prefix: 2.0 the Conformer and Perceiver latents of `spk_cond_emb`; 2.5 `spk_emb_proj(style)`, one
///   token, and a language embedding on the text;
/// - codes → S2M content: 2.0 `vq2emb(codes) + gpt_layer(latent pass)` at 50 Hz; 2.5 `EnhancedCodec.decode(codes)`,
///   25 → 50 Hz;
/// - S2M prompt: 2.0 the length regulator of the quantised `S_ref`; 2.5 that of `spk_cond_emb` itself;
/// - mel frames: 2.0 `(codes · 1.72).long()`; 2.5 `int(2 · codes · 1.72 · duration_factor)`.
///
/// Immutable after load and `Sendable`: concurrent requests share the weights; every per-request value lives in the
/// call.
public struct IndexTTS2Pipeline: Sendable {
    public let folder: IndexTTS2ModelFolder
    public let gpt: UnifiedVoice
    public let w2vBert: W2VBert
    public let w2vStatistics: W2VBertStatistics
    /// IndexTTS2's MaskGCT codec (nil for 2.5).
    public let semanticCodec: SemanticCodec?
    /// IndexTTS-2.5's codec (nil for 2.0).
    public let enhancedCodec: EnhancedCodec?
    public let campplus: CAMPPlus
    public let s2m: S2M
    public let bigvgan: BigVGAN
    public let emotionMatrices: EmotionMatrices
    /// IndexTTS2's SentencePiece tokenizer (nil for 2.5).
    public let tokenizer: IndexTTSTokenizer?
    /// IndexTTS-2.5's text path and tokenizer (nil for 2.0).
    public let indexTTS25FrontEnd: IndexTTS25FrontEnd?
    /// Upstream's text normaliser; nil tokenizes the text as given (no WeTextProcessing grammars available).
    public let normalizer: IndexTTSTextNormalizer?
    let referenceMel: MelSpectrogram
    /// Speaker latents and emotion vectors of recent conditioning embeddings (``IndexTTS2LatentCache``).
    let latentCache = IndexTTS2LatentCache()
    /// Where concurrent requests' GPT decoding steps share one pass over the weights (``DecodeStepBatcher``); nil
    /// runs every request's steps alone (``withoutDecodeBatching()``).
    public private(set) var decodeBatcher: DecodeStepBatcher?
    let features: SeamlessM4TFeatureExtractor
    let fbank: KaldiFbank
    public static let sampleRate = 22_050

    /// Whether concurrent requests share GPT decoding passes: yes unless `INDEXTTS_SHARED_DECODING=0` is set. Shared
    /// passes serve products of more rows, which some kernels sum in another order, so with other requests running
    /// a seeded request may sample other codes than it does alone; turning sharing off makes every request's output
    /// independent of what else runs.
    static var sharedDecodingEnabled: Bool { ProcessInfo.processInfo.environment["INDEXTTS_SHARED_DECODING"] != "0" }

    /// This pipeline with every request's GPT decoding steps run alone (benchmarks compare it with batching).
    public func withoutDecodeBatching() -> IndexTTS2Pipeline {
        var pipeline = self
        pipeline.decodeBatcher = nil
        return pipeline
    }

    /// The arithmetic of the S2M estimator's products.
    public var precision: ComputePrecision { s2m.flow.estimator.precision }

    /// The widths this model gives a voice's conditioning tensors (checked when a stored one is read).
    public var conditioningDimensions: IndexTTS2SpeakerConditioning.Dimensions {
        .init(w2vHidden: w2vBert.configuration.hiddenSize,
              codecHidden: semanticCodec?.hiddenSize ?? w2vBert.configuration.hiddenSize,
              codebookSize: semanticCodec?.configuration.codebookSize, mels: referenceMel.configuration.melCount,
              styleWidth: campplus.configuration.embeddingSize, s2mChannels: s2m.lengthRegulator.channels)
    }

    /// Timing stages in pipeline order: the text front end; the speaker analysis (`speaker.features`: loading,
    /// resampling and the w2v-BERT feature extractor; `speaker.w2v_bert`; `speaker.codec`; `speaker.mel`;
    /// `speaker.campplus`: fbank and CAM++; `speaker.prompt`: the length regulator of `S_ref`; `speaker.emotion`:
    /// the 16 kHz load, features and w2v-BERT of the clip as its own emotion reference); `emotion`: an emotion clip's
    /// w2v-BERT, the GPT's emotion vectors, their merge and the emotion-matrix mix; `gpt.conditioning`: the speech
    /// conditioning latent; then per segment `gpt.generation`, `gpt.latent` (the latent pass: its mel part, after the
    /// prompt generation cached), `s2m` (`gpt_layer`, `vq2emb`, length regulator, CFM) and `bigvgan`.
    public static let stageNames = ["text", "speaker.features", "speaker.w2v_bert", "speaker.codec", "speaker.mel",
                                    "speaker.campplus", "speaker.prompt", "speaker.emotion", "emotion.text", "emotion", "gpt.conditioning",
                                    "gpt.generation", "gpt.latent", "s2m", "bigvgan"]

    /// Sums wall time per stage name.
    struct StageClock {
        var seconds: [String: Double] = [:]
        mutating func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try body()
            seconds[stage, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return result
        }
        mutating func merge(_ other: StageClock) {
            for (k, v) in other.seconds { seconds[k, default: 0] += v }
        }
        var timings: [StageTiming] {
            IndexTTS2Pipeline.stageNames.compactMap { name in seconds[name].map { StageTiming(stage: name, seconds: $0) } }
        }
    }

    // MARK: Text

    /// Text → normalised → BPE pieces → segments (`tokenize`, `split_segments`).
    /// - Parameter readings: the reading mode; nil keeps the normaliser's (``ReadingMode/corrected`` unless loaded
    ///   otherwise).
    public func segments(text: String, maxTokensPerSegment: Int, readings: ReadingMode? = nil) throws -> [[String]] {
        guard let tokenizer else {
            throw IndexTTS2Error.invalidRequest("this is an IndexTTS-2.5 model: its text is segmented by indexTTS25Segments")
        }
        var normalizer = self.normalizer
        if let readings { normalizer?.readings = readings }
        let normalized = normalizer?.normalize(text) ?? text
        let pieces = tokenizer.tokenize(normalized)
        guard !pieces.isEmpty else { throw IndexTTS2Error.emptyText }
        let segmenter = try TextSegmenter(maxTokensPerSegment: maxTokensPerSegment)
        return segmenter.segments(pieces).map { Array(pieces[$0]) }
    }

    /// IndexTTS-2.5's text path (``IndexTTS25FrontEnd``): the prepared text cut into segments of at most
    /// `maxTokensPerSegment` tokens (the language prefix included), as `infer_v2_5` hands them to its tokenizer.
    /// - Parameter readings: the reading mode; nil keeps the normaliser's.
    public func indexTTS25Segments(text: String, language: String, maxTokensPerSegment: Int,
                                   readings: ReadingMode? = nil) throws -> [String] {
        guard let frontEnd = indexTTS25FrontEnd?.reading(readings) else {
            throw IndexTTS2Error.invalidRequest("this is an IndexTTS2 (2.0) model: its text is segmented by segments(text:)")
        }
        guard maxTokensPerSegment > 0 else { throw IndexTTS2Error.invalidRequest("max_text_tokens_per_segment must be ≥ 1") }
        let prepared = frontEnd.prepare(text, language: language)
        guard !prepared.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw IndexTTS2Error.emptyText }
        return frontEnd.segments(prepared, maxTokens: maxTokensPerSegment, capacity: gpt.configuration.textPositions,
                                 language: language)
    }

    /// Reported after each segment, or with ``IndexTTS2Request/streaming`` after each window.
    public struct Progress: Sendable {
        public var completedSegments: Int
        public var totalSegments: Int
        /// The samples this segment (window) appended (the 200 ms pause before a segment, then its speech).
        public var chunk: [Float]
        /// Streaming: the window that made `chunk` final (nil for whole segments and a stream's leftover tail).
        public var window: IndexTTS2StreamWindow? = nil
    }

    /// Runs `infer` for `request`; with ``IndexTTS2Request/streaming`` each segment is streamed in windows
    /// (``streamSegment``): the GPT generates on its own thread while this one renders the windows.
    /// - Parameter progress: called after each segment (each window when streaming), on the calling thread.
    public func synthesize(_ request: IndexTTS2Request, progress: (Progress) -> Void = { _ in }) throws -> IndexTTS2Output {
        var stages: [String: Tensor] = [:]
        let record = request.recordStages
        func keep(_ name: String, _ value: @autoclosure () throws -> Tensor) throws {
            if record { stages[name] = try value() }
            request.stageFinished?(name)
        }
        func ints(_ values: [Int]) throws -> Tensor { try Self.ints(values) }
        let sampling = request.sampling
        guard request.intervalSilence >= 0 else { throw IndexTTS2Error.invalidRequest("interval_silence must be ≥ 0") }
        guard request.durationFactor.isFinite, request.durationFactor > 0, request.durationFactor <= 8 else {
            throw IndexTTS2Error.invalidRequest("duration factor must be in (0, 8], got \(request.durationFactor)")
        }
        let callStart = DispatchTime.now().uptimeNanoseconds
        var clock = StageClock()
        var timeToFirstAudio: Double? = nil

        // Emotion arguments as infer_generator rewrites them.
        var emotionClip: IndexTTS2Clip? = nil
        var alpha: Float = 1
        var weights: [Double]? = nil
        var useRandom = false
        switch request.emotion {
        case .sameAsSpeaker: break
        case .clip(let clip, let a):
            emotionClip = clip
            alpha = a
        case .vector(let w, let a, let random):
            guard w.count == emotionMatrices.groups.count else {
                throw IndexTTS2Error.invalidRequest("emo_vector needs \(emotionMatrices.groups.count) weights, got \(w.count)")
            }
            weights = EmotionMatrices.scaled(w, alpha: a)
            useRandom = random
        }

        var ranSemanticModel = false  // w2v-BERT ran in this call: its pages go before the GPT's come in
        // Speaker: the given conditioning, or the analysis of the clip (its own emotion reference only when used).
        let spkCondEmb: Tensor, refMel: Tensor, style: Tensor, promptCondition: Tensor
        var emotionReference: Tensor? = nil
        if let given = request.speakerConditioning {
            spkCondEmb = given.spkCondEmb
            refMel = given.refMel
            style = given.style
            promptCondition = given.promptCondition
            try keep("spk_cond_emb", spkCondEmb)
            try keep("S_ref", given.sRef)
            try keep("ref_mel", refMel)
            try keep("style", style)
            try keep("prompt_condition", promptCondition)
            try keep("ref_target_lengths", try Tensor(shape: [1], scalars: [Float(refMel.shape[2])]))
            if emotionClip == nil {
                emotionReference = given.emoCondEmb
                try keep("emo_cond_emb", given.emoCondEmb)
            }
        } else {
            releaseConditioningAndGPTPages()  // one phase's weights resident at a time (IndexTTS2Residency.swift)
            ranSemanticModel = true
            let part = try speakerPart(request.speaker, record: record, stages: &stages, clock: &clock,
                                       stageFinished: request.stageFinished)
            spkCondEmb = part.spkCondEmb
            refMel = part.refMel
            style = part.style
            promptCondition = part.promptCondition
            if emotionClip == nil {
                emotionReference = try emotionEmbedding(request.speaker, recordAudio: true, record: record, stages: &stages,
                                                        clock: &clock, stage: "speaker.emotion",
                                                        stageFinished: request.stageFinished)
            }
        }
        // Emotion reference: `_load_and_cut_audio(emo_audio_prompt, 15, sr=16000)` (soxr), get_emb.
        if let emotionClip {
            if !ranSemanticModel { releaseConditioningAndGPTPages() }
            ranSemanticModel = true
            emotionReference = try emotionEmbedding(emotionClip, recordAudio: false, record: record, stages: &stages,
                                                    clock: &clock,
                                              stage: "emotion", stageFinished: request.stageFinished)
        }
        guard let emoCondEmb = emotionReference else { throw IndexTTS2Error.invalidRequest("no emotion reference") }
        if ranSemanticModel { releaseConditioningAndGPTPages() }

        // Upstream quirk: cond_lengths = spk_cond_emb.shape[-1], the feature width, not the frame count.
        let spkLength = spkCondEmb.shape[2], emoLength = emoCondEmb.shape[2]
        let (emovecMerged, emovec) = try clock.measure("emotion") { () throws -> (Tensor, Tensor) in
            let base = try latentCache.value(for: IndexTTS2LatentCache.key(.emotion, embedding: spkCondEmb, length: spkLength)) {
                try gpt.emotionVector(spkCondEmb, length: spkLength)
            }
            let emotion = try latentCache.value(for: IndexTTS2LatentCache.key(.emotion, embedding: emoCondEmb, length: emoLength)) {
                try gpt.emotionVector(emoCondEmb, length: emoLength)
            }
            let emovecMerged = try UnifiedVoice.mergeEmotionVectors(base: base, emotion: emotion, alpha: alpha)
            var emovec = emovecMerged
            if let weights {
                var random = SeededRandomSource(seed: sampling.seed)
                // use_random: one row per group from our seeded source (upstream draws Python's `random.randint`).
                let rows = useRandom ? emotionMatrices.randomRows(using: &random) : try emotionMatrices.speakerMatchedRows(style: style)
                emovec = try emotionMatrices.mix(weights: weights.map(Float.init), rows: rows, emovec: emovecMerged)
            }
            return (emovecMerged, emovec)
        }
        // The speaker side of the GPT prefix: the Perceiver's latents of the features (2.0) or the projected CAM++
        // embedding (2.5).
        let speechConditioningLatent = try clock.measure("gpt.conditioning") { () throws -> Tensor in
            if gpt.configuration.speakerConditioning == .campplus { return try gpt.speakerToken(style) }
            return try latentCache.value(for: IndexTTS2LatentCache.key(.conditioning, embedding: spkCondEmb, length: spkLength)) {
                try gpt.conditioning(spkCondEmb, length: spkLength)
            }
        }
        if ranSemanticModel { releaseConditioningAndGPTPages() }

        // Text: 2.0's BPE pieces per segment, or 2.5's segment texts with their ids (language prefix, closing 1).
        var warnings: [String] = []
        let language = indexTTS25FrontEnd == nil ? nil : (request.language ?? IndexTTS25FrontEnd.guessLanguage(request.text))
        let (segmentTokens, segmentIDs) = try clock.measure("text") { () throws -> ([[String]], [[Int]]) in
            if let frontEnd = indexTTS25FrontEnd, let language {
                if let ids = request.segmentIDs { return (ids.map { _ in [] }, ids) }
                let segments = try indexTTS25Segments(text: request.text, language: language,
                                                      maxTokensPerSegment: request.maxTextTokensPerSegment,
                                                      readings: request.readings)
                return (segments.map { [$0] }, segments.map { frontEnd.tokenIDs(segment: $0, language: language) })
            }
            guard let tokenizer else { throw IndexTTS2Error.invalidRequest("no text tokenizer") }
            let tokens = try request.segmentTokens ?? segments(text: request.text, maxTokensPerSegment: request.maxTextTokensPerSegment,
                                                               readings: request.readings)
            return (tokens, tokens.map { $0.map { tokenizer.model.id(of: $0) } })
        }
        guard !segmentIDs.isEmpty, segmentIDs.allSatisfy({ !$0.isEmpty }) else { throw IndexTTS2Error.emptyText }
        if let tokenizer {
            let unknown = segmentTokens.joined().filter { tokenizer.model.id(of: $0) == tokenizer.model.unknownID }
            if !unknown.isEmpty {
                warnings.append("input text contains \(unknown.count) unknown tokens (id=\(tokenizer.model.unknownID)): \(unknown)")
            }
        }
        let languageID = language.map(TiktokenTokenizer.indexTTS25LanguageID)
        let silence = [Float](repeating: 0, count: Int(Double(Self.sampleRate) * Double(request.intervalSilence) / 1000))
        var options = sampling.generationOptions
        options.maxNewTokens = sampling.maxMelTokens
        var random = SeededRandomSource(seed: sampling.seed)
        var samples: [Float] = []
        var results: [IndexTTS2Segment] = []
        var warnedMaxLength = false
        var streamWindows: [IndexTTS2StreamWindow] = []
        let streaming = request.streaming.flatMap { $0.enabled ? $0 : nil }
        if let streaming {
            do { try streaming.validate() } catch let error as SynthesisError { throw IndexTTS2Error.invalidRequest("\(error)") }
        }
        // Cancellation within one GPT step.
        var cancelCheck: ((GenerationStep) throws -> Void)? = nil
        if let isCancelled = request.isCancelled {
            cancelCheck = { _ in if isCancelled() { throw IndexTTS2Error.cancelled } }
        }
        for (index, ids) in segmentIDs.enumerated() {
            let tokens = segmentTokens[index]
            if request.isCancelled?() == true { throw IndexTTS2Error.cancelled }
            let suffix = index == 0 ? "" : "@\(index)"
            func keepSegment(_ name: String, _ value: @autoclosure () throws -> Tensor) throws {
                if record { stages[name + suffix] = try value() }
                request.stageFinished?(name + suffix)
            }
            try keepSegment("text_tokens", try ints(ids))
            if let languageID { try keepSegment("lang", try Tensor(shape: [1], scalars: [Float(languageID)])) }
            try keepSegment("emovec_merged", emovecMerged)
            try keepSegment("emovec", emovec)
            let prefix = try clock.measure("gpt.generation") { try gpt.prefix(conditioning: speechConditioningLatent, emotionVector: emovec) }
            if let streaming {
                let prompt = try gpt.promptEmbeddings(prefix: prefix, textIDs: ids, language: languageID)
                let streamed = try streamSegment(
                    index: index, prompt: prompt, options: options, random: random, streaming: streaming,
                    promptCondition: promptCondition, refMel: refMel, style: style, sampling: sampling,
                    durationFactor: request.durationFactor, noise: request.cfmNoise[index],
                    leadingSilence: index > 0 ? silence : [], outputOffset: samples.count, record: record,
                    isCancelled: request.isCancelled, callStart: callStart, clock: &clock) { chunk, window in
                        samples += chunk
                        if timeToFirstAudio == nil { timeToFirstAudio = Double(DispatchTime.now().uptimeNanoseconds - callStart) / 1e9 }
                        let done = window?.isLast ?? true
                        progress(Progress(completedSegments: index + (done ? 1 : 0), totalSegments: segmentTokens.count,
                                          chunk: chunk, window: window))
                    }
                random = streamed.random
                streamWindows += streamed.windows
                let generated = streamed.generation
                if generated.stop != .stopToken && !warnedMaxLength {
                    warnedMaxLength = true
                    warnings.append("generation stopped due to exceeding `max_mel_tokens` (\(sampling.maxMelTokens)). "
                        + "Input text tokens: \(ids.count). Consider reducing `max_text_tokens_per_segment`"
                        + "(\(request.maxTextTokensPerSegment)) or increasing `max_mel_tokens`.")
                }
                guard !generated.codes.isEmpty else { throw IndexTTS2Error.noCodes(segment: index) }
                try keepSegment("codes", try ints(generated.codes))
                try keepSegment("code_lens", try Tensor(shape: [1], scalars: [Float(generated.codes.count)]))
                if let hidden = generated.hiddenStates { try keepSegment("gpt_hidden", hidden) }
                results.append(IndexTTS2Segment(textTokens: tokens, codes: generated.codes, stop: generated.stop))
                continue
            }
            // The prompt's keys and values, kept for 2.0's latent pass (which then runs the mel part alone).
            let promptCache = enhancedCodec == nil ? PromptCache() : nil
            let generated = try clock.measure("gpt.generation") {
                try gpt.generate(prompt: gpt.promptEmbeddings(prefix: prefix, textIDs: ids, language: languageID), options: options,
                                 random: &random, batcher: decodeBatcher, promptCache: promptCache, onStep: cancelCheck)
            }
            let codes = generated.codes
            try keepSegment("codes_raw", try ints(generated.stop == .stopToken ? codes + [gpt.configuration.stopMelToken] : codes))
            try keepSegment("speech_conditioning_latent", speechConditioningLatent)
            if generated.stop != .stopToken && !warnedMaxLength {
                warnedMaxLength = true
                warnings.append("generation stopped due to exceeding `max_mel_tokens` (\(sampling.maxMelTokens)). "
                    + "Input text tokens: \(ids.count). Consider reducing `max_text_tokens_per_segment`"
                    + "(\(request.maxTextTokensPerSegment)) or increasing `max_mel_tokens`.")
            }
            guard !codes.isEmpty else { throw IndexTTS2Error.noCodes(segment: index) }
            try keepSegment("codes", try ints(codes))
            try keepSegment("code_lens", try Tensor(shape: [1], scalars: [Float(codes.count)]))
            // S2M content: 2.5 decodes the codes (25 → 50 Hz); 2.0 adds the latent pass' projection to the codes'
            // embeddings.
            let sInfer: Tensor, targetFrames: Int, latentPositions: Int
            if let enhancedCodec {
                MappedFile.releaseResidentPages(of: folder.gpt)  // see below
                sInfer = try clock.measure("s2m") { try enhancedCodec.decode(codes: [codes]) }
                targetFrames = Self.targetFrames(contentFrames: sInfer.shape[1], durationFactor: request.durationFactor)
                latentPositions = 0
            } else {
                guard let semanticCodec, let promptCache else { throw IndexTTS2Error.invalidRequest("no semantic codec") }
                let (latent, positions) = try clock.measure("gpt.latent") {
                    try gpt.latents(conditioning: speechConditioningLatent, emotionVector: emovec, textIDs: ids, codes: codes,
                                    promptCache: promptCache)
                }
                latentPositions = positions
                try keepSegment("latent", latent)
                // The GPT's checkpoint pages (2 GB of fp32 at full size) are not read again until the next segment's
                // generation: let them go while S2M and BigVGAN hold their activations (they fault back in from the page
                // cache, tens of milliseconds; a no-op for bf16's fp16 copy). IndexTTS2Residency.swift.
                MappedFile.releaseResidentPages(of: folder.gpt)
                let latentProj = try clock.measure("s2m") { try s2m.requireGPTLayer()(latent) }
                try keepSegment("latent_proj", latentProj)
                let sInferVQ = try clock.measure("s2m") { try semanticCodec.embeddings(codes: [codes]) }
                try keepSegment("S_infer_vq", sInferVQ)
                sInfer = try clock.measure("s2m") { try sInferVQ.adding(latentProj) }
                targetFrames = Self.targetFrames(codes: codes.count, durationFactor: request.durationFactor)
            }
            try keepSegment("S_infer", sInfer)
            try keepSegment("target_lengths", try Tensor(shape: [1], scalars: [Float(targetFrames)]))
            let cond = try clock.measure("s2m") { try s2m.lengthRegulator(sInfer, frames: targetFrames) }
            try keepSegment("cond", cond)
            let catCondition = try clock.measure("s2m") { try Tensor.concatenate([promptCondition, cond], axis: 1) }
            try keepSegment("cat_condition", catCondition)
            let noise = request.cfmNoise[index]
            if let noise { try keepSegment("cfm_noise", noise) }
            let vcTarget = try clock.measure("s2m") {
                try s2m.flow.generate(mu: catCondition, promptMel: refMel, style: style, steps: sampling.diffusionSteps,
                                      guidanceRate: sampling.inferenceCfgRate, noise: noise, seed: sampling.seed &+ UInt64(index))
            }
            try keepSegment("vc_target", vcTarget)
            let wav = try clock.measure("bigvgan") { try bigvgan(vcTarget) }
            try keepSegment("wav_bigvgan", wav)
            let segmentSamples = wav.scalars.map { min(max(32767 * $0, -32767), 32767) }
            try keepSegment("wav_segment", try Tensor(shape: [1, segmentSamples.count], scalars: segmentSamples))
            let chunk = (index > 0 ? silence : []) + segmentSamples
            samples += chunk
            results.append(IndexTTS2Segment(
                textTokens: tokens, codes: codes, stop: generated.stop,
                latentPositions: latentPositions))
            if timeToFirstAudio == nil { timeToFirstAudio = Double(DispatchTime.now().uptimeNanoseconds - callStart) / 1e9 }
            progress(Progress(completedSegments: index + 1, totalSegments: segmentIDs.count, chunk: chunk))
        }
        try keep("wav", try Tensor(shape: [1, samples.count], scalars: samples))
        var output = IndexTTS2Output(samples: samples, sampleRate: Self.sampleRate, segments: results, warnings: warnings, stages: stages)
        output.timings = clock.timings
        output.timeToFirstAudio = timeToFirstAudio ?? 0
        output.emotionWeights = weights
        output.streamWindows = streamWindows
        return output
    }

    /// IndexTTS-2.5's mel frames for its decoded content (`contentFrames` = 2 × codes at 50 Hz):
    /// `int(frames * 1.72 * duration_factor)` in doubles (at least one frame).
    public static func targetFrames(contentFrames: Int, durationFactor: Double) -> Int {
        max(1, Int((Double(contentFrames) * 1.72 * durationFactor).rounded(.towardZero)))
    }

    /// IndexTTS2's mel frames for `codes` semantic codes: upstream 2.0's `(code_lens * 1.72).long()` (float32) at
    /// factor 1, `int(codes * 1.72 * duration_factor)` otherwise, as 2.5 scales its own (at least one frame).
    public static func targetFrames(codes: Int, durationFactor: Double) -> Int {
        if durationFactor == 1 { return LengthRegulator.targetFrames(codes: codes) }
        return max(1, Int((Double(codes) * 1.72 * durationFactor).rounded(.towardZero)))
    }
}
