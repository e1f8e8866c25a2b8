import Foundation
import IndexTTSText
import IndexTTSModels
import IndexTTSWeights
import Yams

/// Why an IndexTTS2 model folder cannot be loaded: every missing or broken file at once, each with where upstream
/// gets it.
public enum IndexTTS2LoadError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Problem: Equatable, Sendable, CustomStringConvertible {
        /// The file or folder (absolute path).
        public var path: String
        /// `missing`, or why it cannot be used.
        public var reason: String
        /// Where users get it.
        public var source: String

        public init(path: String, reason: String, source: String) {
            self.path = path
            self.reason = reason
            self.source = source
        }

        public var description: String { "\(path): \(reason) (from \(source))" }
    }

    case unusableFolder(root: String, problems: [Problem])

    public var problems: [Problem] {
        switch self { case .unusableFolder(_, let problems): problems }
    }

    public var description: String {
        switch self {
        case .unusableFolder(let root, let problems):
            "IndexTTS2 model folder \(root) cannot be used (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}

/// The files of an IndexTTS2 model folder as users have it after upstream's download (ee40fa7 layout): `config.yaml`
/// and the files it names (`gpt_checkpoint`, `s2mel_checkpoint`, `dataset.bpe_model`, `w2v_stat`, `emo_matrix`,
/// `spk_matrix`), and under `hf_cache/` the flat layout `ensure_models_available()` reads: `w2v-bert-2.0/`,
/// `semantic_codec_model.safetensors`, `campplus_cn_common.bin`, `bigvgan/` — or, where a flat entry is absent, the
/// Hugging Face hub layout (`models--facebook--w2v-bert-2.0/snapshots/…`, `models--amphion--MaskGCT/…/semantic_codec/
/// model.safetensors`, `models--funasr--campplus/…`, `models--nvidia--bigvgan_v2_22khz_80band_256x/…`). Each
/// auxiliary model may instead be given by path. ``resolve(root:hfCache:)`` checks every file (present, non-empty, checkpoint index readable,
/// configuration parseable) and reports all problems in one ``IndexTTS2LoadError``.
///
/// An IndexTTS-2.5 folder (`version: 2.5` in `config.yaml`, ``ModelGeneration``) has the same layout but for two
/// files: the text tokenizer is `multilingual_zh_ja_yue_char_del.tiktoken` (in ``bpe``'s place) and the codec is
/// `codec.pth` in the folder (in ``semanticCodec``'s place; the MaskGCT codec under `hf_cache/` is not read).
public struct IndexTTS2ModelFolder: Sendable, Equatable {
    public var root: String
    public var config: String
    /// The model generation `config.yaml` names (2.0 when it names none, or when it cannot be read).
    public var generation: ModelGeneration = .indexTTS2
    public var gpt: String
    public var s2mel: String
    /// The text tokenizer: `bpe.model` (2.0, `dataset.bpe_model`) or `multilingual_zh_ja_yue_char_del.tiktoken` (2.5).
    public var bpe: String
    public var w2vStatistics: String
    public var emotionMatrix: String
    public var speakerMatrix: String
    public var w2vBert: String
    /// The codec: MaskGCT's semantic codec under `hf_cache/` (2.0) or the folder's `codec.pth` (2.5).
    public var semanticCodec: String
    public var campplus: String
    public var bigvgan: String
    /// ``computeFingerprint()`` of the files, computed by ``inspect(root:hfCache:overrides:)`` when
    /// every required file is usable (empty otherwise).
    public var fingerprint: String = ""
    /// QwenEmotion's folder (`qwen_emo_path`, default `qwen0.6bemo4-merge/`): only emotion text needs it, and it is
    /// loaded on first use.
    public var qwenEmotion: String = ""

    static let mainSource = "IndexTeam/IndexTTS-2 (Hugging Face or ModelScope), into the model folder"
    static let mainSource25 = "IndexTeam/IndexTTS-2.5 (Hugging Face or ModelScope), into the model folder"
    /// IndexTTS-2.5's tokenizer file name (upstream hard-codes it in `get_tokenizer`).
    public static let tiktokenFile = "multilingual_zh_ja_yue_char_del.tiktoken"

    /// Where users get the folder's own files.
    public var source: String { generation == .indexTTS25 ? Self.mainSource25 : Self.mainSource }

    /// Auxiliary model locations that override the `hf_cache/` defaults.
    public struct Overrides: Sendable, Equatable {
        public var w2vBert: String?
        public var semanticCodec: String?
        public var campplus: String?
        public var bigvgan: String?
        public init(w2vBert: String? = nil, semanticCodec: String? = nil, campplus: String? = nil, bigvgan: String? = nil) {
            self.w2vBert = w2vBert
            self.semanticCodec = semanticCodec
            self.campplus = campplus
            self.bigvgan = bigvgan
        }
    }

    /// One file (or folder) of the official layout and what ``inspect(root:hfCache:overrides:)`` found.
    public struct FileCheck: Sendable, Equatable {
        /// What it is, as upstream's instructions name it (`gpt.pth`, `w2v-bert-2.0 model.safetensors`, …).
        public var name: String
        /// Where it was looked for (absolute).
        public var path: String
        /// Where users get it.
        public var source: String
        /// Nil when usable; else `missing`, `empty file`, `unreadable checkpoint: …`, ….
        public var problem: String?
        /// For a usable file: format, tensor and parameter counts (checkpoints) or size.
        public var summary: String
        /// False for files only some controls need (`qwen0.6bemo4-merge/`, emotion text): their absence does not stop
        /// loading.
        public var required: Bool

        public var isUsable: Bool { problem == nil }
        var loadProblem: IndexTTS2LoadError.Problem? { problem.map { .init(path: path, reason: $0, source: source) } }
    }

    /// The result of ``inspect(root:hfCache:overrides:)``: the paths the loader will read, every file's state, and
    /// (when every required file is usable) the weights' fingerprint.
    public struct Inspection: Sendable {
        public var folder: IndexTTS2ModelFolder
        public var files: [FileCheck]
        public var problems: [IndexTTS2LoadError.Problem] { files.filter(\.required).compactMap(\.loadProblem) }
    }

    /// Finds and checks every file; throws ``IndexTTS2LoadError`` listing all problems.
    /// - Parameters:
    ///   - root: the model folder (`checkpoints/`).
    ///   - hfCache: the Hugging Face cache folder; default `root/hf_cache`.
    public static func resolve(root: String, hfCache: String? = nil, overrides: Overrides = Overrides()) throws -> IndexTTS2ModelFolder {
        let inspection = inspect(root: root, hfCache: hfCache, overrides: overrides)
        let problems = inspection.problems
        guard problems.isEmpty else { throw IndexTTS2LoadError.unusableFolder(root: inspection.folder.root, problems: problems) }
        return inspection.folder
    }

    /// Every file of the official folder, `hf_cache/` included, checked without loading a weight: present, non-empty,
    /// checkpoint index readable, configuration parseable. The one source of truth for ``resolve(root:hfCache:overrides:)``
    /// (which throws on the required files' problems) and `indextts models check` (which lists them all).
    public static func inspect(root: String, hfCache: String? = nil, overrides: Overrides = Overrides()) -> Inspection {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        let cache = URL(fileURLWithPath: hfCache ?? rootURL.appendingPathComponent("hf_cache").path).standardizedFileURL
        var files: [FileCheck] = []
        func inRoot(_ name: String) -> String { rootURL.appendingPathComponent(name).path }
        func inCache(_ name: String) -> String { cache.appendingPathComponent(name).path }
        func plain(_ name: String, _ path: String, _ source: String, required: Bool = true) {
            if let problem = checkFile(path, source: source) {
                files.append(FileCheck(name: name, path: path, source: source, problem: problem.reason, summary: "", required: required))
            } else {
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                files.append(FileCheck(name: name, path: path, source: source, problem: nil, summary: "\(size) bytes", required: required))
            }
        }
        func checkpoint(_ name: String, _ path: String, _ source: String, required: Bool = true) {
            switch openCheckpoint(path, source: source) {
            case .failure(let problem):
                files.append(FileCheck(name: name, path: path, source: source, problem: problem.reason, summary: "", required: required))
            case .success(let store):
                let parameters = store.entries.reduce(0) { $0 + $1.elementCount }
                files.append(FileCheck(name: name, path: path, source: source, problem: nil,
                                       summary: "\(store.format.rawValue), \(store.entries.count) tensors, \(parameters) parameters",
                                       required: required))
            }
        }

        // config.yaml first: it names the other main files.
        let configPath = inRoot("config.yaml")
        var names: [String: String] = [:]
        let defaults = ["gpt_checkpoint": "gpt.pth", "s2mel_checkpoint": "s2mel.pth", "bpe_model": "bpe.model",
                        "w2v_stat": "wav2vec2bert_stats.pt", "emo_matrix": "feat2.pt", "spk_matrix": "feat1.pt",
                        "qwen_emo_path": "qwen0.6bemo4-merge"]
        var generation = ModelGeneration.indexTTS2
        if let problem = checkFile(configPath, source: mainSource) {
            files.append(FileCheck(name: "config.yaml", path: configPath, source: mainSource, problem: problem.reason, summary: "",
                                   required: true))
        } else {
            do {
                let text = try String(contentsOfFile: configPath, encoding: .utf8)
                let document = try ConfigYAMLDocument(yaml: text, source: configPath)
                generation = try document.generation()
                guard let values = document.values else {
                    throw ModelError.invalidConfiguration(file: configPath, field: "-", reason: "not a mapping")
                }
                for key in ["gpt_checkpoint", "s2mel_checkpoint", "w2v_stat", "emo_matrix", "spk_matrix", "qwen_emo_path"] {
                    if let value = values[key] as? String { names[key] = value }
                }
                if let dataset = values["dataset"] as? [String: Any], let bpe = dataset["bpe_model"] as? String {
                    names["bpe_model"] = bpe
                }
                for section in ["gpt", "s2mel", "semantic_codec"] where values[section] == nil {
                    throw ModelError.invalidConfiguration(file: configPath, field: section, reason: "missing section")
                }
                _ = try UnifiedVoiceConfiguration.read(document)
                _ = try S2MConfiguration.read(document)
                if generation == .indexTTS25 {
                    _ = try document.section(EnhancedCodecConfiguration.self)
                } else {
                    _ = try document.section(SemanticCodecConfiguration.self)
                }
                files.append(FileCheck(name: "config.yaml", path: configPath, source: mainSource, problem: nil,
                                       summary: "\(text.utf8.count) bytes", required: true))
            } catch {
                files.append(FileCheck(name: "config.yaml", path: configPath, source: mainSource, problem: "unreadable: \(error)",
                                       summary: "", required: true))
            }
        }
        func main(_ key: String) -> String { inRoot(names[key] ?? defaults[key]!) }
        let is25 = generation == .indexTTS25
        let mainSource = is25 ? mainSource25 : mainSource

        let folder = IndexTTS2ModelFolder(
            root: rootURL.path, config: configPath, generation: generation, gpt: main("gpt_checkpoint"),
            s2mel: main("s2mel_checkpoint"), bpe: is25 ? inRoot(tiktokenFile) : main("bpe_model"),
            w2vStatistics: main("w2v_stat"), emotionMatrix: main("emo_matrix"), speakerMatrix: main("spk_matrix"),
            w2vBert: overrides.w2vBert ?? flatOrHub(inCache("w2v-bert-2.0"), cache, "facebook/w2v-bert-2.0", ""),
            semanticCodec: is25 ? inRoot("codec.pth")
                : overrides.semanticCodec ?? flatOrHub(inCache("semantic_codec_model.safetensors"), cache,
                                                       "amphion/MaskGCT", "semantic_codec/model.safetensors"),
            campplus: overrides.campplus ?? flatOrHub(inCache("campplus_cn_common.bin"), cache, "funasr/campplus",
                                                      "campplus_cn_common.bin"),
            bigvgan: overrides.bigvgan ?? flatOrHub(inCache("bigvgan"), cache, "nvidia/bigvgan_v2_22khz_80band_256x", ""))

        checkpoint("gpt.pth", folder.gpt, mainSource)
        checkpoint("s2mel.pth", folder.s2mel, mainSource)
        checkpoint("wav2vec2bert_stats.pt", folder.w2vStatistics, mainSource)
        checkpoint("feat2.pt (emo_matrix)", folder.emotionMatrix, mainSource)
        checkpoint("feat1.pt (spk_matrix)", folder.speakerMatrix, mainSource)
        plain(is25 ? tiktokenFile : "bpe.model", folder.bpe, mainSource)

        let w2vSource = "facebook/w2v-bert-2.0, into hf_cache/w2v-bert-2.0/"
        if let resolved = try? W2VBert.resolve(directory: folder.w2vBert) {
            plain("w2v-bert-2.0 config.json", resolved.appendingPathComponent("config.json").path, w2vSource)
            checkpoint("w2v-bert-2.0 model.safetensors", resolved.appendingPathComponent("model.safetensors").path, w2vSource)
        } else {
            files.append(FileCheck(name: "w2v-bert-2.0 (config.json, model.safetensors)", path: folder.w2vBert, source: w2vSource,
                                   problem: "missing (no config.json + model.safetensors)", summary: "", required: true))
        }
        if is25 {
            checkpoint("codec.pth", folder.semanticCodec, mainSource)
        } else {
            checkpoint("MaskGCT semantic_codec model.safetensors", folder.semanticCodec,
                       "amphion/MaskGCT semantic_codec/model.safetensors, into hf_cache/semantic_codec_model.safetensors")
        }
        checkpoint("campplus_cn_common.bin", folder.campplus, "funasr/campplus campplus_cn_common.bin, into hf_cache/")
        let bigvganSource = "nvidia/bigvgan_v2_22khz_80band_256x, into hf_cache/bigvgan/"
        let bigvganConfig = (folder.bigvgan as NSString).appendingPathComponent("config.json")
        plain("bigvgan config.json", bigvganConfig, bigvganSource)
        checkpoint("bigvgan_generator.pt", (folder.bigvgan as NSString).appendingPathComponent("bigvgan_generator.pt"), bigvganSource)

        // QwenEmotion (emotion text, issue #17): listed, not needed to load.
        let qwen = main("qwen_emo_path")
        let qwenSource = mainSource + " (qwen0.6bemo4-merge/; only emotion text needs it)"
        plain("qwen0.6bemo4-merge config.json", (qwen as NSString).appendingPathComponent("config.json"), qwenSource, required: false)
        checkpoint("qwen0.6bemo4-merge model.safetensors", (qwen as NSString).appendingPathComponent("model.safetensors"), qwenSource,
                   required: false)

        var result = folder
        result.qwenEmotion = qwen
        if files.allSatisfy({ !$0.required || $0.isUsable }) { result.fingerprint = (try? folder.computeFingerprint()) ?? "" }
        return Inspection(folder: result, files: files)
    }

    /// Identifies the weights, not where they are: SHA-256 over `config.yaml`'s bytes, `bpe.model`'s and the two
    /// `config.json`s' bytes, and for each checkpoint (by role, in a fixed order: GPT, S2M, w2v-BERT statistics,
    /// emotion and speaker matrices, w2v-BERT, codec, CAM++, BigVGAN) its tensor index — every tensor's name, dtype,
    /// shape and data size, sorted by name — its file size, and 16 samples of 4 KiB at evenly spaced offsets of the
    /// file. Costs one read of the small files and 16 short reads per checkpoint (no tensor is decoded). Two folders
    /// with the same files have the same fingerprint wherever they are; retrained weights with an identical index are
    /// told apart by the byte samples (a change confined to bytes between samples is not seen). QwenEmotion is not
    /// covered (no conditioning depends on it).
    /// - Returns: `sha256:` and 64 hex digits.
    /// - Throws: when a file cannot be opened.
    public func computeFingerprint() throws -> String {
        let w2vDirectory = try W2VBert.resolve(directory: w2vBert)
        let is25 = generation == .indexTTS25
        let smallFiles = [("config.yaml", config), (is25 ? "tokenizer" : "bpe.model", bpe),
                          ("w2v-bert-2.0 config.json", w2vDirectory.appendingPathComponent("config.json").path),
                          ("bigvgan config.json", (bigvgan as NSString).appendingPathComponent("config.json"))]
        let checkpoints = [("gpt", gpt), ("s2mel", s2mel), ("w2v_stat", w2vStatistics), ("emo_matrix", emotionMatrix),
                           ("spk_matrix", speakerMatrix),
                           ("w2v-bert-2.0", w2vDirectory.appendingPathComponent("model.safetensors").path),
                           (is25 ? "codec" : "semantic_codec", semanticCodec), ("campplus", campplus),
                           ("bigvgan", (bigvgan as NSString).appendingPathComponent("bigvgan_generator.pt"))]
        var hash = ContentHash()
        hash.update("indextts2-fingerprint-v1\n")
        for (role, path) in smallFiles {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw WeightsError.unreadable(path: path, reason: "cannot read")
            }
            hash.update("file \(role) \(data.count)\n")
            hash.update(data)
        }
        for (role, path) in checkpoints {
            let store = try WeightStore.open(path: path)
            hash.update("checkpoint \(role) \(store.format.rawValue)\n")
            for entry in store.entries.sorted(by: { $0.name < $1.name }) {
                hash.update("\(entry.name)|\(entry.dtype.rawValue)|\(entry.shape)|\(entry.storedByteCount)\n")
            }
            guard let handle = FileHandle(forReadingAtPath: path) else { throw WeightsError.unreadable(path: path, reason: "cannot open") }
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            hash.update("size \(size)\n")
            let sampleSize: UInt64 = 4096, samples: UInt64 = 16
            for k in 0..<samples {
                let offset = size > sampleSize ? (size - sampleSize) * k / (samples - 1) : 0
                try handle.seek(toOffset: offset)
                hash.update(try handle.read(upToCount: Int(sampleSize)) ?? Data())
            }
        }
        return "sha256:" + hash.hexDigest()
    }

    /// The flat path when it exists, else the file in the Hugging Face hub cache entry of `repository`
    /// (`models--org--name/snapshots/<refs/main, or the only snapshot>/relative`) when that exists, else the flat
    /// path (reported as missing).
    static func flatOrHub(_ flat: String, _ cache: URL, _ repository: String, _ relative: String) -> String {
        if FileManager.default.fileExists(atPath: flat) { return flat }
        let entry = cache.appendingPathComponent("models--" + repository.replacingOccurrences(of: "/", with: "--"))
        let snapshots = entry.appendingPathComponent("snapshots")
        var snapshot: String? = nil
        if let ref = try? String(contentsOf: entry.appendingPathComponent("refs/main"), encoding: .utf8) {
            snapshot = ref.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let all = try? FileManager.default.contentsOfDirectory(atPath: snapshots.path), all.count == 1 {
            snapshot = all[0]
        }
        guard let snapshot else { return flat }
        let candidate = relative.isEmpty ? snapshots.appendingPathComponent(snapshot)
            : snapshots.appendingPathComponent(snapshot).appendingPathComponent(relative)
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate.path : flat
    }

    static func checkFile(_ path: String, source: String) -> IndexTTS2LoadError.Problem? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .init(path: path, reason: "missing", source: source)
        }
        if isDirectory.boolValue { return .init(path: path, reason: "is a folder, expected a file", source: source) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return size > 0 ? nil : .init(path: path, reason: "empty file", source: source)
    }

    static func openCheckpoint(_ path: String, source: String) -> Result<WeightStore, IndexTTS2LoadError.Problem> {
        if let problem = checkFile(path, source: source) { return .failure(problem) }
        do {
            return .success(try WeightStore.open(path: path))
        } catch {
            return .failure(.init(path: path, reason: "unreadable checkpoint: \(error)", source: source))
        }
    }
}

extension IndexTTS2LoadError.Problem: Error {}
