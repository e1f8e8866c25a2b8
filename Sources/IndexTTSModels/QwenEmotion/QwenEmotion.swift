import Foundation
import IndexTTSText
import Synchronization
import IndexTTSWeights

/// What the emotion-text model made of a description.
public struct EmotionTextAnalysis: Sendable, Equatable, Codable {
    /// The eight scores in IndexTTS2's emotion-vector order (``QwenEmotionParsing/englishNames``: happy, angry, sad,
    /// afraid, disgusted, melancholic, surprised, calm), each in [0, 1.2]; `emo_dict.values()` upstream.
    public var vector: [Double]
    /// The model's answer after `</think>`, decoded without special tokens (what the parser read).
    public var answer: String
    public var promptTokenCount: Int
    /// Generated ids, the stop id included when one ended the run.
    public var generatedTokens: [Int]
    public var stoppedAtEOS: Bool
    /// Seconds: prompt (prefill), generated tokens, and the whole call (tokenising and parsing included).
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public var totalSeconds: Double
    /// What the caller should know about how this answer was made (a chat template in the folder that differs from
    /// the Qwen3 template this port renders); empty when nothing.
    public var warnings: [String] = []

    /// The scores by English name (`{"happy": …, …}` as upstream's `convert` returns them).
    public var named: [(name: String, score: Double)] { Array(zip(QwenEmotionParsing.englishNames, vector)).map { ($0.0, $0.1) } }

    public static func == (a: Self, b: Self) -> Bool {
        a.vector == b.vector && a.answer == b.answer && a.promptTokenCount == b.promptTokenCount
            && a.generatedTokens == b.generatedTokens && a.stoppedAtEOS == b.stoppedAtEOS
    }
}

/// How ``QwenEmotion/analyze(_:options:random:)`` decodes.
public struct QwenEmotionOptions: Sendable, Equatable {
    /// Length cap of the answer. Upstream allows 32,768; a well-formed answer (the eight-key JSON) is about 40 tokens.
    public var maxNewTokens: Int = 64
    /// Overrides `generation_config.json`'s `do_sample` (nil: the folder's setting; false: greedy).
    public var doSample: Bool? = nil
    /// Seed of the sampling draws (``SeededRandomSource``) for the seeded entry point.
    public var seed: UInt64 = 0

    public init(maxNewTokens: Int = 64, doSample: Bool? = nil, seed: UInt64 = 0) {
        self.maxNewTokens = maxNewTokens
        self.doSample = doSample
        self.seed = seed
    }
}

/// IndexTTS2's emotion-from-text model (`QwenEmotion` in `indextts/infer_v2.py`): the fine-tuned Qwen3-0.6B in
/// `checkpoints/qwen0.6bemo4-merge`, asked with Qwen3's chat template (system prompt `文本情感分类`, the description
/// as the user turn, thinking disabled), decoded as `generate` does with the folder's `generation_config.json`, and
/// its answer read by upstream's parser (``QwenEmotionParsing``) into the eight-value emotion vector.
///
/// Immutable after load and `Sendable`; every call has its own decoding state.
public struct QwenEmotion: Sendable {
    /// The folder name inside IndexTTS2's checkpoint directory.
    public static let folderName = "qwen0.6bemo4-merge"
    /// Upstream's system prompt.
    public static let systemPrompt = "文本情感分类"

    public let folder: String
    public let model: Qwen3CausalLM
    public let tokenizer: ByteLevelBPETokenizer
    public let generation: Qwen3GenerationConfiguration
    /// Id of `</think>` (151668 in Qwen3's vocabulary, upstream's constant).
    public let thinkEndID: Int
    /// The folder's chat template compared with the Qwen3 template the prompt is rendered from.
    public let chatTemplate: ChatTemplateCheck

    public init(folder: String, model: Qwen3CausalLM, tokenizer: ByteLevelBPETokenizer, generation: Qwen3GenerationConfiguration,
                chatTemplate: ChatTemplateCheck = .absent) {
        self.folder = folder
        self.model = model
        self.tokenizer = tokenizer
        self.generation = generation
        self.chatTemplate = chatTemplate
        thinkEndID = tokenizer.id(of: "</think>") ?? QwenEmotionParsing.thinkEndID
    }

    /// The model folder for `path`: `path/qwen0.6bemo4-merge` when that exists (an IndexTTS2 checkpoint directory),
    /// else `path` itself.
    public static func resolveFolder(_ path: String) -> String {
        let nested = (path as NSString).appendingPathComponent(folderName)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: nested, isDirectory: &isDirectory), isDirectory.boolValue { return nested }
        return path
    }

    /// Loads the folder (`config.json`, `model.safetensors` — or `model.safetensors.index.json` and its shards, as
    /// Hugging Face splits large checkpoints —, `tokenizer.json`; `generation_config.json` when present, else greedy
    /// decoding stopping at `config.json`'s `eos_token_id`, as transformers falls back), and compares the folder's
    /// chat template (``ChatTemplateCheck``) with the Qwen3 template the prompt is rendered from.
    /// - Throws: ``QwenEmotionError/missingFile(path:)`` naming the first missing file; ``ModelError`` for a bad
    ///   configuration field or an unreadable `tokenizer_config.json`; ``IndexTTSWeights/WeightsError`` naming every
    ///   missing, unexpected or misshapen tensor, or a bad shard index; ``IndexTTSText/TextError/invalidTokenizer(path:reason:)``
    ///   for an unusable tokenizer.
    public static func load(folder path: String, precision: Qwen3CausalLM.WeightPrecision = .stored) throws -> QwenEmotion {
        let folder = resolveFolder(path)
        func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }
        let sharded = !exists("model.safetensors") && exists("model.safetensors.index.json")
        for name in ["config.json", "model.safetensors", "tokenizer.json"] where !exists(name) && !(sharded && name == "model.safetensors") {
            throw QwenEmotionError.missingFile(path: file(name))
        }
        let configuration = try Qwen3Configuration.load(path: file("config.json"))
        var generation: Qwen3GenerationConfiguration
        if FileManager.default.fileExists(atPath: file("generation_config.json")) {
            generation = try Qwen3GenerationConfiguration.load(path: file("generation_config.json"))
        } else {
            generation = Qwen3GenerationConfiguration()
        }
        if generation.eosTokenIds.isEmpty, let eos = configuration.eosTokenId { generation.eosTokenIds = [eos] }
        let tokenizer = try ByteLevelBPETokenizer(path: file("tokenizer.json"))
        let template = try ChatTemplateCheck.check(folder: folder)
        let store = sharded ? try WeightStore.openSharded(index: file("model.safetensors.index.json"))
                            : try WeightStore.open(path: file("model.safetensors"))
        let model = try Qwen3CausalLM.load(from: store, configuration: configuration, precision: precision)
        return QwenEmotion(folder: folder, model: model, tokenizer: tokenizer, generation: generation, chatTemplate: template)
    }

    /// The prompt ids for `text` (`tokenizer([apply_chat_template(...)])`).
    public func prompt(for text: String) -> [Int] {
        tokenizer.encode(ByteLevelBPETokenizer.qwen3ChatPrompt(system: Self.systemPrompt, user: text))
    }

    /// The emotion vector of `text`, sampling (when the configuration samples) with draws from `random`.
    public func analyze<R: UniformRandomSource>(_ text: String, options: QwenEmotionOptions = QwenEmotionOptions(),
                                                random: inout R) throws -> EmotionTextAnalysis {
        let clock = ContinuousClock()
        let start = clock.now
        let ids = prompt(for: text)
        var g = generation
        if let doSample = options.doSample { g.doSample = doSample }
        let result = try model.generate(prompt: ids, configuration: g, maxNewTokens: options.maxNewTokens, random: &random)
        let content = tokenizer.decode(Array(QwenEmotionParsing.idsAfterThinking(result.tokens, thinkEndID: thinkEndID)),
                                       skipSpecialTokens: true)
        let vector = try QwenEmotionParsing.vector(content: content, emotionText: text)
        let total = clock.now - start
        return EmotionTextAnalysis(vector: vector, answer: content, promptTokenCount: ids.count, generatedTokens: result.tokens,
                                   stoppedAtEOS: result.stoppedAtEOS, prefillSeconds: result.prefillSeconds,
                                   decodeSeconds: result.decodeSeconds,
                                   totalSeconds: Double(total.components.seconds) + Double(total.components.attoseconds) * 1e-18,
                                   warnings: chatTemplate.warning.map { [$0] } ?? [])
    }

    /// The emotion vector of `text`, sampling draws seeded by `options.seed`.
    public func analyze(_ text: String, options: QwenEmotionOptions = QwenEmotionOptions()) throws -> EmotionTextAnalysis {
        var random = SeededRandomSource(seed: options.seed)
        return try analyze(text, options: options, random: &random)
    }
}

/// The emotion-text model loaded on first use (upstream loads it with the engine; IndexTTS2 only needs it for the
/// emotion-text mode, and it is 1.2 GB): the first ``analyze(_:options:)`` loads the folder, later calls reuse it.
/// A failed load is not cached (the next call retries, e.g. after the folder was completed). Thread-safe; concurrent
/// first calls load once.
public final class LazyQwenEmotion: Sendable {
    public let folder: String
    public let precision: Qwen3CausalLM.WeightPrecision
    private let lock = Mutex<QwenEmotion?>(nil)

    /// `folder`: the model folder or an IndexTTS2 checkpoint directory holding `qwen0.6bemo4-merge/` (upstream joins
    /// `model_dir` and `config.yaml`'s `qwen_emo_path`).
    public init(folder: String, precision: Qwen3CausalLM.WeightPrecision = .stored) {
        self.folder = folder
        self.precision = precision
    }

    /// Whether the model has been loaded.
    public var isLoaded: Bool { lock.withLock { $0 != nil } }

    /// The model, loading it now if needed.
    public func model() throws -> QwenEmotion {
        try lock.withLock { loaded in
            if let loaded { return loaded }
            let model = try QwenEmotion.load(folder: folder, precision: precision)
            loaded = model
            return model
        }
    }

    /// ``QwenEmotion/analyze(_:options:)`` on the (possibly just loaded) model.
    public func analyze(_ text: String, options: QwenEmotionOptions = QwenEmotionOptions()) throws -> EmotionTextAnalysis {
        try model().analyze(text, options: options)
    }
}

/// The folder's chat template against the one the prompt is rendered from. There is no Jinja engine here: the prompt
/// is ``ByteLevelBPETokenizer/qwen3ChatPrompt(system:user:)``, proven equal to transformers' `apply_chat_template`
/// (`add_generation_prompt`, `enable_thinking=False`) on Qwen3-0.6B's template, the one `qwen0.6bemo4-merge` ships.
/// A folder with another template still loads — the fine-tune may accept the same prompt, and refusing would take the
/// emotion-text mode away — but every answer carries a warning (``EmotionTextAnalysis/warnings``) saying that the
/// prompt may differ from what upstream would send. Where transformers reads it: `chat_template.jinja` first, else
/// `tokenizer_config.json`'s `chat_template` (a string, or a list of `{name, template}` whose `default` is used).
public enum ChatTemplateCheck: Sendable, Equatable {
    /// The folder's template is Qwen3's (`source`: the file it came from).
    case qwen3(source: String)
    /// The folder has no chat template (transformers would refuse `apply_chat_template`; Qwen3's is used).
    case absent
    /// The folder's template (from `source`) is not the one rendered.
    case different(source: String)

    /// FNV-1a (64-bit) of Qwen3-0.6B's chat template (2025 release, as tools/fixtures/generate_qwen_emotion.py
    /// writes it), whitespace trimmed at both ends.
    public static let qwen3Fingerprint: UInt64 = 0x959a_4551_391a_6549

    /// FNV-1a (64-bit) over the UTF-8 of `template` with whitespace trimmed at both ends (Jinja drops a template's
    /// final newline; files and JSON strings differ there).
    public static func fingerprint(_ template: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in template.trimmingCharacters(in: .whitespacesAndNewlines).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// A warning for the user, nil when the template is Qwen3's.
    public var warning: String? {
        switch self {
        case .qwen3: return nil
        case .absent:
            return "the QwenEmotion folder has no chat template (chat_template.jinja or tokenizer_config.json's chat_template); Qwen3's was used"
        case .different(let source):
            return "the chat template in \(source) differs from Qwen3-0.6B's, which this port renders (no Jinja engine); "
                + "the prompt may differ from upstream's and so may the emotion vector"
        }
    }

    /// Finds and compares the folder's template.
    /// - Throws: ``ModelError/invalidConfiguration(file:field:reason:)`` for a `tokenizer_config.json` that is not
    ///   JSON or whose `chat_template` is neither a string nor a list of `{name, template}`.
    public static func check(folder: String) throws -> ChatTemplateCheck {
        func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        var template: String?, source = ""
        if let data = FileManager.default.contents(atPath: file("chat_template.jinja")) {
            template = String(decoding: data, as: UTF8.self)
            source = file("chat_template.jinja")
        } else if let data = FileManager.default.contents(atPath: file("tokenizer_config.json")) {
            source = file("tokenizer_config.json")
            guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ModelError.invalidConfiguration(file: source, field: "(file)", reason: "not a JSON object")
            }
            let value = root["chat_template"]
            if let text = value as? String {
                template = text
            } else if let list = value as? [[String: Any]] {
                guard let chosen = list.first(where: { $0["name"] as? String == "default" }) ?? list.first,
                      let text = chosen["template"] as? String else {
                    throw ModelError.invalidConfiguration(file: source, field: "chat_template", reason: "a list needs {name, template} objects")
                }
                template = text
            } else if value != nil && !(value is NSNull) {
                throw ModelError.invalidConfiguration(file: source, field: "chat_template", reason: "expected a string or a list of {name, template}")
            }
        }
        guard let template else { return .absent }
        return fingerprint(template) == qwen3Fingerprint ? .qwen3(source: source) : .different(source: source)
    }
}
