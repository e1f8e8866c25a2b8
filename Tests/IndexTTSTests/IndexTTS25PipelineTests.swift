import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSText
import IndexTTSWeights
import Testing

/// IndexTTS-2.5 end to end against upstream's unmodified `infer_v2_5.IndexTTS2.infer` on a tiny random 2.5 folder
/// (tools/fixtures/generate_e2e25.py): the same pipeline as 2.0's, configured by the folder's `version: 2.5`.
@Suite(.serialized) struct IndexTTS25PipelineTests {
    struct Run: Decodable {
        struct Infer: Decodable {
            let text, lang: String
            let top_k, num_beams, max_mel_tokens: Int
            let emo_vector: [Double]?
            let emo_alpha: Double?
            let max_text_tokens_per_segment: Int?
            let duration_factor: Double?
        }
        let infer: Infer
        let segment_ids: [[Int]]
        let codes: [[Int]]
        let stop_token_generated: [Bool]
        let language_id: Int
    }

    static let loaded = Result {
        try IndexTTS2Pipeline.load(modelDirectory: Fixtures.path("e2e25/model"),
                                   textGrammars: IndexTTS2PipelineTests.haveGrammars ? IndexTTS2PipelineTests.grammars : nil)
    }
    static func pipeline() throws -> IndexTTS2Pipeline { try loaded.get() }
    static let cases = ["default", "english", "segments"]
    static let exact: Set<String> = ["text_tokens", "lang", "codes_raw", "codes", "target_lengths"]

    static func request(_ name: String, idsFromRun: Bool) throws -> (IndexTTS2Request, Run, WeightStore) {
        let run = try Fixtures.json("e2e25/\(name)/run.json", as: Run.self)
        let stages = try WeightStore.open(path: Fixtures.path("e2e25/\(name)/stages.safetensors"))
        var request = IndexTTS2Request(text: run.infer.text, speaker: try IndexTTS2Clip.load(path: Fixtures.path("e2e25/ref.wav")))
        request.language = run.infer.lang
        request.sampling.topK = run.infer.top_k
        request.sampling.numBeams = run.infer.num_beams
        request.sampling.maxMelTokens = run.infer.max_mel_tokens
        if let m = run.infer.max_text_tokens_per_segment { request.maxTextTokensPerSegment = m }
        if let d = run.infer.duration_factor { request.durationFactor = d }
        if let vector = run.infer.emo_vector {
            request.emotion = .vector(vector, alpha: run.infer.emo_alpha ?? 1, useRandom: false)
        }
        for k in run.segment_ids.indices {
            request.cfmNoise[k] = try stages.tensor(k == 0 ? "cfm_noise" : "cfm_noise@\(k)")
        }
        request.recordStages = true
        if idsFromRun { request.segmentIDs = run.segment_ids }
        return (request, run, stages)
    }

    @Test func theFolderIsReadAsIndexTTS25() throws {
        let pipeline = try Self.pipeline()
        #expect(pipeline.folder.generation == .indexTTS25)
        #expect(pipeline.folder.bpe.hasSuffix("/multilingual_zh_ja_yue_char_del.tiktoken"))
        #expect(pipeline.folder.semanticCodec.hasSuffix("/e2e25/model/codec.pth"))
        #expect(pipeline.gpt.configuration.speakerConditioning == .campplus)
        #expect(pipeline.enhancedCodec != nil && pipeline.semanticCodec == nil)
        #expect(pipeline.tokenizer == nil && pipeline.indexTTS25FrontEnd != nil)
        // A 2.5 folder without its codec or tokenizer names them, with where they come from.
        let copy = try Fixtures.temporaryDirectory().appendingPathComponent("e2e25-model")
        try FileManager.default.copyItem(atPath: Fixtures.path("e2e25/model"), toPath: copy.path)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("codec.pth"))
        try FileManager.default.removeItem(at: copy.appendingPathComponent(IndexTTS2ModelFolder.tiktokenFile))
        do {
            _ = try IndexTTS2ModelFolder.resolve(root: copy.path)
            Issue.record("a 2.5 folder without codec.pth and the .tiktoken resolved")
        } catch let error as IndexTTS2LoadError {
            let missing = error.problems.map { ($0.path as NSString).lastPathComponent }
            #expect(Set(missing) == ["codec.pth", IndexTTS2ModelFolder.tiktokenFile])
            #expect(error.problems.allSatisfy { $0.source.contains("IndexTTS-2.5") })
        }
    }

    @Test(arguments: cases) func everyStageMatchesUpstream(_ name: String) throws {
        let (request, run, expected) = try Self.request(name, idsFromRun: true)
        let output = try Self.pipeline().synthesize(request)
        #expect(output.segments.map(\.codes) == run.codes)
        #expect(output.segments.map { $0.stop == .stopToken } == run.stop_token_generated)
        #expect(output.segments.allSatisfy { $0.latentPositions == 0 })  // no latent pass in 2.5
        // The speaker features (and S_ref, which is them) carry the resampler's 1.2e-4 as in 2.0
        // (IndexTTS2PipelineTests.featureExtractorStages).
        let compared = try IndexTTS2PipelineTests.compareStages(output, expected, "IndexTTS-2.5 parity \(name)",
                                                                exact: Self.exact, featureStages: ["spk_cond_emb", "S_ref"])
        #expect(compared >= 15 * run.segment_ids.count, "\(name): only \(compared) stages compared")
        let written = try AudioDecoder.decode(path: Fixtures.path("e2e25/\(name)/output.wav"))
        #expect(written.sampleRate == 22_050 && written.samples.count == output.samples.count)
        let db = IndexTTS2PipelineTests.snr(output.samples.map { $0 / 32768 }, written.samples)
        print("IndexTTS-2.5 parity \(name) output.wav: SNR \(db) dB")
        #expect(db >= 40)
    }

    /// The text path on the real normaliser (WeTextProcessing): upstream's segments and ids exactly.
    @Test func textPathMatchesUpstream() throws {
        try #require(IndexTTS2PipelineTests.haveGrammars, "WeTextProcessing grammars not available (scripts/fetch-default-voice.sh)")
        let pipeline = try Self.pipeline()
        let frontEnd = try #require(pipeline.indexTTS25FrontEnd)
        for name in Self.cases {
            let (_, run, _) = try Self.request(name, idsFromRun: false)
            let segments = try pipeline.indexTTS25Segments(text: run.infer.text, language: run.infer.lang,
                                                           maxTokensPerSegment: run.infer.max_text_tokens_per_segment ?? 120,
                                                           readings: .upstream)
            #expect(segments.map { frontEnd.tokenIDs(segment: $0, language: run.infer.lang) } == run.segment_ids, "\(name)")
            #expect(TiktokenTokenizer.indexTTS25LanguageID(run.infer.lang) == run.language_id)
        }
    }

    /// The product path (SynthesisRequest → IndexTTS2Engine → pipeline) on a 2.5 folder: `lang` reaches the
    /// pipeline (or is guessed and said so), a malformed one is refused, a 2.0 model ignores it with a warning.
    @Test func theEngineSpeaksWithTheRequestedLanguage() throws {
        var engine = IndexTTS2Engine(pipeline: try Self.pipeline())
        engine.sampling.topK = 1
        engine.sampling.numBeams = 1
        engine.sampling.maxMelTokens = 12
        let run = try Fixtures.json("e2e25/english/run.json", as: Run.self)
        let ref = try AudioDecoder.decode(path: Fixtures.path("e2e25/ref.wav"))
        var request = SynthesisRequest(text: run.infer.text)
        request.referenceAudio = (ref.samples, ref.sampleRate)
        request.language = "en"
        let prepared = try engine.pipelineRequest(for: request)
        #expect(prepared.language == "en")
        let result = try engine.synthesize(request)
        #expect(result.appliedControls["lang"] == "en" && result.segments == 1 && result.samples.contains { $0 != 0 })
        // The codes it generated (at most max_mel_tokens), for the server's usage: 2.5 makes 25 per second of speech.
        let codes = try #require(result.semanticCodes)
        #expect(codes >= 1 && codes <= 12, "\(codes)")
        #expect(Int(IndexTTS2Pipeline.targetFrames(contentFrames: 2 * codes, durationFactor: 1)) * 256 == result.samples.count)
        request.language = nil
        #expect(try engine.synthesize(request).appliedControls["lang"] == "en (guessed from the text)")
        request.language = "EN!"
        #expect(throws: SynthesisError.self) { try engine.validate(request) }
        request.language = "en"
        // Streaming: the applied controls name the codec lookahead (the tiny codec's whole context radius, 10).
        request.streaming = StreamingOptions(enabled: true)
        let streamed = try engine.synthesize(request)
        #expect(streamed.appliedControls["stream"] == "chunk 100, overlap 5, first 100, lookahead 10",
                "\(streamed.appliedControls)")
        #expect(streamed.samples.contains { $0 != 0 })
        request.streaming = StreamingOptions(lookahead: 2001)
        #expect(throws: SynthesisError.invalidParameter(name: "stream.lookahead", reason: "must be 0…2000 codes, got 2001")) {
            try engine.validate(request)
        }
        request.streaming = nil
        // The preview shows the text 2.5's front end prepares for the language, its segments and their tokens.
        let preview = engine.preview("Keep: 8:00 <word|w er1 d>", readings: .upstream, language: "EN")
        #expect(preview.language == "en" && preview.segments.count == 1, "\(preview.language ?? "-") \(preview.segments.count)")
        // The punctuation map runs first (`:` → `,`), then normalisation and lower case.
        #expect(preview.normalized == frontEndPrepared(engine, "Keep: 8:00 <word|w er1 d>"), "\(preview.normalized)")
        #expect(preview.normalized.hasPrefix("keep,"), "\(preview.normalized)")
        #expect(preview.normalized.contains("<|SPECIAL_TOKEN_1|>W ER1 D<|SPECIAL_TOKEN_1|>"))
        #expect(preview.segments.first?.symbols.joined() == preview.segments.first?.text)
        #expect(engine.preview("今天天气很好。").language == "zh")

        // A voice's stored conditioning: no S_ref_codes in 2.5; read back, it speaks as the clip does.
        let voice = try engine.analyzeVoice(samples: ref.samples, sampleRate: ref.sampleRate)
        #expect(voice.tensors["S_ref_codes"] == nil && voice.tensors["S_ref"] != nil)
        let stored = try #require(try engine.storedConditioning(voice))
        #expect(stored.sRefCodes == nil && stored.sRef.scalars == stored.spkCondEmb.scalars)
        var fromVoice = SynthesisRequest(text: run.infer.text)
        fromVoice.voiceConditioning = voice
        fromVoice.language = "en"
        fromVoice.seed = 5
        var fromClip = fromVoice
        fromClip.voiceConditioning = nil
        fromClip.referenceAudio = (ref.samples, ref.sampleRate)
        let a = try engine.synthesize(fromVoice), b = try engine.synthesize(fromClip)
        #expect(a.appliedControls["speaker_conditioning"] == "stored" && a.samples == b.samples)

        var engine20 = IndexTTS2Engine(pipeline: try IndexTTS2PipelineTests.pipeline())
        engine20.sampling.maxMelTokens = 4
        var request20 = SynthesisRequest(text: "你好")
        request20.referenceAudio = (ref.samples, ref.sampleRate)
        request20.language = "zh"
        #expect(try engine20.pipelineRequest(for: request20).language == nil)
        let spoken20 = try engine20.synthesize(request20)
        #expect(spoken20.appliedControls["warning"]?.contains("lang 'zh' is ignored") == true, "\(spoken20.appliedControls)")
        // 2.0 streams without a codec lookahead: a requested one is ignored, with a warning.
        request20.language = nil
        request20.streaming = StreamingOptions(lookahead: 3)
        let streamed20 = try engine20.synthesize(request20)
        #expect(streamed20.appliedControls["stream"] == "chunk 100, overlap 5, first 100", "\(streamed20.appliedControls)")
        #expect(streamed20.appliedControls["warning"]?.contains("stream.lookahead is ignored") == true,
                "\(streamed20.appliedControls)")
    }

    @Test func requestsThe2_5PathCannotServeAreRefused() throws {
        let pipeline = try Self.pipeline()
        #expect(throws: IndexTTS2Error.self) { try pipeline.segments(text: "text", maxTokensPerSegment: 10) }
        #expect(throws: IndexTTS2Error.self) {
            try pipeline.indexTTS25Segments(text: " ", language: "en", maxTokensPerSegment: 10)
        }
        #expect(IndexTTS25FrontEnd.guessLanguage("今天") == "zh" && IndexTTS25FrontEnd.guessLanguage("ですね") == "ja")
        #expect(IndexTTS25FrontEnd.guessLanguage("hello") == "en" && IndexTTS25FrontEnd.guessLanguage("مرحبا") == "ar")
    }
}

/// What the engine's 2.5 front end prepares for `text` in English, upstream readings.
func frontEndPrepared(_ engine: IndexTTS2Engine, _ text: String) -> String {
    engine.pipeline.indexTTS25FrontEnd?.reading(.upstream).prepare(text, language: "en") ?? ""
}
