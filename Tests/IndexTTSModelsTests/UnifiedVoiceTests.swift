import Foundation
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// UnifiedVoice against the upstream model code (tools/fixtures/generate_unifiedvoice.py: index-tts model_v2.py on
/// transformers 4.52.1, tiny random configuration saved as gpt.pth + config.yaml).
struct UnifiedVoiceTests {
    struct Decoding: Decodable {
        let max_new_tokens: Int
        let greedy_codes, beam_codes, sample_codes, beam_sample_codes: [Int]
        let sample_draws, beam_sample_draws: [Double]
    }

    static let io = try! WeightStore.open(path: Fixtures.path("models/unifiedvoice_io.safetensors"))
    static let decoding = try! Fixtures.json("models/unifiedvoice_decoding.json", as: Decoding.self)
    static let model = try! UnifiedVoice.load(checkpoint: Fixtures.path("models/unifiedvoice/gpt.pth"),
                                              configYAML: Fixtures.path("models/unifiedvoice/config.yaml"))

    static func ids(_ key: String) throws -> [Int] { try io.tensor(key).scalars.map { Int($0) } }

    /// Upstream returns codes with the stop id appended when generation stopped on it.
    static func split(_ codes: [Int]) -> (codes: [Int], stop: GenerationStop) {
        codes.last == 49 ? (Array(codes.dropLast()), .stopToken) : (codes, .maxLength)
    }

    static func prompt() throws -> Tensor {
        let prefix = try model.prefix(conditioning: io.tensor("conditioning"), emotionVector: io.tensor("emovec_merged"))
        return try model.promptEmbeddings(prefix: prefix, textIDs: ids("text_ids"))
    }

    static func options(sample: Bool, beams: Int) -> GenerationOptions {
        var o = GenerationOptions()
        o.doSample = sample
        o.numBeams = beams
        o.maxNewTokens = decoding.max_new_tokens
        return o
    }

    @Test func configurationReadsTheGptSection() throws {
        let c = Self.model.configuration
        #expect(c.modelDim == 64 && c.layers == 2 && c.heads == 4 && c.numberMelCodes == 50 && c.stopMelToken == 49)
        #expect(c.conditionModule == .init(outputSize: 32, linearUnits: 48, attentionHeads: 2, numBlocks: 2))
        #expect(c.conditioningInputDim == 20 && c.emotionDim == 48 && c.conditionNumLatent == 32)
        // The official file's values are the defaults; widths it omits default to 1024.
        let official = try UnifiedVoiceConfiguration.parse(yaml: """
            dataset: {bpe_model: bpe.model}
            gpt: {model_dim: 1280, layers: 24, heads: 20, max_mel_tokens: 1815, max_text_tokens: 600,
                  number_text_tokens: 12000, number_mel_codes: 8194, start_mel_token: 8192, stop_mel_token: 8193,
                  start_text_token: 0, stop_text_token: 1, use_mel_codes_as_input: true, mel_length_compression: 1024,
                  condition_type: conformer_perceiver,
                  condition_module: {output_size: 512, linear_units: 2048, attention_heads: 8, num_blocks: 6,
                                     input_layer: conv2d2, perceiver_mult: 2},
                  emo_condition_module: {output_size: 512, linear_units: 1024, attention_heads: 4, num_blocks: 4,
                                         input_layer: conv2d2, perceiver_mult: 2}}
            version: 2.0
            """)
        #expect(official == UnifiedVoiceConfiguration())
        #expect(official.melPositions == 1818 && official.textPositions == 602 && official.textVocabulary == 12001)
    }

    @Test func badConfigurationsNameTheField() {
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "gpt", reason: "missing section")) {
            try UnifiedVoiceConfiguration.parse(yaml: "s2mel: {}", source: "c.yaml")
        }
        do {
            _ = try UnifiedVoiceConfiguration.parse(yaml: "gpt: {model_dim: wide}", source: "c.yaml")
            Issue.record("a string model_dim was accepted")
        } catch let ModelError.invalidConfiguration(file, field, _) {
            #expect(file == "c.yaml" && field == "gpt.model_dim")
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: ModelError.self) { try UnifiedVoiceConfiguration.parse(yaml: "gpt: {model_dim: 100, heads: 3}") }
        // Zero heads in a conditioning module once divided by zero in validation (found by the config-yaml fuzz
        // harness; Tests/Fixtures/fuzz-regressions/config-yaml/crash-f88d…); sizes past the bound are refused too.
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "gpt.emo_condition_module.attention_heads",
                                                        reason: "must be in 1...65536, got 0")) {
            try UnifiedVoiceConfiguration.parse(yaml: "gpt: {emo_condition_module: {output_size: 512, linear_units: 1024, attention_heads: 0, num_blocks: 4, input_layer: conv2d2, perceiver_mult: 2}}",
                                                source: "c.yaml")
        }
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "gpt.max_mel_tokens",
                                                        reason: "must be in 1...65536, got 1000000000000")) {
            try UnifiedVoiceConfiguration.parse(yaml: "gpt: {max_mel_tokens: 1000000000000}", source: "c.yaml")
        }
        #expect(throws: ModelError.self) { try UnifiedVoiceConfiguration.parse(yaml: "gpt: {condition_type: perceiver}") }
        #expect(throws: ModelError.self) { try UnifiedVoiceConfiguration.parse(yaml: "gpt: [unclosed") }
        #expect(throws: ModelError.self) { try UnifiedVoiceConfiguration.load(configYAML: "/nonexistent/config.yaml") }
    }

    @Test func loadingNamesMissingAndUnexpectedKeys() throws {
        let store = try WeightStore.open(path: Fixtures.path("models/unifiedvoice/gpt.pth"))
        try expectKeyMismatch(store, missing: "speed_emb.weight", unexpected: "extra.weight") {
            try UnifiedVoice.load(from: $0, configuration: Self.model.configuration)
        }
        // A configuration that disagrees with the checkpoint names the misshapen tensors.
        var wrong = Self.model.configuration
        wrong.numberMelCodes = 60
        #expect(throws: WeightsError.self) { try UnifiedVoice.load(from: store, configuration: wrong) }
    }

    @Test func conditioningMatchesUpstream() throws {
        let spk = try Self.io.tensor("spk_cond_emb")
        expectClose(try Self.model.conditioning(spk), try Self.io.tensor("conditioning"), "get_conditioning")
        let base = try Self.model.emotionVector(spk)
        let emotion = try Self.model.emotionVector(Self.io.tensor("emo_cond_emb"))
        expectClose(base, try Self.io.tensor("emovec_spk"), "get_emovec(speaker)")
        expectClose(emotion, try Self.io.tensor("emovec_emo"), "get_emovec(emotion)")
        expectClose(try UnifiedVoice.mergeEmotionVectors(base: base, emotion: emotion, alpha: 0.6),
                    try Self.io.tensor("emovec_merged"), "merge_emovec")
        #expect(throws: ModelError.self) { try Self.model.conditioning(Tensor.zeros([1, 10, 21])) }
        #expect(throws: ModelError.self) { try Self.model.conditioning(Tensor.zeros([1, 2, 20])) }
        #expect(throws: ModelError.self) { try Self.model.conditioning(Tensor.zeros([1, 200, 20])) }  // > position table
    }

    @Test func promptMatchesPrepareGptInputs() throws {
        expectClose(try Self.prompt(), try Self.io.tensor("inputs_embeds"), "inputs_embeds")
        // prepare_gpt_inputs drops start/stop text ids inside the text.
        let prefix = try Self.model.prefix(conditioning: Self.io.tensor("conditioning"), emotionVector: Self.io.tensor("emovec_merged"))
        let withMarkers = try Self.model.promptEmbeddings(prefix: prefix, textIDs: [0] + Self.ids("text_ids") + [1])
        expectClose(withMarkers, try Self.io.tensor("inputs_embeds"), "markers stripped")
        #expect(throws: ModelError.self) { try Self.model.promptEmbeddings(prefix: prefix, textIDs: [61]) }
        #expect(throws: ModelError.self) { try Self.model.promptEmbeddings(prefix: prefix, textIDs: Array(repeating: 5, count: 25)) }
    }

    /// Teacher-forced decoding: the logits of every step (prompt, then each code fed back at position k + 2).
    @Test func teacherForcedLogitsMatchTheInferenceModel() throws {
        let expected = try Self.io.tensor("forced_logits")
        let forced = try Self.ids("forced_codes")
        let logits = try Self.model.teacherForcedLogits(prompt: Self.prompt(), codes: forced)
        expectClose(logits, expected, "per-step logits")
    }

    @Test func greedyAndBeamSearchMatchGenerate() throws {
        var unused = SeededRandomSource(seed: 0)
        let greedy = try Self.model.generate(prompt: Self.prompt(), options: Self.options(sample: false, beams: 1), random: &unused)
        let expectedGreedy = Self.split(Self.decoding.greedy_codes)
        #expect(greedy.codes == expectedGreedy.codes && greedy.stop == expectedGreedy.stop)
        let beam = try Self.model.generate(prompt: Self.prompt(), options: Self.options(sample: false, beams: 3), random: &unused)
        let expectedBeam = Self.split(Self.decoding.beam_codes)
        #expect(beam.codes == expectedBeam.codes && beam.stop == expectedBeam.stop)
        #expect(expectedBeam.stop == .stopToken)  // the fixture exercises EOS hypotheses
    }

    /// Sampling with torch.multinomial replaced by recorded inverse-CDF draws: same codes, same number of draws.
    @Test func samplingMatchesGenerateDrawForDraw() throws {
        var draws = ReplayedRandomSource(Self.decoding.sample_draws)
        let sample = try Self.model.generate(prompt: Self.prompt(), options: Self.options(sample: true, beams: 1), random: &draws)
        #expect(sample.codes == Self.split(Self.decoding.sample_codes).codes)
        #expect(draws.consumed == Self.decoding.sample_draws.count)

        var beamDraws = ReplayedRandomSource(Self.decoding.beam_sample_draws)
        let beamSample = try Self.model.generate(prompt: Self.prompt(), options: Self.options(sample: true, beams: 3),
                                                 random: &beamDraws)
        let expected = Self.split(Self.decoding.beam_sample_codes)
        #expect(beamSample.codes == expected.codes && beamSample.stop == expected.stop)
        #expect(beamDraws.consumed == Self.decoding.beam_sample_draws.count)
    }

    @Test func seedsReproduceAndSamplingStopsOnTheStopCode() throws {
        var options = Self.options(sample: true, beams: 1)
        options.maxNewTokens = 40
        let prompt = try Self.prompt()
        let a = try Self.model.generate(prompt: prompt, options: options, seed: 7)
        let b = try Self.model.generate(prompt: prompt, options: options, seed: 7)
        #expect(a.codes == b.codes)
        var stopped = 0, differing = 0
        for seed in 0..<12 as Range<UInt64> {
            let r = try Self.model.generate(prompt: prompt, options: options, seed: seed)
            #expect(!r.codes.contains(49))
            #expect(r.stop == .stopToken ? r.codes.count < 40 : r.codes.count == 40)
            if r.stop == .stopToken { stopped += 1 }
            if r.codes != a.codes { differing += 1 }
        }
        #expect(stopped > 0 && differing > 0)
        var bad = options
        bad.maxNewTokens = 41  // beyond max_mel_tokens 40
        #expect(throws: ModelError.self) { try Self.model.generate(prompt: prompt, options: bad, seed: 0) }
        bad = options
        bad.topP = 0
        #expect(throws: ModelError.self) { try Self.model.generate(prompt: prompt, options: bad, seed: 0) }
    }

    @Test func latentPassMatchesForward() throws {
        let latent = try Self.model.latents(conditioning: Self.io.tensor("conditioning"),
                                            emotionVector: Self.io.tensor("emovec_merged"),
                                            textIDs: Self.ids("text_ids"), codes: Self.ids("forced_codes"))
        expectClose(latent, try Self.io.tensor("latent"), "latent")
    }

    /// The latent pass after generation's cached prompt equals upstream's whole pass, for one sequence (the state
    /// generation extended after the prompt) and for beams (the prompt's own state, which beams continue copies of).
    @Test(arguments: [1, 3]) func latentPassAfterCachedPromptMatchesForward(beams: Int) throws {
        var options = Self.options(sample: false, beams: beams)
        options.maxNewTokens = 20
        let cache = PromptCache()
        var random = SeededRandomSource(seed: 0)
        _ = try Self.model.generate(prompt: Self.prompt(), options: options, random: &random, promptCache: cache)
        #expect(cache.prompt != nil)
        let (latent, positions) = try Self.model.latents(
            conditioning: Self.io.tensor("conditioning"), emotionVector: Self.io.tensor("emovec_merged"),
            textIDs: Self.ids("text_ids"), codes: Self.ids("forced_codes"), promptCache: cache)
        #expect(positions == 12)  // the codes alone
        #expect(cache.prompt == nil)  // released
        expectClose(latent, try Self.io.tensor("latent"), "latent after the cached prompt")
        let whole = try Self.model.latents(conditioning: Self.io.tensor("conditioning"),
                                           emotionVector: Self.io.tensor("emovec_merged"),
                                           textIDs: Self.ids("text_ids"), codes: Self.ids("forced_codes"))
        expectClose(latent, whole, "latent after the cached prompt vs the whole pass")
    }

    /// A cached prompt that is not this pass' own is not used: another emotion vector, a text holding the stop
    /// marker (generation strips it, the latent pass keeps it), an empty cache. The result is the whole pass'.
    @Test func latentPassIgnoresAnotherPrompt() throws {
        var options = GenerationOptions.greedy
        options.maxNewTokens = 20  // room for the codes: the cache is refused for its prompt, not its capacity
        let codes = try Self.ids("forced_codes")
        let conditioning = try Self.io.tensor("conditioning"), emovec = try Self.io.tensor("emovec_merged")
        let stop = Self.model.configuration.stopTextToken
        let texts = [try Self.ids("text_ids"), try Self.ids("text_ids") + [stop]]
        for (emotion, text) in [(emovec.affine(scale: 0.5), texts[0]), (emovec, texts[1])] {
            let cache = PromptCache()
            var random = SeededRandomSource(seed: 0)
            let prompt = try Self.model.promptEmbeddings(prefix: Self.model.prefix(conditioning: conditioning, emotionVector: emovec),
                                                         textIDs: text)
            _ = try Self.model.generate(prompt: prompt, options: options, random: &random, promptCache: cache)
            let (latent, positions) = try Self.model.latents(conditioning: conditioning, emotionVector: emotion,
                                                             textIDs: text, codes: codes, promptCache: cache)
            #expect(positions == 34 + text.count + 2 + codes.count + 2)  // the whole pass: 32 latents + 2 speeds
            let whole = try Self.model.latents(conditioning: conditioning, emotionVector: emotion, textIDs: text, codes: codes)
            #expect(latent.scalars == whole.scalars)
        }
        let (latent, positions) = try Self.model.latents(conditioning: conditioning, emotionVector: emovec,
                                                         textIDs: texts[0], codes: codes, promptCache: PromptCache())
        #expect(positions == 34 + texts[0].count + 2 + codes.count + 2)
        expectClose(latent, try Self.io.tensor("latent"), "latent, empty cache")
    }

    /// The generation pass' hidden states: the first equals the latent pass' (both at mel position 0); later ones
    /// differ because generation skips mel position 1.
    @Test func generationHiddenStatesAreTheAlternativeLatent() throws {
        var options = GenerationOptions.greedy
        options.maxNewTokens = 20
        options.collectHiddenStates = true
        let result = try Self.model.generate(prompt: Self.prompt(), options: options, seed: 0)
        let hidden = try #require(result.hiddenStates)
        #expect(hidden.shape == [1, result.codes.count, 64])
        let latent = try Self.model.latents(conditioning: Self.io.tensor("conditioning"),
                                            emotionVector: Self.io.tensor("emovec_merged"),
                                            textIDs: Self.ids("text_ids"), codes: result.codes)
        expectClose(try hidden.sliced(axis: 1, range: 0..<1), try latent.sliced(axis: 1, range: 0..<1), "row 0")
        #expect(mismatch(try hidden.sliced(axis: 1, range: 1..<2), try latent.sliced(axis: 1, range: 1..<2)) != nil)
    }
}
