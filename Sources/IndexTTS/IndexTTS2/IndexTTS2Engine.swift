import Foundation
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText

/// IndexTTS2 behind the ``SpeechEngine`` seam. Immutable after load; per-request state lives in the call.
///
/// Controls, as `infer()` takes them:
/// - **Voice**: a reference clip (timbre is cloned from it) or its stored analysis
///   (``SynthesisRequest/voiceConditioning``, made by ``analyzeVoice(samples:sampleRate:)`` with the same weights).
///   Analyses are cached in memory by clip content (``voices``, shared by copies of the engine), so a repeated clip
///   never runs w2v-BERT again.
/// - **Emotion**: same as the voice; an emotion clip with its weight as `emo_alpha`; an 8-vector (happy, angry, sad,
///   afraid, disgusted, melancholic, surprised, calm) with ``SynthesisRequest/emotionUseRandom`` as `use_random`;
///   a named preset (``IndexTTS2EmotionPresets``), i.e. a documented vector with the strength as `emo_alpha`.
///   Emotion text is read by QwenEmotion (`qwen0.6bemo4-merge/`, loaded on first use) into the 8 weights, scaled by
///   ``SynthesisRequest/emotionTextWeight`` (`emo_alpha`), as `infer(use_emo_text=True)` does.
/// - **Speed** (our extension for 2.0): IndexTTS-2.5's `duration_factor` = 1 / speed on the S2M target length of each
///   segment; speed 1 is upstream 2.0 exactly.
/// - **Sampling**: ``SamplingParameters`` over ``sampling`` (upstream's defaults).
public struct IndexTTS2Engine: SpeechEngine {
    public static let engineID = "indextts2"
    public let pipeline: IndexTTS2Pipeline

    /// The GPT's shared decoding passes (``DecodeStepBatcher``) since load.
    public var sharedDecoding: SharedDecodingCounts? {
        pipeline.decodeBatcher.map { let s = $0.statistics; return SharedDecodingCounts(steps: s.steps, passes: s.passes) }
    }
    /// Sampling and S2M parameters for every request (upstream's defaults unless changed).
    public var sampling: IndexTTS2Sampling
    public var maxTextTokensPerSegment = 120
    public var intervalSilence = 200
    /// Identifies the weights (``IndexTTS2ModelFolder/computeFingerprint()``): conditioning made
    /// with other weights is not used.
    public let modelFingerprint: String
    /// Analyses of recent voice clips by content hash (a reference: copies of the engine share it).
    public let voices: IndexTTS2VoiceCache
    /// QwenEmotion (`qwen_emo_path`), loaded on the first request with emotion text; shared by copies of the engine.
    public let emotionText: LazyQwenEmotion

    public static let licence = "IndexTTS2 model weights: bilibili Index licence (see the model folder's LICENSE)"

    /// - Parameter emotionTextFolder: QwenEmotion's folder; default the model folder's `qwen_emo_path`.
    public init(pipeline: IndexTTS2Pipeline, sampling: IndexTTS2Sampling = IndexTTS2Sampling(),
                voices: IndexTTS2VoiceCache = IndexTTS2VoiceCache(), emotionTextFolder: String? = nil) {
        self.pipeline = pipeline
        self.sampling = sampling
        self.voices = voices
        modelFingerprint = pipeline.folder.fingerprint
        let qwen = pipeline.folder.qwenEmotion.isEmpty
            ? (pipeline.folder.root as NSString).appendingPathComponent(QwenEmotion.folderName) : pipeline.folder.qwenEmotion
        emotionText = LazyQwenEmotion(folder: emotionTextFolder ?? qwen)
    }

    /// Loads the model folder; the text-normalisation grammars come from `cache` (``ModelCache/textGrammars``).
    /// - Throws: ``IndexTTS2LoadError`` listing every missing or broken file.
    public static func load(modelDirectory: String, cache: ModelCache = ModelCache(),
                            precision: ComputePrecision = .float32) throws -> IndexTTS2Engine {
        try load(folder: IndexTTS2ModelFolder.resolve(root: modelDirectory), cache: cache, precision: precision)
    }

    /// Loads an already resolved folder (``EngineFactory`` resolves it once to decide, and loads that resolution).
    /// - Parameter precision: the S2M estimator's arithmetic (``IndexTTS2Pipeline/load(folder:textGrammars:precision:)``).
    public static func load(folder: IndexTTS2ModelFolder, cache: ModelCache = ModelCache(),
                            precision: ComputePrecision = .float32) throws -> IndexTTS2Engine {
        let grammars = cache.textGrammars.path
        let haveGrammars = FileManager.default.fileExists(atPath: cache.textGrammars.appendingPathComponent("zh_tn_tagger.fst").path)
        guard haveGrammars else {
            throw IndexTTS2LoadError.unusableFolder(root: folder.root, problems: [
                .init(path: grammars, reason: "missing (text normalisation grammars)",
                      source: "scripts/fetch-default-voice.sh (WeTextProcessing 1.2.0), or --cache / INDEXTTS_CACHE"),
            ])
        }
        return IndexTTS2Engine(pipeline: try IndexTTS2Pipeline.load(folder: folder, textGrammars: grammars, precision: precision))
    }

    public var info: EngineInfo {
        let is25 = pipeline.folder.generation == .indexTTS25
        return EngineInfo(id: Self.engineID, name: is25 ? "IndexTTS-2.5" : "IndexTTS2", sampleRate: IndexTTS2Pipeline.sampleRate,
                          voices: [], licence: Self.licence, clonesTimbre: true, presets: IndexTTS2EmotionPresets.info,
                          languages: is25 ? Self.pickerLanguages : nil)
    }

    /// IndexTTS-2.5's languages as upstream's WebUI offers them (ZH, EN, JA, AR, ES), lower-cased as `infer_v2_5`
    /// uses them.
    public static let pickerLanguages = ["zh", "en", "ja", "ar", "es"]

    // MARK: Voices

    /// The conditioning of a clip: from ``voices`` when this clip was analysed before, else analysed (and cached).
    /// - Returns: the conditioning, whether it came from the cache, and the analysis' stage times (empty on a hit).
    public func speakerConditioning(samples: [Float], sampleRate: Int) throws
        -> (conditioning: IndexTTS2SpeakerConditioning, cached: Bool, timings: [StageTiming]) {
        guard !samples.isEmpty, sampleRate > 0 else {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "empty clip")
        }
        guard samples.allSatisfy(\.isFinite) else {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "NaN or infinite samples")
        }
        guard samples.contains(where: { $0 != 0 }) else {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "the clip is silent")
        }
        let key = IndexTTS2VoiceCache.key(samples: samples, sampleRate: sampleRate)
        if let hit = voices.lookup(key) { return (hit, true, []) }
        let analysis: (conditioning: IndexTTS2SpeakerConditioning, stages: [String: Tensor], timings: [StageTiming])
        do {
            analysis = try pipeline.analyzeSpeaker(IndexTTS2Clip(samples: samples, sampleRate: sampleRate))
        } catch let error as ModelError {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "cannot be analysed: \(error)")
        } catch let error as IndexTTS2Error {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: error.description)
        }
        voices.insert(analysis.conditioning, for: key)
        return (analysis.conditioning, false, analysis.timings)
    }

    /// The clip's conditioning (``IndexTTS2SpeakerConditioning``) under upstream's tensor names, engine
    /// `indextts2` and ``modelFingerprint``; cached like every analysis.
    public func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
        try speakerConditioning(samples: samples, sampleRate: sampleRate).conditioning.voiceConditioning(model: modelFingerprint)
    }

    /// `conditioning` read and checked when it was made by this engine with these weights; nil when it was not (the
    /// caller analyses the clip instead).
    /// - Throws: ``VoiceConditioningError`` naming the tensor that is missing or misshapen.
    public func storedConditioning(_ conditioning: VoiceConditioning) throws -> IndexTTS2SpeakerConditioning? {
        guard conditioning.matches(engine: Self.engineID, model: modelFingerprint) else { return nil }
        return try IndexTTS2SpeakerConditioning(conditioning, dimensions: pipeline.conditioningDimensions)
    }

    // MARK: Requests

    public func validate(_ request: SynthesisRequest) throws {
        _ = try prepare(request, readEmotionText: false)
    }

    /// The pipeline request for `request` (for callers that want stages or a given CFM noise as well). A matching
    /// ``SynthesisRequest/voiceConditioning``, or an analysis of the clip already in ``voices``, is attached as
    /// ``IndexTTS2Request/speakerConditioning``; otherwise the pipeline analyses the clip.
    public func pipelineRequest(for request: SynthesisRequest) throws -> IndexTTS2Request {
        var prepared = try prepare(request)
        if prepared.request.speakerConditioning == nil, let reference = request.referenceAudio {
            let key = IndexTTS2VoiceCache.key(samples: reference.samples, sampleRate: reference.sampleRate)
            prepared.request.speakerConditioning = voices.lookup(key)
        }
        return prepared.request
    }

    /// A checked request: the pipeline request (without analysing anything), the controls as applied, and notes.
    struct Prepared {
        var request: IndexTTS2Request
        var controls: [String: String]
        var warnings: [String]
        /// Work done while preparing (QwenEmotion reading an emotion text).
        var timings: [StageTiming] = []
    }

    /// - Parameter readEmotionText: run QwenEmotion on an emotion text (false when only validating: then only the
    ///   model folder's presence is checked).
    func prepare(_ request: SynthesisRequest, readEmotionText: Bool = true) throws -> Prepared {
        guard !request.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SynthesisError.emptyText }
        var warnings: [String] = []
        var timings: [StageTiming] = []
        var controls: [String: String] = ["engine": Self.engineID]
        // The language (IndexTTS-2.5 reads it; upstream lower-cases it), before any work.
        let language = request.language?.lowercased()
        if let language, !SynthesisRequest.isLanguageCode(language) {
            throw SynthesisError.invalidParameter(
                name: "lang", reason: "a language code of letters (zh, en, ja, es, ar, …), got '\(request.language ?? "")'")
        }
        let is25 = pipeline.folder.generation == .indexTTS25
        var stored: IndexTTS2SpeakerConditioning? = nil
        if let conditioning = request.voiceConditioning {
            stored = try storedConditioning(conditioning)
            if stored == nil {
                let origin = "engine \(conditioning.engine), model \(conditioning.model)"
                guard request.referenceAudio != nil else {
                    throw SynthesisError.invalidParameter(
                        name: "voice conditioning",
                        reason: "made by \(origin), not by \(Self.engineID) with these weights (\(modelFingerprint)), and no clip to analyse")
                }
                warnings.append("the voice's stored conditioning was made by \(origin); its clip was analysed again")
            }
        }
        let reference = request.referenceAudio
        if stored == nil {
            guard let reference else {
                if let voice = request.voice { throw SynthesisError.unknownVoice(voice, available: []) }
                throw SynthesisError.invalidParameter(name: "reference audio", reason: "IndexTTS2 needs a voice reference clip")
            }
            guard !reference.samples.isEmpty, reference.sampleRate > 0 else {
                throw SynthesisError.invalidParameter(name: "reference audio", reason: "empty clip")
            }
        }
        controls["speaker_conditioning"] = stored == nil ? "clip" : "stored"
        guard request.speed.isFinite, SynthesisRequest.speedRange.contains(request.speed) else {
            throw SynthesisError.invalidParameter(
                name: "speed", reason: "must be in \(SynthesisRequest.speedRange.lowerBound)…\(SynthesisRequest.speedRange.upperBound), got \(request.speed)")
        }
        var r = IndexTTS2Request(text: request.text, speaker: IndexTTS2Clip(samples: reference?.samples ?? [],
                                                                            sampleRate: reference?.sampleRate ?? IndexTTS2Pipeline.sampleRate))
        r.speakerConditioning = stored
        r.durationFactor = request.speed == 1 ? 1 : 1 / request.speed
        controls["speed"] = IndexTTS2EmotionPresets.format(request.speed)
        controls["duration_factor"] = IndexTTS2EmotionPresets.format(r.durationFactor)
        func vectorEmotion(_ weights: [Double], alpha: Double, what: String) throws {
            guard weights.count == 8, weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw SynthesisError.invalidParameter(name: "emotion vector", reason: "8 non-negative weights, got \(weights)")
            }
            r.emotion = .vector(weights, alpha: alpha, useRandom: request.emotionUseRandom)
            controls["emotion"] = what
            controls["emo_alpha"] = IndexTTS2EmotionPresets.format(alpha)
            controls["emo_vector"] = EmotionMatrices.scaled(weights, alpha: alpha).map(IndexTTS2EmotionPresets.format).joined(separator: ",")
            controls["use_random"] = "\(request.emotionUseRandom)"
        }
        switch request.emotion {
        case .none:
            r.emotion = .sameAsSpeaker
            controls["emotion"] = "speaker"
        case .vector(let weights):
            try vectorEmotion(weights, alpha: 1, what: "vector")
        case .preset(let name, let strength):
            guard let preset = IndexTTS2EmotionPresets.preset(named: name) else {
                throw SynthesisError.invalidParameter(
                    name: "emotion", reason: "unknown preset '\(name)'; known: "
                        + EmotionPreset.all.map { "\($0.id) (\($0.label))" }.joined(separator: ", "))
            }
            guard strength.isFinite, (0...1).contains(strength) else {
                throw SynthesisError.invalidParameter(name: "emotion strength", reason: "must be in 0…1, got \(strength)")
            }
            try vectorEmotion(preset.vector, alpha: strength, what: "preset \(preset.preset.id)")
        case .referenceAudio(let samples, let rate, let weight):
            guard !samples.isEmpty, rate > 0, weight.isFinite else {
                throw SynthesisError.invalidParameter(name: "emotion audio", reason: "empty clip or bad weight")
            }
            r.emotion = .clip(IndexTTS2Clip(samples: samples, sampleRate: rate), alpha: Float(weight))
            controls["emotion"] = "clip"
            controls["emo_alpha"] = IndexTTS2EmotionPresets.format(weight)
        case .text(let description):
            // infer(use_emo_text=True): QwenEmotion reads emo_text (the spoken text when none is given) into the 8
            // weights, which then take the vector path with emo_alpha.
            // (a checkpoint split into shards has model.safetensors.index.json instead of model.safetensors)
            let missing = ["config.json", "model.safetensors", "tokenizer.json"].filter { name in
                ([name] + (name == "model.safetensors" ? ["model.safetensors.index.json"] : [])).allSatisfy {
                    !FileManager.default.fileExists(atPath: (emotionText.folder as NSString).appendingPathComponent($0))
                }
            }
            guard missing.isEmpty else {
                throw SynthesisError.modelsMissing(
                    "emotion text needs QwenEmotion: \(missing.joined(separator: ", ")) missing in \(emotionText.folder) "
                        + "(qwen0.6bemo4-merge/ from IndexTeam/IndexTTS-2); use a preset, an emotion vector or an emotion clip")
            }
            guard request.emotionTextWeight.isFinite, (0...1).contains(request.emotionTextWeight) else {
                throw SynthesisError.invalidParameter(name: "emo_alpha", reason: "must be in 0…1, got \(request.emotionTextWeight)")
            }
            let source = description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? request.text : description
            if readEmotionText {
                let start = Date()
                let analysis: EmotionTextAnalysis
                do {
                    analysis = try emotionText.analyze(source, options: QwenEmotionOptions(seed: request.seed ?? sampling.seed))
                } catch let error as SynthesisError {
                    throw error
                } catch {
                    throw SynthesisError.modelsMissing("QwenEmotion (\(emotionText.folder)): \(error)")
                }
                timings.append(StageTiming(stage: "emotion.text", seconds: Date().timeIntervalSince(start)))
                try vectorEmotion(analysis.vector, alpha: request.emotionTextWeight, what: "text")
                controls["emo_text"] = source
                controls["emo_text_vector"] = analysis.vector.map(IndexTTS2EmotionPresets.format).joined(separator: ",")
                warnings += analysis.warnings
            } else {
                controls["emotion"] = "text"
            }
        }
        if request.emotionUseRandom, controls["use_random"] == nil {
            warnings.append("use_random only applies to emotion vectors and presets; ignored")
        }
        try request.sampling.validate()
        r.sampling = sampling.applying(request.sampling)
        if let seed = request.seed { r.sampling.seed = seed }
        r.maxTextTokensPerSegment = request.sampling.maxTextTokensPerSegment ?? maxTextTokensPerSegment
        r.intervalSilence = request.sampling.intervalSilence ?? intervalSilence
        r.isCancelled = request.isCancelled
        r.readings = request.readings
        if is25 {
            // IndexTTS-2.5 reads the language it is told (or the one the text's script suggests).
            r.language = language
            controls["lang"] = language ?? IndexTTS25FrontEnd.guessLanguage(request.text) + " (guessed from the text)"
        } else if let language {
            warnings.append("lang '\(language)' is ignored: IndexTTS2 (2.0) reads the language from the text")
        }
        if let streaming = request.streaming, streaming.enabled {
            try streaming.validate()
            r.streaming = streaming
            // IndexTTS-2.5's windows wait for their codec context (the whole radius unless the request says less);
            // IndexTTS2's content is per code.
            if !is25, streaming.lookahead != nil {
                warnings.append("stream.lookahead is ignored: IndexTTS2 (2.0) decodes each code on its own")
            }
            controls["stream"] = pipeline.appliedStreaming(streaming).summary
        }
        controls["readings"] = request.readings?.rawValue ?? pipeline.normalizer.map { $0.readings.rawValue } ?? "none (no grammars)"
        let s = r.sampling
        controls["do_sample"] = "\(s.doSample)"
        controls["top_p"] = IndexTTS2EmotionPresets.format(Double(s.topP))
        controls["top_k"] = "\(s.topK)"
        controls["temperature"] = IndexTTS2EmotionPresets.format(Double(s.temperature))
        controls["num_beams"] = "\(s.numBeams)"
        controls["repetition_penalty"] = IndexTTS2EmotionPresets.format(Double(s.repetitionPenalty))
        controls["length_penalty"] = IndexTTS2EmotionPresets.format(Double(s.lengthPenalty))
        controls["max_mel_tokens"] = "\(s.maxMelTokens)"
        controls["diffusion_steps"] = "\(s.diffusionSteps)"
        controls["inference_cfg_rate"] = IndexTTS2EmotionPresets.format(s.inferenceCfgRate)
        controls["seed"] = "\(s.seed)"
        controls["max_text_tokens_per_segment"] = "\(r.maxTextTokensPerSegment)"
        controls["interval_silence"] = "\(r.intervalSilence)"
        return Prepared(request: r, controls: controls, warnings: warnings, timings: timings)
    }

    /// Resolves the voice (stored conditioning, cached analysis, or a new analysis), runs the pipeline, and reports
    /// per-stage times (the speaker analysis' `speaker.*` stages only when it ran), time to first audio, and the
    /// controls as applied (`speaker_conditioning`: `stored`, `cached` or `analysed`; every sampling value; the
    /// emotion and its effective vector; speed and duration factor; `warning`). A new voice is always analysed in
    /// full, its own emotion reference (`emo_cond_emb`, a second w2v-BERT run) included even when this request brings
    /// an emotion clip, so that the cached or stored voice serves every later request; an emotion clip itself is
    /// analysed per request (not cached).
    public func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
        var prepared = try prepare(request)
        let start = Date()
        var analysisTimings: [StageTiming] = []
        if prepared.request.speakerConditioning == nil, let reference = request.referenceAudio {
            let resolved = try speakerConditioning(samples: reference.samples, sampleRate: reference.sampleRate)
            prepared.request.speakerConditioning = resolved.conditioning
            analysisTimings = resolved.timings
            prepared.controls["speaker_conditioning"] = resolved.cached ? "cached" : "analysed"
        }
        var firstAudio: Double? = nil
        var audioSamples = 0
        let output: IndexTTS2Output
        do {
            output = try pipeline.synthesize(prepared.request) { p in
                if firstAudio == nil { firstAudio = Date().timeIntervalSince(start) }
                audioSamples += p.chunk.count
                // The engine's samples are in [−1, 1]; the pipeline's in int16 range, as upstream's.
                progress(SynthesisProgress(completedSegments: p.completedSegments, totalSegments: p.totalSegments,
                                           audioSeconds: Double(audioSamples) / Double(IndexTTS2Pipeline.sampleRate),
                                           chunk: p.chunk.map { $0 / 32768 }))
            }
        } catch IndexTTS2Error.cancelled {
            throw SynthesisError.cancelled
        } catch IndexTTS2Error.emptyText {
            throw SynthesisError.emptyText
        }
        let total = Date().timeIntervalSince(start)
        var controls = prepared.controls
        let warnings = prepared.warnings + output.warnings
        if !warnings.isEmpty { controls["warning"] = warnings.joined(separator: " | ") }
        let timings = Self.merged(prepared.timings + analysisTimings + output.timings)
        var result = SynthesisResult(samples: output.samples.map { $0 / 32768 }, sampleRate: output.sampleRate,
                                     timings: timings, segments: output.segments.count,
                                     timeToFirstAudio: firstAudio ?? total, totalSeconds: total, appliedControls: controls)
        result.semanticCodes = output.segments.map(\.codes.count).reduce(0, +)
        return result
    }

    /// Timings summed by stage, in ``IndexTTS2Pipeline/stageNames`` order.
    static func merged(_ timings: [StageTiming]) -> [StageTiming] {
        var sums: [String: Double] = [:]
        for t in timings { sums[t.stage, default: 0] += t.seconds }
        return IndexTTS2Pipeline.stageNames.compactMap { name in sums[name].map { StageTiming(stage: name, seconds: $0) } }
    }

    public func preview(_ text: String) -> TextPreview { preview(text, readings: nil) }

    /// How `text` will be read in `readings` mode (nil: the normaliser's): the normalised text, the reading layer's
    /// spans with their rules, the user's overrides (annotations, the folder's glossary.yaml) and the BPE segments.
    /// IndexTTS-2.5: the text its front end prepares for `language` (nil: guessed from the script, as synthesis
    /// does) and its segments, each with its tokens grouped into whole characters.
    public func preview(_ text: String, readings: ReadingMode?) -> TextPreview { preview(text, readings: readings, language: nil) }

    public func preview(_ text: String, readings: ReadingMode?, language: String?) -> TextPreview {
        if let frontEnd = pipeline.indexTTS25FrontEnd?.reading(readings) {
            let language = language?.lowercased() ?? IndexTTS25FrontEnd.guessLanguage(text)
            let segments = (try? pipeline.indexTTS25Segments(text: text, language: language,
                                                            maxTokensPerSegment: maxTextTokensPerSegment, readings: readings)) ?? []
            var preview = TextPreview(text: text, normalized: frontEnd.prepare(text, language: language),
                                      segments: segments.map { segment in
                TextPreview.Segment(text: segment, pinyin: nil, symbols: frontEnd.tokenizer.pieces(frontEnd.tokenizer.encode(segment)),
                                    unread: [], pauseSeconds: Double(intervalSilence) / 1000)
            })
            // The reading layer's spans where 2.5 normalises (zh/en), annotations kept as 2.5 keeps them.
            if ["zh", "zhen", "en"].contains(language), let normalizer = frontEnd.normalizer {
                preview.explain(normalizer.normalizeExplained(text), readings: normalizer.readings)
            }
            preview.language = language
            return preview
        }
        var normalizer = pipeline.normalizer
        if let readings { normalizer?.readings = readings }
        let explained = normalizer?.normalizeExplained(text)
        let normalized = explained?.text ?? text
        let segments = (try? pipeline.segments(text: text, maxTokensPerSegment: maxTextTokensPerSegment, readings: readings)) ?? []
        let model = pipeline.tokenizer?.model
        var preview = TextPreview(text: text, normalized: normalized, segments: segments.map { pieces in
            TextPreview.Segment(text: pieces.joined().replacingOccurrences(of: "▁", with: " ").trimmingCharacters(in: .whitespaces),
                                pinyin: nil, symbols: pieces,
                                unread: pieces.filter { model?.id(of: $0) == model?.unknownID },
                                pauseSeconds: Double(intervalSilence) / 1000)
        })
        if let explained, let normalizer { preview.explain(explained, readings: normalizer.readings) }
        return preview
    }
}
