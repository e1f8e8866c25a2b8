import Foundation
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// IndexTTS-2.5's GPT: `UnifiedVoice` in the CAMPPlus speaker mode, against upstream's `model_v2.UnifiedVoice(...,
/// spk_cond_mode="campplus")` at index-tts ee40fa7 (tools/fixtures/generate_unifiedvoice25.py, tiny random
/// configuration saved as gpt.pth + a config.yaml saying `version: 2.5`).
struct UnifiedVoice25Tests {
    struct Decoding: Decodable {
        let max_new_tokens: Int
        let greedy_codes, beam_sample_codes: [Int]
        let beam_sample_draws: [Double]
    }

    static let io = try! WeightStore.open(path: Fixtures.path("models/unifiedvoice25_io.safetensors"))
    static let decoding = try! Fixtures.json("models/unifiedvoice25_decoding.json", as: Decoding.self)
    static let model = try! UnifiedVoice.load(checkpoint: Fixtures.path("models/unifiedvoice25/gpt.pth"),
                                              configYAML: Fixtures.path("models/unifiedvoice25/config.yaml"))

    static func ids(_ key: String) throws -> [Int] { try io.tensor(key).scalars.map { Int($0) } }

    static func split(_ codes: [Int]) -> (codes: [Int], stop: GenerationStop) {
        codes.last == 49 ? (Array(codes.dropLast()), .stopToken) : (codes, .maxLength)
    }

    static func prefix() throws -> Tensor {
        try model.prefix(conditioning: model.speakerToken(io.tensor("style")), emotionVector: io.tensor("emovec"))
    }

    static func prompt(language: Int? = 1) throws -> Tensor {
        try model.promptEmbeddings(prefix: prefix(), textIDs: ids("text_ids"), language: language)
    }

    @Test func theFileVersionSelectsTheSpeakerMode() throws {
        #expect(Self.model.configuration.speakerConditioning == .campplus && Self.model.prefixLength == 3)
        #expect(Self.model.configuration.speakerEmbeddingDim == 192)
        let section = "gpt: {model_dim: 64, layers: 2, heads: 4}"
        func mode(_ yaml: String) throws -> UnifiedVoiceConfiguration.SpeakerConditionMode {
            try UnifiedVoiceConfiguration.read(ConfigYAMLDocument(yaml: yaml)).speakerConditioning
        }
        #expect(try mode(section) == .conformer)  // no version: IndexTTS2's first files
        #expect(try mode(section + "\nversion: 2.0") == .conformer)
        #expect(try mode(section + "\nversion: '2.5'") == .campplus)
        #expect(try mode("gpt: {model_dim: 64, layers: 2, heads: 4, spk_cond_mode: conformer}\nversion: 2.5") == .conformer)
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "version",
                                                        reason: "'3.0' is not a model generation this build runs (2.0 or 2.5)")) {
            try UnifiedVoiceConfiguration.read(ConfigYAMLDocument(yaml: section + "\nversion: 3.0", source: "c.yaml"))
        }
        #expect(throws: ModelError.self) { try mode("gpt: {spk_cond_mode: perceiver}") }
        #expect(ModelGeneration(version: 2.5) == .indexTTS25 && ModelGeneration(version: 2) == .indexTTS2)
        #expect(ModelGeneration(version: " 2.0") == .indexTTS2 && ModelGeneration(version: 2.45) == nil)
        #expect(ModelGeneration(version: [2.5]) == nil)
        #expect(ModelGeneration.indexTTS25.codesPerSecond == 25 && ModelGeneration.indexTTS2.codesPerSecond == 50)
        // The 2.5 file keeps 2.0's `condition_type`, which the CAMPPlus mode does not build; another one is accepted
        // there and refused in the Conformer mode.
        #expect(throws: ModelError.self) { try mode("gpt: {condition_type: perceiver}") }
        #expect(try mode("gpt: {condition_type: perceiver}\nversion: 2.5") == .campplus)
    }

    @Test func loadingNamesMissingAndUnexpectedKeys() throws {
        let store = try WeightStore.open(path: Fixtures.path("models/unifiedvoice25/gpt.pth"))
        #expect(!store.keys.contains { $0.hasPrefix("conditioning_encoder.") || $0.hasPrefix("speed_emb.") })
        try expectKeyMismatch(store, missing: "lang_embedding.weight", unexpected: "extra.weight") {
            try UnifiedVoice.load(from: $0, configuration: Self.model.configuration)
        }
        try expectKeyMismatch(store, missing: "spk_emb_proj.bias", unexpected: "speed_embedding.weight") {
            // Ignored are exactly 2.0's speaker modules by their prefixes: `speed_emb.` yes, a lookalike no.
            let renamed = try Self.withKeys(of: $0, adding: "speed_emb.weight")
            return try UnifiedVoice.load(from: renamed, configuration: Self.model.configuration)
        }
        // 2.0's speaker modules are not used by the CAMPPlus mode and load without complaint where a file has them.
        let with20 = try Self.withKeys(of: store, adding: "conditioning_encoder.embed.out.0.weight", "perceiver_encoder.latents",
                                       "speed_emb.weight")
        _ = try UnifiedVoice.load(from: with20, configuration: Self.model.configuration)
        // The Conformer mode asks for them.
        var conformer = Self.model.configuration
        conformer.spkCondMode = .conformer
        #expect(throws: WeightsError.self) { try UnifiedVoice.load(from: store, configuration: conformer) }
    }

    /// `store`'s tensors plus zero tensors under `extra` names, as a new safetensors store.
    static func withKeys(of store: WeightStore, adding extra: String...) throws -> WeightStore {
        var tensors: [String: Tensor] = [:]
        for key in store.keys { tensors[key] = try store.tensor(key) }
        for key in extra { tensors[key] = Tensor.zeros([1]) }
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("with-keys.safetensors").path
        try SafeTensorsWriter.write(tensors, to: path)
        return try WeightStore.open(path: path)
    }

    @Test func speakerTokenAndEmotionVectorMatchUpstream() throws {
        expectClose(try Self.model.speakerToken(Self.io.tensor("style")), try Self.io.tensor("speaker_token"), "spk_emb_proj")
        expectClose(try Self.model.emotionVector(Self.io.tensor("emo_cond_emb")), try Self.io.tensor("emovec"), "get_emovec")
        #expect(throws: ModelError.self) { try Self.model.speakerToken(Tensor.zeros([1, 191])) }
        #expect(throws: ModelError.self) { try Self.model.speakerToken(Tensor.zeros([2, 192])) }
        // The CAMPPlus mode has no speaker Conformer, and 2.0's GPT no speaker token.
        #expect(throws: ModelError.self) { try Self.model.conditioning(Tensor.zeros([1, 23, 20])) }
        #expect(throws: ModelError.self) { try UnifiedVoiceTests.model.speakerToken(Tensor.zeros([1, 192])) }
    }

    @Test func promptMatchesPrepareGptInputs() throws {
        let prefix = try Self.prefix()
        #expect(prefix.shape == [1, 3, 64])
        #expect(try prefix.sliced(axis: 1, range: 1..<3).scalars.allSatisfy { $0 == 0 })
        expectClose(try Self.prompt(), try Self.io.tensor("inputs_embeds"), "inputs_embeds (langs [1])")
        expectClose(try Self.prompt(language: nil), try Self.io.tensor("inputs_embeds_no_language"), "inputs_embeds (langs None)")
        // Markers inside the text are dropped, as for 2.0; ids and languages are range-checked.
        let withMarkers = try Self.model.promptEmbeddings(prefix: prefix, textIDs: [0] + Self.ids("text_ids") + [1], language: 1)
        expectClose(withMarkers, try Self.io.tensor("inputs_embeds"), "markers stripped")
        #expect(throws: ModelError.self) { try Self.model.promptEmbeddings(prefix: prefix, textIDs: [61], language: 1) }
        #expect(throws: ModelError.self) { try Self.model.promptEmbeddings(prefix: prefix, textIDs: [5], language: 107) }
        #expect(throws: ModelError.self) { try Self.model.promptEmbeddings(prefix: prefix, textIDs: [5], language: -1) }
        // IndexTTS2's GPT has no language embedding: a language id there is an error, not silently dropped.
        let prefix20 = try UnifiedVoiceTests.model.prefix(conditioning: UnifiedVoiceTests.io.tensor("conditioning"),
                                                          emotionVector: UnifiedVoiceTests.io.tensor("emovec_merged"))
        #expect(throws: ModelError.self) { try UnifiedVoiceTests.model.promptEmbeddings(prefix: prefix20, textIDs: [5], language: 1) }
        #expect(UnifiedVoiceTests.model.prefixLength == 34)
    }

    @Test func teacherForcedLogitsMatchTheInferenceModel() throws {
        let logits = try Self.model.teacherForcedLogits(prompt: Self.prompt(), codes: Self.ids("forced_codes"))
        expectClose(logits, try Self.io.tensor("forced_logits"), "per-step logits")
    }

    /// Greedy decoding, and `infer_v2_5`'s beam sampling (3 beams, T 0.8, top-k 30, top-p 0.8, repetition penalty 10)
    /// with torch.multinomial replaced by recorded draws: the same codes, the same number of draws.
    @Test func generationMatchesInferenceSpeech() throws {
        var options = GenerationOptions()
        options.doSample = false
        options.numBeams = 1
        options.maxNewTokens = Self.decoding.max_new_tokens
        var unused = SeededRandomSource(seed: 0)
        let greedy = try Self.model.generate(prompt: Self.prompt(), options: options, random: &unused)
        let expectedGreedy = Self.split(Self.decoding.greedy_codes)
        #expect(greedy.codes == expectedGreedy.codes && greedy.stop == expectedGreedy.stop)

        options.doSample = true
        options.numBeams = 3
        var draws = ReplayedRandomSource(Self.decoding.beam_sample_draws)
        let sampled = try Self.model.generate(prompt: Self.prompt(), options: options, random: &draws)
        let expected = Self.split(Self.decoding.beam_sample_codes)
        #expect(sampled.codes == expected.codes && sampled.stop == expected.stop)
        #expect(expected.stop == .stopToken)
        #expect(draws.consumed == Self.decoding.beam_sample_draws.count)
    }
}
