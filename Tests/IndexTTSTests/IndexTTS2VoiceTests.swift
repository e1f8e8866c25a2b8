import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// IndexTTS2 voices are their conditioning (issue #14 items 4–5) and the engine's controls (issue #16 item 3), on the
/// tiny upstream-recorded e2e fixture (Tests/Fixtures/e2e).
@Suite(.serialized) struct IndexTTS2VoiceTests {
    static func pipeline() throws -> IndexTTS2Pipeline { try IndexTTS2PipelineTests.pipeline() }

    /// An engine with upstream's argmax settings the fixture was recorded with, and its own empty cache.
    static func engine() throws -> IndexTTS2Engine {
        var engine = IndexTTS2Engine(pipeline: try pipeline(), voices: IndexTTS2VoiceCache())
        engine.sampling.topK = 1
        engine.sampling.numBeams = 1
        engine.sampling.maxMelTokens = 24
        engine.sampling.diffusionSteps = 4  // none of these tests compares with the recorded 25-step run
        return engine
    }

    static func referenceClip() throws -> (samples: [Float], sampleRate: Int) {
        let ref = try AudioDecoder.decode(path: Fixtures.path("e2e/ref.wav"))
        return (ref.samples, ref.sampleRate)
    }

    static func request() throws -> SynthesisRequest {
        let run = try Fixtures.json("e2e/default/run.json", as: IndexTTS2PipelineTests.Run.self)
        var request = SynthesisRequest(text: run.infer.text)
        request.referenceAudio = try referenceClip()
        request.seed = 7
        return request
    }

    // MARK: A voice is its conditioning

    @Test func analyzeVoiceMatchesUpstreamStages() throws {
        let engine = try Self.engine()
        let ref = try Self.referenceClip()
        let conditioning = try engine.analyzeVoice(samples: ref.samples, sampleRate: ref.sampleRate)
        #expect(conditioning.engine == "indextts2" && conditioning.model == engine.modelFingerprint)
        #expect(Set(conditioning.tensors.keys) == Set(IndexTTS2SpeakerConditioning.tensorNames))
        #expect(conditioning.metadata["sample_rate"] == "22050" && conditioning.metadata["clip_seconds"] == "2.0")
        let stages = try WeightStore.open(path: Fixtures.path("e2e/default/stages.safetensors"))
        for name in ["spk_cond_emb", "S_ref", "ref_mel", "style", "prompt_condition", "emo_cond_emb"] {
            let actual = try conditioning.tensor(name), expected = try stages.tensor(name)
            try #require(actual.shape == expected.shape, "\(name): \(actual.shape) vs \(expected.shape)")
            let error = IndexTTS2PipelineTests.relativeError(actual, expected)
            // The same bounds as the parity test (spk_cond_emb: the resampler chain, see featureExtractorStages).
            let bound = IndexTTS2PipelineTests.featureExtractorStages.contains(name) ? IndexTTS2PipelineTests.featureExtractorBound : 1e-4
            #expect(error <= bound, "\(name): max rel \(error)")
        }
        // S_ref_codes are the codec's codes of spk_cond_emb: their embeddings (vq2emb) are S_ref.
        let codes = try conditioning.tensor("S_ref_codes")
        #expect(codes.shape == [1, try conditioning.tensor("S_ref").shape[1]])
        let reembedded = try #require(engine.pipeline.semanticCodec).embeddings(codes: [codes.scalars.map { Int($0) }])
        #expect(IndexTTS2PipelineTests.relativeError(reembedded, try conditioning.tensor("S_ref")) <= 1e-5)
    }

    /// Stored conditioning (written, read back, on an engine that never saw the clip) gives the same codes and
    /// samples as the clip itself, through the engine and through the pipeline's own inline analysis.
    @Test func storedConditioningSynthesizesLikeTheClip() throws {
        let engine = try Self.engine()
        let request = try Self.request()
        let fromClip = try engine.synthesize(request)
        #expect(fromClip.appliedControls["speaker_conditioning"] == "analysed")

        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("voice.safetensors").path
        try engine.analyzeVoice(samples: request.referenceAudio!.samples, sampleRate: request.referenceAudio!.sampleRate).write(to: path)
        let stored = try VoiceConditioning.read(path: path)

        let fresh = try Self.engine()  // another cache: nothing analysed yet
        var byConditioning = request
        byConditioning.referenceAudio = nil
        byConditioning.voiceConditioning = stored
        let fromStored = try fresh.synthesize(byConditioning)
        #expect(fromStored.appliedControls["speaker_conditioning"] == "stored")
        #expect(fresh.voices.statistics.count == 0)
        #expect(fromStored.samples == fromClip.samples)
        #expect(!fromStored.timings.contains { $0.stage.hasPrefix("speaker.") })

        // Codes: the pipeline from the stored conditioning and from the clip (inline analysis, no conditioning).
        let viaStored = try fresh.pipeline.synthesize(try fresh.pipelineRequest(for: byConditioning))
        var inline = try Self.engine().pipelineRequest(for: request)
        #expect(inline.speakerConditioning == nil)
        inline.recordStages = false
        let viaClip = try fresh.pipeline.synthesize(inline)
        #expect(viaStored.segments.map(\.codes) == viaClip.segments.map(\.codes))
        #expect(viaStored.samples == viaClip.samples)
        #expect(viaClip.timings.contains { $0.stage == "speaker.w2v_bert" })
    }

    @Test func conditioningWithAWrongShapeIsRejectedNamingTheTensor() throws {
        let engine = try Self.engine()
        let ref = try Self.referenceClip()
        let good = try engine.analyzeVoice(samples: ref.samples, sampleRate: ref.sampleRate)
        var request = try Self.request()
        request.referenceAudio = nil
        for name in IndexTTS2SpeakerConditioning.tensorNames {
            var bad = good
            let t = bad.tensors[name]!
            // A batch of two: every tensor's own check must name it.
            bad.tensors[name] = try Tensor(shape: [2] + Array(t.shape.dropFirst()), scalars: t.scalars + t.scalars)
            request.voiceConditioning = bad
            do {
                try engine.validate(request)
                Issue.record("\(name): a wrong shape was accepted")
            } catch let error as VoiceConditioningError {
                guard case .badShape(_, let tensor, _, _) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(tensor == name)
            }
        }
        var missing = good
        missing.tensors["style"] = nil
        request.voiceConditioning = missing
        #expect(throws: VoiceConditioningError.missingTensor(file: "voice conditioning", name: "style")) { try engine.validate(request) }
        var badCodes = good
        let codes = good.tensors["S_ref_codes"]!
        badCodes.tensors["S_ref_codes"] = try Tensor(shape: codes.shape, scalars: codes.scalars.map { _ in 1e6 })
        request.voiceConditioning = badCodes
        #expect(throws: VoiceConditioningError.self) { try engine.validate(request) }
    }

    /// Conditioning from other weights or another engine is ignored (the clip is analysed again, with a warning),
    /// or refused when there is no clip.
    @Test func conditioningFromOtherWeightsIsIgnored() throws {
        let engine = try Self.engine()
        let ref = try Self.referenceClip()
        let good = try engine.analyzeVoice(samples: ref.samples, sampleRate: ref.sampleRate)
        for (engineID, model) in [("indextts2", "sha256:" + String(repeating: "0", count: 64)), ("default", engine.modelFingerprint)] {
            var other = good
            other.engine = engineID
            other.model = model
            // Zeroed tensors: were they used, the audio would differ from the clip's.
            for (k, t) in other.tensors { other.tensors[k] = try Tensor(shape: t.shape, scalars: [Float](repeating: 0, count: t.count)) }
            var request = try Self.request()
            request.voiceConditioning = other
            let result = try engine.synthesize(request)
            #expect(result.appliedControls["speaker_conditioning"] == "cached")
            #expect(result.appliedControls["warning"]?.contains("analysed again") == true)
            let plain = try engine.synthesize(try Self.request())
            #expect(result.samples == plain.samples)
            request.referenceAudio = nil
            #expect(throws: SynthesisError.self) { try engine.validate(request) }
        }
    }

    @Test func repeatedClipHitsTheCache() throws {
        let engine = try Self.engine()
        let request = try Self.request()
        let first = try engine.synthesize(request)
        #expect(first.appliedControls["speaker_conditioning"] == "analysed")
        #expect(first.timings.contains { $0.stage == "speaker.w2v_bert" && $0.seconds > 0 })
        var copy = engine  // copies share the cache
        copy.sampling.diffusionSteps = 3
        let second = try copy.synthesize(request)
        #expect(second.appliedControls["speaker_conditioning"] == "cached")
        #expect(!second.timings.contains { $0.stage.hasPrefix("speaker.") })
        _ = try engine.analyzeVoice(samples: request.referenceAudio!.samples, sampleRate: request.referenceAudio!.sampleRate)
        let stats = engine.voices.statistics
        #expect(stats.count == 1 && stats.hits == 2 && stats.misses == 1)
        // Another clip (one sample changed) is another voice.
        var other = request
        var samples = request.referenceAudio!.samples
        samples[100] += 1e-3
        other.referenceAudio = (samples, request.referenceAudio!.sampleRate)
        #expect(try engine.synthesize(other).appliedControls["speaker_conditioning"] == "analysed")
        #expect(engine.voices.statistics.count == 2)
    }

    @Test func cacheIsBoundedLeastRecentlyUsedFirst() throws {
        let cache = IndexTTS2VoiceCache(capacity: 2)
        let t = try Tensor(shape: [1, 1], scalars: [0])
        let value = IndexTTS2SpeakerConditioning(spkCondEmb: t, sRef: t, sRefCodes: t, refMel: t, style: t, promptCondition: t,
                                                 emoCondEmb: t, clipSeconds: 1, sampleRate: 16_000)
        cache.insert(value, for: "a")
        cache.insert(value, for: "b")
        #expect(cache.lookup("a") != nil)  // a is now the most recent
        cache.insert(value, for: "c")  // evicts b
        #expect(cache.lookup("b") == nil && cache.lookup("a") != nil && cache.lookup("c") != nil)
        #expect(cache.statistics.count == 2)
        #expect(IndexTTS2VoiceCache.key(samples: [0, 1], sampleRate: 16_000) != IndexTTS2VoiceCache.key(samples: [0, 1], sampleRate: 22_050))
        #expect(IndexTTS2VoiceCache.key(samples: [0, 1], sampleRate: 16_000) == IndexTTS2VoiceCache.key(samples: [0, 1], sampleRate: 16_000))
    }

    @Test func badClipsAreTypedErrors() throws {
        let engine = try Self.engine()
        #expect(throws: SynthesisError.self) { try engine.analyzeVoice(samples: [], sampleRate: 22_050) }
        #expect(throws: SynthesisError.self) { try engine.analyzeVoice(samples: [Float](repeating: 0, count: 22_050), sampleRate: 22_050) }
        #expect(throws: SynthesisError.self) { try engine.analyzeVoice(samples: [0.1, .nan], sampleRate: 22_050) }
    }

    // MARK: Fingerprint

    @Test func fingerprintIdentifiesTheWeightsNotThePath() throws {
        let source = URL(fileURLWithPath: Fixtures.path("e2e/model"))
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("elsewhere")
        try FileManager.default.copyItem(at: source, to: copy)
        let original = try IndexTTS2ModelFolder.resolve(root: source.path).fingerprint
        #expect(original.hasPrefix("sha256:") && original.count == 7 + 64)
        #expect(try IndexTTS2ModelFolder.resolve(root: copy.path).fingerprint == original)
        #expect(try Self.pipeline().folder.fingerprint == original)
        // Another config.yaml (a comment is enough) or other weight bytes are other weights.
        let config = copy.appendingPathComponent("config.yaml")
        let text = try String(contentsOf: config, encoding: .utf8)
        try (text + "\n# changed\n").write(to: config, atomically: true, encoding: .utf8)
        let changedConfig = try IndexTTS2ModelFolder.resolve(root: copy.path).fingerprint
        #expect(changedConfig != original)
        try text.write(to: config, atomically: true, encoding: .utf8)
        // One weight byte at a sampled offset (the 9th of 16) of w2v-BERT's safetensors, well past its header.
        let w2v = copy.appendingPathComponent("hf_cache/w2v-bert-2.0/model.safetensors")
        var bytes = try Data(contentsOf: w2v)
        bytes[(bytes.count - 4096) * 8 / 15 + 100] ^= 0x01
        try bytes.write(to: w2v)
        let changedWeights = try IndexTTS2ModelFolder.resolve(root: copy.path).fingerprint
        #expect(changedWeights != original && changedWeights != changedConfig)
    }

    // MARK: Controls

    @Test func everyPresetHasADocumentedVector() throws {
        let engine = try Self.engine()
        #expect(engine.info.presets.map(\.id) == EmotionPreset.all.map(\.id))
        #expect(engine.info.presets.map(\.label) == EmotionPreset.all.map(\.label))
        for preset in EmotionPreset.all {
            let vector = try #require(IndexTTS2EmotionPresets.vectors[preset.id], "\(preset.id)")
            #expect(vector.count == 8 && vector.allSatisfy { $0 >= 0 })
            #expect(abs(vector.reduce(0, +) - 0.8) < 1e-9, "\(preset.id)")
            #expect(IndexTTS2EmotionPresets.preset(named: preset.label)?.vector == vector)
        }
        #expect(IndexTTS2EmotionPresets.preset(named: "愉快")?.vector == [0.8, 0, 0, 0, 0, 0, 0, 0])
        #expect(IndexTTS2EmotionPresets.preset(named: "平静")?.vector == [0, 0, 0, 0, 0, 0, 0, 0.8])
    }

    /// A preset reaches `emovec` as its vector scaled by the strength (`emo_alpha`), mixed with the speaker-matched
    /// emotion-matrix rows: the stage dump equals the mix computed here from the recorded inputs.
    @Test(arguments: zip(["愉快", "angry", "温柔"], [0.5, 1.0, 0.3]))
    func presetReachesEmovec(_ name: String, _ strength: Double) throws {
        let engine = try Self.engine()
        var request = try Self.request()
        request.emotion = .preset(name, strength: strength)
        var r = try engine.pipelineRequest(for: request)
        r.recordStages = true
        let output = try engine.pipeline.synthesize(r)
        let vector = try #require(IndexTTS2EmotionPresets.preset(named: name)?.vector)
        let weights = EmotionMatrices.scaled(vector, alpha: strength)
        #expect(output.emotionWeights == weights)
        let matrices = engine.pipeline.emotionMatrices
        let rows = try matrices.speakerMatchedRows(style: try #require(output.stages["style"]))
        let expected = try matrices.mix(weights: weights.map(Float.init), rows: rows, emovec: try #require(output.stages["emovec_merged"]))
        let emovec = try #require(output.stages["emovec"])
        #expect(emovec.count == expected.count && emovec.scalars == expected.scalars)
        #expect(emovec.scalars != output.stages["emovec_merged"]!.scalars)
        let result = try engine.synthesize(request)
        #expect(result.appliedControls["emo_alpha"] == IndexTTS2EmotionPresets.format(strength))
        #expect(result.appliedControls["emo_vector"] == weights.map(IndexTTS2EmotionPresets.format).joined(separator: ","))
    }

    @Test func useRandomChoosesRandomRows() throws {
        let engine = try Self.engine()
        var request = try Self.request()
        request.emotion = .vector([0, 0, 0, 0, 0, 0, 0.5, 0.5])
        request.emotionUseRandom = true
        let r = try engine.pipelineRequest(for: request)
        guard case .vector(let w, let alpha, let useRandom) = r.emotion else { Issue.record("not a vector"); return }
        #expect(w == [0, 0, 0, 0, 0, 0, 0.5, 0.5] && alpha == 1 && useRandom)
        #expect(try engine.synthesize(request).appliedControls["use_random"] == "true")
    }

    /// Speed 2 halves the S2M target length (IndexTTS-2.5's duration factor 0.5); speed 1 is upstream 2.0's length.
    @Test func speedScalesTheTargetLength() throws {
        let engine = try Self.engine()
        var request = try Self.request()
        var r1 = try engine.pipelineRequest(for: request)
        #expect(r1.durationFactor == 1)
        r1.recordStages = true
        let normal = try engine.pipeline.synthesize(r1)
        request.speed = 2
        var r2 = try engine.pipelineRequest(for: request)
        #expect(r2.durationFactor == 0.5)
        r2.recordStages = true
        let fast = try engine.pipeline.synthesize(r2)
        let codes = normal.segments[0].codes.count
        #expect(fast.segments.map(\.codes) == normal.segments.map(\.codes))  // the GPT is untouched
        let normalFrames = Int(try #require(normal.stages["target_lengths"]).scalars[0])
        let fastFrames = Int(try #require(fast.stages["target_lengths"]).scalars[0])
        #expect(normalFrames == LengthRegulator.targetFrames(codes: codes))
        #expect(fastFrames == Int(Double(codes) * 1.72 * 0.5))
        #expect(abs(fastFrames * 2 - normalFrames) <= 1)
        #expect(fast.samples.count == fastFrames * 256 && normal.samples.count == normalFrames * 256)
        #expect(IndexTTS2Pipeline.targetFrames(codes: 100, durationFactor: 0.5) == 86)
        #expect(IndexTTS2Pipeline.targetFrames(codes: 1, durationFactor: 0.25) == 1)
    }

    @Test func invalidControlsAreTypedErrors() throws {
        let engine = try Self.engine()
        let base = try Self.request()
        for speed in [0, -1, 5, .nan, .infinity] as [Double] {
            var r = base
            r.speed = speed
            #expect(throws: SynthesisError.self) { try engine.validate(r) }
        }
        var r = base
        r.emotion = .preset("bored", strength: 1)
        #expect { try engine.validate(r) } throws: { error in
            guard case SynthesisError.invalidParameter(let name, let reason) = error else { return false }
            return name == "emotion" && reason.contains("calm (平静)")
        }
        r.emotion = .preset("happy", strength: 1.5)
        #expect(throws: SynthesisError.invalidParameter(name: "emotion strength", reason: "must be in 0…1, got 1.5")) {
            try engine.validate(r)
        }
        // The e2e folder has no qwen0.6bemo4-merge/: emotion text is refused naming what is missing.
        r.emotion = .text("sounds delighted")
        #expect { try engine.validate(r) } throws: { error in
            guard case SynthesisError.modelsMissing(let what) = error else { return false }
            return what.contains("QwenEmotion") && what.contains("config.json") && what.contains("qwen0.6bemo4-merge")
        }
        r.emotion = .vector([0.5, 0.5])
        #expect(throws: SynthesisError.self) { try engine.validate(r) }
        r.emotion = .vector([0, 0, 0, 0, 0, 0, 0, -1])
        #expect(throws: SynthesisError.self) { try engine.validate(r) }
    }

    /// Emotion text (infer's use_emo_text): QwenEmotion's vector, scaled by emo_alpha, takes the vector path; an
    /// empty description reads the spoken text. The tiny random QwenEmotion fixture stands in for qwen0.6bemo4-merge.
    @Test func emotionTextIsReadByQwenEmotion() throws {
        let folder = Fixtures.path("qwen_emotion/qwen0.6bemo4-merge")
        var engine = IndexTTS2Engine(pipeline: try Self.pipeline(), voices: IndexTTS2VoiceCache(), emotionTextFolder: folder)
        engine.sampling.topK = 1
        engine.sampling.numBeams = 1
        engine.sampling.maxMelTokens = 24
        engine.sampling.diffusionSteps = 4
        var request = try Self.request()
        request.emotion = .text("语气非常开心")
        request.emotionTextWeight = 0.6
        try engine.validate(request)
        #expect(!engine.emotionText.isLoaded)  // validation does not load the model
        let expected = try QwenEmotion.load(folder: folder).analyze("语气非常开心", options: QwenEmotionOptions(seed: 7))
        let r = try engine.pipelineRequest(for: request)
        guard case .vector(let weights, let alpha, let useRandom) = r.emotion else { Issue.record("not a vector"); return }
        #expect(weights == expected.vector && alpha == 0.6 && !useRandom)
        let result = try engine.synthesize(request)
        #expect(result.appliedControls["emotion"] == "text")
        #expect(result.appliedControls["emo_vector"]
            == EmotionMatrices.scaled(expected.vector, alpha: 0.6).map(IndexTTS2EmotionPresets.format).joined(separator: ","))
        #expect(result.timings.contains { $0.stage == "emotion.text" && $0.seconds > 0 })
        // No description: the spoken text is read.
        request.emotion = .text("")
        let spoken = try QwenEmotion.load(folder: folder).analyze(request.text, options: QwenEmotionOptions(seed: 7))
        guard case .vector(let w2, _, _) = try engine.pipelineRequest(for: request).emotion else { Issue.record("not a vector"); return }
        #expect(w2 == spoken.vector)
        request.emotionTextWeight = 2
        #expect(throws: SynthesisError.invalidParameter(name: "emo_alpha", reason: "must be in 0…1, got 2.0")) {
            try engine.validate(request)
        }
    }

    /// The request's reading mode reaches the text front end: IndexTTS2's own reading of "大约1/4的人" misplaces the
    /// fraction; the corrected reading (the default) says 四分之一 where it stands.
    @Test func readingsModeReachesTheFrontEnd() throws {
        try #require(IndexTTS2PipelineTests.haveGrammars, "WeTextProcessing grammars (scripts/fetch-default-voice.sh)")
        let engine = try Self.engine()
        let text = "大约1/4的人"
        let corrected = try engine.pipeline.segments(text: text, maxTokensPerSegment: 120)
        let upstream = try engine.pipeline.segments(text: text, maxTokensPerSegment: 120, readings: .upstream)
        #expect(corrected != upstream)
        var request = try Self.request()
        request.text = text
        request.readings = .upstream
        let r = try engine.pipelineRequest(for: request)
        #expect(r.readings == .upstream)
        #expect(try engine.pipeline.segments(text: r.text, maxTokensPerSegment: r.maxTextTokensPerSegment, readings: r.readings) == upstream)
        request.readings = nil
        #expect(try engine.pipelineRequest(for: request).readings == nil)

        // The preview in either mode: the corrected reading with the rule of each span, annotations as overrides.
        let preview = engine.preview(text + "，<行|hang2>")
        #expect(preview.readings == "corrected" && preview.language == "zh" && preview.normalized == "大约四分之一的人,hang2")
        #expect(preview.spans?.map(\.rule) == ["zh.fraction"] && preview.overrides?.map(\.rule) == ["user.annotation"])
        #expect(engine.preview(text).segments.map(\.symbols) == corrected)
        let plain = engine.preview(text, readings: .upstream)
        #expect(plain.readings == "upstream" && plain.spans == [] && plain.segments.map(\.symbols) == upstream)
    }

    // MARK: Timings

    @Test func resultCarriesPerStageTimingsAndAppliedControls() throws {
        let engine = try Self.engine()
        var request = try Self.request()
        request.sampling.maxTextTokensPerSegment = 16
        let result = try engine.synthesize(request)
        let stages = result.timings.map(\.stage)
        #expect(Set(stages).isSubset(of: Set(IndexTTS2Pipeline.stageNames)))
        #expect(stages == IndexTTS2Pipeline.stageNames.filter { stages.contains($0) })  // pipeline order
        for stage in ["text", "speaker.features", "speaker.w2v_bert", "speaker.codec", "speaker.mel", "speaker.campplus",
                      "speaker.prompt", "speaker.emotion", "emotion", "gpt.conditioning", "gpt.generation", "gpt.latent", "s2m", "bigvgan"] {
            #expect(stages.contains(stage), "\(stage) missing")
        }
        #expect(result.timings.allSatisfy { $0.seconds >= 0 })
        #expect(result.timings.reduce(0) { $0 + $1.seconds } <= result.totalSeconds + 1e-3)
        #expect(result.segments > 1 && result.timeToFirstAudio > 0 && result.timeToFirstAudio < result.totalSeconds)
        let c = result.appliedControls
        #expect(c["top_k"] == "1" && c["num_beams"] == "1" && c["max_mel_tokens"] == "24" && c["do_sample"] == "true")
        #expect(c["top_p"] == "0.8" && c["temperature"] == "0.8" && c["repetition_penalty"] == "10" && c["length_penalty"] == "0")
        #expect(c["diffusion_steps"] == "4" && c["inference_cfg_rate"] == "0.7" && c["seed"] == "7")
        #expect(c["max_text_tokens_per_segment"] == "16" && c["interval_silence"] == "200")
        #expect(c["emotion"] == "speaker" && c["speed"] == "1" && c["duration_factor"] == "1")
    }
}
