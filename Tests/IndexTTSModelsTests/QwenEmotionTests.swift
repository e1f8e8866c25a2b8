import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
@testable import IndexTTSText
import IndexTTSWeights
import Testing

/// IndexTTS2's emotion-text model against transformers 4.52.1 / tokenizers 0.21 and upstream's `QwenEmotion`
/// (tools/fixtures/generate_qwen_emotion.py: a tiny random Qwen3 in the real `qwen0.6bemo4-merge` folder layout).
struct QwenEmotionTests {
    struct Expected: Decodable {
        struct CorpusEntry: Decodable { let text: String; let ids: [Int]; let pre_tokens: [String] }
        struct DecodeCase: Decodable { let ids: [Int]; let skip: String; let keep: String }
        struct Special: Decodable { let eos: Int; let endoftext: Int; let think: Int; let think_end: Int; let tokenizer_size: Int }
        struct Chat: Decodable { let text: String; let rendered: String; let ids: [Int] }
        struct Generation: Decodable {
            let prompt: [Int]; let max_new_tokens: Int; let greedy: [Int]; let greedy_untied: [Int]; let stop_id: Int
            let greedy_stopped: [Int]; let sampled: [Int]; let draws: [Double]
        }
        struct ParseCase: Decodable {
            let text: String; let output_ids: [Int]; let vector: [Double]?; let error: String?; let message: String?
            let prompt_ids: [Int]
        }
        let corpus: [CorpusEntry]
        let decodes: [DecodeCase]
        let special: Special
        let chat: [Chat]
        let generation: Generation
        let parsing: [ParseCase]
    }

    static let expected = try! Fixtures.json("qwen_emotion/expected.json", as: Expected.self)
    static let logits = try! WeightStore.open(path: Fixtures.path("qwen_emotion/logits.safetensors"))
    static let folder = Fixtures.path("qwen_emotion/qwen0.6bemo4-merge")
    static let emotion = try! QwenEmotion.load(folder: folder)
    static var tokenizer: ByteLevelBPETokenizer { emotion.tokenizer }

    static func ids(_ key: String) throws -> [Int] { try logits.entry(key).loadIntegers().map { Int($0) } }

    /// The last `count` rows of `[T, V]` logits.
    static func lastRows(_ t: Tensor, _ count: Int) throws -> Tensor {
        try t.sliced(axis: 0, range: (t.shape[0] - count)..<t.shape[0]).contiguous()
    }

    static func sameScalars(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    // MARK: Tokenizer

    @Test func encodingMatchesTokenizersOnTheCorpus() throws {
        var failures: [String] = []
        for entry in Self.expected.corpus {
            let pieces = Self.tokenizer.preTokenize(entry.text)
            if !pieces.elementsEqual(entry.pre_tokens, by: Self.sameScalars) {
                failures.append("pre-tokens of \(entry.text.debugDescription): \(pieces) != \(entry.pre_tokens)")
            }
            let ids = Self.tokenizer.encode(entry.text)
            if ids != entry.ids { failures.append("ids of \(entry.text.debugDescription): \(ids) != \(entry.ids)") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(Self.expected.corpus.count):\n\(failures.joined(separator: "\n"))")
        #expect(Self.expected.corpus.count >= 70)
    }

    @Test func decodingMatchesTokenizers() throws {
        for c in Self.expected.decodes {
            let skip = Self.tokenizer.decode(c.ids, skipSpecialTokens: true)
            let keep = Self.tokenizer.decode(c.ids, skipSpecialTokens: false)
            #expect(Self.sameScalars(skip, c.skip), "skip \(c.ids): \(skip.debugDescription) != \(c.skip.debugDescription)")
            #expect(Self.sameScalars(keep, c.keep), "keep \(c.ids): \(keep.debugDescription) != \(c.keep.debugDescription)")
        }
    }

    @Test func specialTokensAndCounts() {
        let s = Self.expected.special
        #expect(Self.tokenizer.id(of: "<|im_end|>") == s.eos)
        #expect(Self.tokenizer.id(of: "<|endoftext|>") == s.endoftext)
        #expect(Self.tokenizer.id(of: "<think>") == s.think && Self.tokenizer.id(of: "</think>") == s.think_end)
        #expect(Self.tokenizer.count == s.tokenizer_size)
        #expect(Self.tokenizer.isSpecial(s.eos) && !Self.tokenizer.isSpecial(s.think_end))
        #expect(Self.emotion.thinkEndID == s.think_end)
        #expect(Self.emotion.generation.eosTokenIds == [s.eos, s.endoftext])
        #expect(Self.emotion.generation.doSample && Self.emotion.generation.topK == 20)
    }

    @Test func chatPromptIsUpstreams() {
        for chat in Self.expected.chat {
            let rendered = ByteLevelBPETokenizer.qwen3ChatPrompt(system: QwenEmotion.systemPrompt, user: chat.text)
            #expect(Self.sameScalars(rendered, chat.rendered), "\(chat.text.debugDescription)")
            #expect(Self.emotion.prompt(for: chat.text) == chat.ids, "\(chat.text.debugDescription)")
        }
        // the prompts upstream's inference built while the parsing table ran
        for c in Self.expected.parsing.prefix(10) { #expect(Self.emotion.prompt(for: c.text) == c.prompt_ids) }
    }

    @Test func badTokenizerFilesAreTypedErrors() throws {
        let good = try String(contentsOfFile: Self.folder + "/tokenizer.json", encoding: .utf8)
        func load(_ text: String) throws { _ = try ByteLevelBPETokenizer(json: Data(text.utf8), source: "t.json") }
        #expect(throws: TextError.self) { try load("{") }
        #expect(throws: TextError.self) { try load(good.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"WordPiece\"")) }
        #expect(throws: TextError.self) { try load(good.replacingOccurrences(of: "\"type\": \"NFC\"", with: "\"type\": \"NFKC\"")) }
        #expect(throws: TextError.self) { try load(good.replacingOccurrences(of: "\\\\p{N}|", with: "\\\\p{N}+|")) }
        do {
            _ = try ByteLevelBPETokenizer(path: "/nonexistent/tokenizer.json")
            Issue.record("loaded a missing file")
        } catch let TextError.invalidTokenizer(path, _) {
            #expect(path == "/nonexistent/tokenizer.json")
        }
    }

    // MARK: Model

    @Test func logitsMatchTransformers() throws {
        let model = Self.emotion.model
        #expect(model.isHalfPrecision && model.storedDType == .float16)
        let full = try model.logits(Self.ids("prompt_0"))
        expectClose(full, try Self.logits.tensor("logits_0"), "prompt 0, every position")
        for i in 1...2 {
            expectClose(try Self.lastRows(model.logits(Self.ids("prompt_\(i)")), 3), try Self.logits.tensor("logits_\(i)"), "prompt \(i)")
        }
        // the same weights widened to fp32 on load
        let wide = try Qwen3CausalLM.load(weights: Self.folder + "/model.safetensors", configuration: model.configuration,
                                          precision: .float32)
        #expect(!wide.isHalfPrecision && wide.weightByteCount == 2 * model.weightByteCount)
        expectClose(try wide.logits(Self.ids("prompt_0")), try Self.logits.tensor("logits_0"), "fp32 weights")
    }

    @Test func untiedFloat32AndBFloat16FoldersMatch() throws {
        let f32 = try QwenEmotion.load(folder: Fixtures.path("qwen_emotion/untied_f32"))
        let bf16 = try QwenEmotion.load(folder: Fixtures.path("qwen_emotion/untied_bf16"))
        #expect(!f32.model.isHalfPrecision && bf16.model.isHalfPrecision && bf16.model.storedDType == .bfloat16)
        let prompt = Self.expected.chat[1].ids
        expectClose(try Self.lastRows(f32.model.logits(prompt), 4), try Self.logits.tensor("logits_untied"), "untied fp32")
        expectClose(try Self.lastRows(bf16.model.logits(prompt), 4), try Self.logits.tensor("logits_bf16"), "bf16 as fp16")
        var greedy = f32.generation
        greedy.doSample = false
        let g = Self.expected.generation
        #expect(try f32.model.generate(prompt: g.prompt, configuration: greedy, maxNewTokens: g.max_new_tokens, seed: 0).tokens
                == g.greedy_untied)
    }

    /// Token by token through the KV cache: every step's logits as `generate`'s `output_logits`.
    @Test func cachedDecodingMatchesGenerateStepByStep() throws {
        let model = Self.emotion.model, g = Self.expected.generation
        let expected = try Self.logits.tensor("greedy_logits")
        let state = try model.makeState(capacity: g.prompt.count + g.max_new_tokens)
        var logits = try model.forward(g.prompt, state: state)
        var tokens: [Int] = []
        for step in 0..<g.max_new_tokens {
            expectClose(logits, try expected.sliced(axis: 0, range: step..<(step + 1)).contiguous(), "step \(step)")
            let token = LogitsProcessing.argmax(logits.scalars)
            tokens.append(token)
            if step + 1 < g.max_new_tokens { logits = try model.forward([token], state: state) }
        }
        #expect(tokens == g.greedy)
        #expect(state.length == g.prompt.count + g.max_new_tokens - 1)
    }

    @Test func generationMatchesTransformers() throws {
        let model = Self.emotion.model, g = Self.expected.generation
        var greedy = Self.emotion.generation
        greedy.doSample = false
        let plain = try model.generate(prompt: g.prompt, configuration: greedy, maxNewTokens: g.max_new_tokens, seed: 0)
        #expect(plain.tokens == g.greedy && !plain.stoppedAtEOS)
        var stopping = greedy
        stopping.eosTokenIds = [g.stop_id]
        let stopped = try model.generate(prompt: g.prompt, configuration: stopping, maxNewTokens: g.max_new_tokens, seed: 0)
        #expect(stopped.tokens == g.greedy_stopped && stopped.stoppedAtEOS && stopped.tokens.last == g.stop_id)
        // the folder's sampling settings (T 0.6, top-k 20, top-p 0.95) with the recorded draws
        var draws = ReplayedRandomSource(g.draws)
        let sampled = try model.generate(prompt: g.prompt, configuration: Self.emotion.generation,
                                         maxNewTokens: g.max_new_tokens, random: &draws)
        #expect(sampled.tokens == g.sampled)
        #expect(draws.consumed == g.draws.count)
    }

    /// The candidate-set sampling step picks what the full-row warpers (`LogitsProcessing`, as HF) pick.
    @Test func samplingStepEqualsFullRowWarpers() {
        var source = SeededRandomSource(seed: 11)
        let configurations = [Qwen3GenerationConfiguration(doSample: true, temperature: 0.6, topK: 20, topP: 0.95, eosTokenIds: []),
                              Qwen3GenerationConfiguration(doSample: true, temperature: 1.3, topK: 3, topP: 0.5, eosTokenIds: []),
                              Qwen3GenerationConfiguration(doSample: true, temperature: 1, topK: 0, topP: 0.8, eosTokenIds: [])]
        for (n, g) in configurations.enumerated() {
            for row in 0..<200 {
                // coarse values so that top-k thresholds often fall on ties
                let logits = (0..<300).map { _ in Float(Int(source.nextUniform() * 40)) / 4 - 5 }
                let seen: Set<Int> = [row % 300, 7]
                let u = source.nextUniform()
                var fast = ReplayedRandomSource([u]), slow = ReplayedRandomSource([u])
                let picked = Qwen3CausalLM.pick(logits, seen: seen, configuration: g, random: &fast)
                var scores = logits
                LogitsProcessing.temperature(&scores, Float(g.temperature))
                if g.topK > 0 { LogitsProcessing.topK(&scores, k: g.topK, minKeep: 1) }
                LogitsProcessing.topP(&scores, p: Float(g.topP), minKeep: 1)
                let expected = LogitsProcessing.sampleWithoutReplacement(LogitsProcessing.softmax(scores), count: 1, random: &slow)[0]
                #expect(picked == expected, "configuration \(n), row \(row)")
            }
        }
        let values: [Float] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
        for k in 1...values.count { #expect(Qwen3CausalLM.kthLargest(values, k) == values.sorted(by: >)[k - 1]) }
    }

    @Test func badInputsAreTypedErrors() throws {
        let model = Self.emotion.model
        #expect(throws: ModelError.self) { try model.logits([model.configuration.vocabSize]) }
        #expect(throws: ModelError.self) { try model.logits([]) }
        let state = try model.makeState(capacity: 2)
        #expect(throws: ModelError.self) { try model.forward([1, 2, 3], state: state) }
        #expect(throws: ModelError.self) {
            try model.generate(prompt: [1], configuration: Self.emotion.generation, maxNewTokens: 0, seed: 0)
        }
    }

    @Test func loadingNamesEveryBadKeyAndFile() throws {
        let store = try WeightStore.open(path: Self.folder + "/model.safetensors")
        try expectKeyMismatch(store, missing: "model.layers.1.self_attn.k_norm.weight",
                              unexpected: "model.layers.2.mlp.gate_proj.weight") {
            try Qwen3CausalLM.load(from: $0, configuration: Self.emotion.model.configuration)
        }
        // Another MLP width does not fit: every misshapen tensor is named.
        var wider = Self.emotion.model.configuration
        wider.intermediateSize = 96
        do {
            _ = try Qwen3CausalLM.load(from: store, configuration: wider)
            Issue.record("a misshapen checkpoint loaded")
        } catch let WeightsError.keyMismatch(_, missing, unexpected, wrongShapes) {
            #expect(missing.isEmpty && unexpected.isEmpty && wrongShapes.count == 6, "\(wrongShapes)")
            #expect(wrongShapes.contains { $0.hasPrefix("model.layers.1.mlp.down_proj.weight") })
        }

        let directory = try Fixtures.temporaryDirectory()
        let copy = directory.appendingPathComponent(QwenEmotion.folderName)
        try FileManager.default.copyItem(atPath: Self.folder, toPath: copy.path)
        // the checkpoint directory resolves to its qwen0.6bemo4-merge folder
        #expect(try QwenEmotion.load(folder: directory.path).folder == copy.path)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("tokenizer.json"))
        #expect(throws: QwenEmotionError.missingFile(path: copy.appendingPathComponent("tokenizer.json").path)) {
            try QwenEmotion.load(folder: directory.path)
        }
        try FileManager.default.copyItem(atPath: Self.folder + "/tokenizer.json", toPath: copy.appendingPathComponent("tokenizer.json").path)
        let configPath = copy.appendingPathComponent("config.json").path
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "\"silu\"", with: "\"gelu\"").write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.invalidConfiguration(file: configPath, field: "hidden_act", reason: "'gelu' is not supported (only silu)")) {
            try QwenEmotion.load(folder: copy.path)
        }
        try config.replacingOccurrences(of: "\"num_key_value_heads\": 2", with: "\"num_key_value_heads\": 3")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.self) { try QwenEmotion.load(folder: copy.path) }
        try config.replacingOccurrences(of: "\"rope_scaling\": null", with: "\"rope_scaling\": {\"type\": \"yarn\"}")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.self) { try QwenEmotion.load(folder: copy.path) }
        try FileManager.default.removeItem(at: directory)
    }

    // MARK: Parsing

    /// Every raw answer of the table through our parser, against upstream's `QwenEmotion.inference` on the same ids.
    @Test func parsingMatchesUpstream() throws {
        var failures: [String] = []
        for c in Self.expected.parsing {
            let content = Self.tokenizer.decode(Array(QwenEmotionParsing.idsAfterThinking(c.output_ids)), skipSpecialTokens: true)
            do {
                let vector = try QwenEmotionParsing.vector(content: content, emotionText: c.text)
                if let expected = c.vector {
                    if vector.count != 8 || zip(vector, expected).contains(where: { abs($0 - $1) > 1e-12 }) {
                        failures.append("\(content.debugDescription) (\(c.text)): \(vector) != \(expected)")
                    }
                } else {
                    failures.append("\(content.debugDescription) (\(c.text)): \(vector), upstream raised \(c.error ?? "") \(c.message ?? "")")
                }
            } catch let error as QwenEmotionError {
                if c.vector != nil { failures.append("\(content.debugDescription) (\(c.text)): threw \(error), upstream \(c.vector!)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(Self.expected.parsing.count):\n\(failures.joined(separator: "\n"))")
        #expect(Self.expected.parsing.filter { $0.error != nil }.count >= 10)
    }

    @Test func parsingDetails() throws {
        #expect(QwenEmotionParsing.idsAfterThinking([1, 151_668, 2, 151_668, 3]) == [3])
        #expect(QwenEmotionParsing.idsAfterThinking([1, 2]) == [1, 2])
        #expect(QwenEmotionParsing.containsMelancholicWord("So GLOOMY") && !QwenEmotionParsing.containsMelancholicWord("sad"))
        #expect(PythonText.float(" 1_000.5 ") == 1000.5 && PythonText.float("1__0") == nil && PythonText.float("_1") == nil)
        #expect(PythonText.float("-Infinity") == -.infinity && PythonText.float("nan")!.isNaN && PythonText.float("1e") == nil)
        #expect(PythonJSON.parse("{\"a\": 1, \"a\": 2}") == .dict({ var e = OrderedEntries(); e.set("a", .int(text: "2", value: 2)); return e }()))
        #expect(PythonJSON.parse("[1, 2,]") == nil && PythonJSON.parse("01") == nil && PythonJSON.parse(" 1.5 ") == .float(1.5))
        #expect(try QwenEmotionParsing.vector(content: "{\"自然\": NaN}", emotionText: "").last == 1.2)
    }

    @Test func lazyModelLoadsOnFirstUseAndRetriesAfterAFailure() throws {
        let lazy = LazyQwenEmotion(folder: Fixtures.path("qwen_emotion"))
        #expect(!lazy.isLoaded)
        let options = QwenEmotionOptions(maxNewTokens: 3, doSample: false)
        #expect(try lazy.analyze("x", options: options) == (try Self.emotion.analyze("x", options: options)))
        #expect(lazy.isLoaded && lazy.folder == Fixtures.path("qwen_emotion"))
        let missing = LazyQwenEmotion(folder: "/nonexistent")
        #expect(throws: QwenEmotionError.missingFile(path: "/nonexistent/config.json")) { try missing.analyze("x") }
        #expect(!missing.isLoaded)
    }

    /// The whole path on the tiny model: prompt, decoding, parsing (random weights answer nonsense: calm).
    @Test func analyzeRunsEndToEnd() throws {
        let result = try Self.emotion.analyze("她小声说，非常害怕", options: QwenEmotionOptions(maxNewTokens: 8, doSample: false))
        #expect(result.generatedTokens == Array(Self.expected.generation.greedy.prefix(8)))
        #expect(result.vector.count == 8 && result.promptTokenCount == Self.expected.chat[0].ids.count)
        #expect(result.vector == (try QwenEmotionParsing.vector(content: result.answer, emotionText: "她小声说，非常害怕")))
        let seeded = try Self.emotion.analyze("x", options: QwenEmotionOptions(maxNewTokens: 6, seed: 7))
        #expect(seeded == (try Self.emotion.analyze("x", options: QwenEmotionOptions(maxNewTokens: 6, seed: 7))))
    }

    // MARK: Folder variants

    /// Splits a safetensors file into shards (bytes and dtypes unchanged) with a Hugging Face index beside them:
    /// `groups[i]` are the keys of shard i.
    static func shard(_ file: String, into folder: URL, groups: [[String]]) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + headerLength)) as? [String: Any])
        var weightMap: [String: String] = [:]
        for (i, keys) in groups.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, groups.count)
            var shardHeader: [String: Any] = [:], body = Data(), offset = 0
            for key in keys {
                let info = try #require(header[key] as? [String: Any])
                let range = try #require(info["data_offsets"] as? [Int])
                let bytes = data.subdata(in: 8 + headerLength + range[0]..<8 + headerLength + range[1])
                shardHeader[key] = ["dtype": info["dtype"]!, "shape": info["shape"]!, "data_offsets": [offset, offset + bytes.count]]
                body.append(bytes)
                offset += bytes.count
                weightMap[key] = name
            }
            var json = try JSONSerialization.data(withJSONObject: shardHeader, options: [.sortedKeys])
            while json.count % 8 != 0 { json.append(0x20) }
            var out = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(json)
            out.append(body)
            try out.write(to: folder.appendingPathComponent(name))
        }
        let index: [String: Any] = ["metadata": ["total_size": data.count - 8 - headerLength], "weight_map": weightMap]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .prettyPrinted])
            .write(to: folder.appendingPathComponent("model.safetensors.index.json"))
    }

    /// A folder whose weights come as `model.safetensors.index.json` + shards (as Hugging Face saves large models)
    /// loads the same model; a broken index or shard is named.
    @Test func shardedCheckpointsLoadTheSameModel() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent(QwenEmotion.folderName)
        try FileManager.default.copyItem(atPath: Self.folder, toPath: copy.path)
        let weights = copy.appendingPathComponent("model.safetensors")
        let keys = try WeightStore.open(path: weights.path).keys.sorted()
        let half = keys.count / 2
        try Self.shard(weights.path, into: copy, groups: [Array(keys[..<half]), Array(keys[half...])])
        try FileManager.default.removeItem(at: weights)

        let sharded = try QwenEmotion.load(folder: directory.path)
        #expect(sharded.model.isHalfPrecision && sharded.model.weightByteCount == Self.emotion.model.weightByteCount)
        #expect(try sharded.model.logits(Self.ids("prompt_0")).scalars == Self.emotion.model.logits(Self.ids("prompt_0")).scalars)
        let store = try WeightStore.openSharded(index: copy.appendingPathComponent("model.safetensors.index.json").path)
        #expect(store.keys.sorted() == keys && store.metadata["total_size"] != nil)

        // A map that puts a tensor in the wrong shard, a shard holding an unlisted tensor, a missing shard.
        let indexPath = copy.appendingPathComponent("model.safetensors.index.json").path
        let index = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        func writeIndex(_ change: (inout [String: Any]) -> Void) throws {
            var map = try #require((try JSONSerialization.jsonObject(with: index) as? [String: Any])?["weight_map"] as? [String: Any])
            change(&map)
            try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(to: URL(fileURLWithPath: indexPath))
        }
        try writeIndex { $0[keys[half]] = "model-00001-of-00002.safetensors" }
        #expect(throws: WeightsError.corrupt(path: indexPath, reason: "weight_map puts \(keys[half]) in model-00001-of-00002.safetensors, which does not hold it")) {
            try QwenEmotion.load(folder: copy.path)
        }
        try writeIndex { $0[keys[0]] = nil }
        #expect(throws: WeightsError.corrupt(path: indexPath, reason: "model-00001-of-00002.safetensors holds \(keys[0]), which weight_map does not list there")) {
            try WeightStore.openSharded(index: indexPath)
        }
        try writeIndex { $0[keys[0]] = "../model.safetensors" }
        #expect(throws: WeightsError.self) { try WeightStore.openSharded(index: indexPath) }
        try index.write(to: URL(fileURLWithPath: indexPath))
        try FileManager.default.removeItem(at: copy.appendingPathComponent("model-00002-of-00002.safetensors"))
        #expect(throws: WeightsError.self) { try QwenEmotion.load(folder: copy.path) }
        do { _ = try WeightStore.openSharded(index: indexPath) } catch let WeightsError.unreadable(path, _) {
            #expect(path == copy.appendingPathComponent("model-00002-of-00002.safetensors").path)
        }
        try "{\"weight_map\": {}}".write(toFile: indexPath, atomically: true, encoding: .utf8)
        #expect(throws: WeightsError.self) { try WeightStore.openSharded(index: indexPath) }
        // Neither model.safetensors nor an index: the single file is named.
        try FileManager.default.removeItem(atPath: indexPath)
        #expect(throws: QwenEmotionError.missingFile(path: weights.path)) { try QwenEmotion.load(folder: copy.path) }
    }

    /// The prompt is rendered as Qwen3's template does (no Jinja engine): a folder with that template says nothing, a
    /// folder with another one still answers but every answer carries a warning; transformers' places are read
    /// (chat_template.jinja first, then tokenizer_config.json's chat_template, a string or a list).
    @Test func chatTemplateIsCheckedAgainstQwen3s() throws {
        let jinja = Self.folder + "/chat_template.jinja"
        #expect(Self.emotion.chatTemplate == .qwen3(source: jinja))
        let options = QwenEmotionOptions(maxNewTokens: 8, doSample: false)
        #expect(try Self.emotion.analyze("她小声说，非常害怕", options: options).warnings.isEmpty)
        let template = try String(contentsOfFile: jinja, encoding: .utf8)
        #expect(ChatTemplateCheck.fingerprint(template) == ChatTemplateCheck.qwen3Fingerprint)
        #expect(ChatTemplateCheck.fingerprint(template + "\n") == ChatTemplateCheck.qwen3Fingerprint)

        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("qwen")
        try FileManager.default.copyItem(atPath: Self.folder, toPath: copy.path)
        let copiedJinja = copy.appendingPathComponent("chat_template.jinja")
        try template.replacingOccurrences(of: "<think>\\n\\n</think>", with: "<think>\\n</think>")
            .write(to: copiedJinja, atomically: true, encoding: .utf8)
        #expect(try ChatTemplateCheck.check(folder: copy.path) == .different(source: copiedJinja.path))
        let other = try QwenEmotion.load(folder: copy.path)
        let answer = try other.analyze("她小声说，非常害怕", options: options)
        #expect(answer.warnings.count == 1 && answer.warnings[0].contains(copiedJinja.path) && answer.warnings[0].contains("differs"))

        // tokenizer_config.json: a string, a list of {name, template}, nothing, something else.
        try FileManager.default.removeItem(at: copiedJinja)
        let configPath = copy.appendingPathComponent("tokenizer_config.json").path
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        func write(_ value: Any?) throws {
            config["chat_template"] = value
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        }
        try write(template)
        #expect(try ChatTemplateCheck.check(folder: copy.path) == .qwen3(source: configPath))
        try write([["name": "tool_use", "template": "x"], ["name": "default", "template": template]])
        #expect(try ChatTemplateCheck.check(folder: copy.path) == .qwen3(source: configPath))
        try write(nil)
        #expect(try ChatTemplateCheck.check(folder: copy.path) == .absent && ChatTemplateCheck.absent.warning != nil)
        try write(7)
        #expect(throws: ModelError.invalidConfiguration(file: configPath, field: "chat_template",
                                                         reason: "expected a string or a list of {name, template}")) {
            try QwenEmotion.load(folder: copy.path)
        }
    }
}
