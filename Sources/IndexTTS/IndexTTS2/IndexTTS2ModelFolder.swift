import Foundation
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
public struct IndexTTS2ModelFolder: Sendable, Equatable {
    public var root: String
    public var config: String
    public var gpt: String
    public var s2mel: String
    public var bpe: String
    public var w2vStatistics: String
    public var emotionMatrix: String
    public var speakerMatrix: String
    public var w2vBert: String
    public var semanticCodec: String
    public var campplus: String
    public var bigvgan: String

    static let mainSource = "IndexTeam/IndexTTS-2 (Hugging Face or ModelScope), into the model folder"

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

    /// Finds and checks every file; throws ``IndexTTS2LoadError`` listing all problems.
    /// - Parameters:
    ///   - root: the model folder (`checkpoints/`).
    ///   - hfCache: the Hugging Face cache folder; default `root/hf_cache`.
    public static func resolve(root: String, hfCache: String? = nil, overrides: Overrides = Overrides()) throws -> IndexTTS2ModelFolder {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        let cache = URL(fileURLWithPath: hfCache ?? rootURL.appendingPathComponent("hf_cache").path).standardizedFileURL
        var problems: [IndexTTS2LoadError.Problem] = []
        func inRoot(_ name: String) -> String { rootURL.appendingPathComponent(name).path }
        func inCache(_ name: String) -> String { cache.appendingPathComponent(name).path }

        // config.yaml first: it names the other main files.
        let configPath = inRoot("config.yaml")
        var names: [String: String] = [:]
        let defaults = ["gpt_checkpoint": "gpt.pth", "s2mel_checkpoint": "s2mel.pth", "bpe_model": "bpe.model",
                        "w2v_stat": "wav2vec2bert_stats.pt", "emo_matrix": "feat2.pt", "spk_matrix": "feat1.pt"]
        if let problem = checkFile(configPath, source: mainSource) {
            problems.append(problem)
        } else {
            do {
                let text = try String(contentsOfFile: configPath, encoding: .utf8)
                guard let node = try Yams.load(yaml: text) as? [String: Any] else {
                    throw ModelError.invalidConfiguration(file: configPath, field: "-", reason: "not a mapping")
                }
                for key in ["gpt_checkpoint", "s2mel_checkpoint", "w2v_stat", "emo_matrix", "spk_matrix"] {
                    if let value = node[key] as? String { names[key] = value }
                }
                if let dataset = node["dataset"] as? [String: Any], let bpe = dataset["bpe_model"] as? String {
                    names["bpe_model"] = bpe
                }
                for section in ["gpt", "s2mel", "semantic_codec"] where node[section] == nil {
                    throw ModelError.invalidConfiguration(file: configPath, field: section, reason: "missing section")
                }
                _ = try UnifiedVoiceConfiguration.parse(yaml: text, source: configPath)
                _ = try S2MConfiguration.parse(yaml: text, source: configPath)
                _ = try SemanticCodecConfiguration.parse(yaml: text, source: configPath)
            } catch {
                problems.append(.init(path: configPath, reason: "unreadable: \(error)", source: mainSource))
            }
        }
        func main(_ key: String) -> String { inRoot(names[key] ?? defaults[key]!) }

        let folder = IndexTTS2ModelFolder(
            root: rootURL.path, config: configPath, gpt: main("gpt_checkpoint"), s2mel: main("s2mel_checkpoint"),
            bpe: main("bpe_model"), w2vStatistics: main("w2v_stat"), emotionMatrix: main("emo_matrix"),
            speakerMatrix: main("spk_matrix"),
            w2vBert: overrides.w2vBert ?? flatOrHub(inCache("w2v-bert-2.0"), cache, "facebook/w2v-bert-2.0", ""),
            semanticCodec: overrides.semanticCodec ?? flatOrHub(inCache("semantic_codec_model.safetensors"), cache,
                                                                "amphion/MaskGCT", "semantic_codec/model.safetensors"),
            campplus: overrides.campplus ?? flatOrHub(inCache("campplus_cn_common.bin"), cache, "funasr/campplus",
                                                      "campplus_cn_common.bin"),
            bigvgan: overrides.bigvgan ?? flatOrHub(inCache("bigvgan"), cache, "nvidia/bigvgan_v2_22khz_80band_256x", ""))

        for path in [folder.gpt, folder.s2mel, folder.w2vStatistics, folder.emotionMatrix, folder.speakerMatrix] {
            if let problem = checkCheckpoint(path, source: mainSource) { problems.append(problem) }
        }
        if let problem = checkFile(folder.bpe, source: mainSource) { problems.append(problem) }

        let w2vSource = "facebook/w2v-bert-2.0, into hf_cache/w2v-bert-2.0/"
        if let resolved = try? W2VBert.resolve(directory: folder.w2vBert) {
            if let problem = checkFile(resolved.appendingPathComponent("config.json").path, source: w2vSource) { problems.append(problem) }
            if let problem = checkCheckpoint(resolved.appendingPathComponent("model.safetensors").path, source: w2vSource) {
                problems.append(problem)
            }
        } else {
            problems.append(.init(path: folder.w2vBert, reason: "missing (no config.json + model.safetensors)", source: w2vSource))
        }
        if let problem = checkCheckpoint(folder.semanticCodec,
                                         source: "amphion/MaskGCT semantic_codec/model.safetensors, into hf_cache/semantic_codec_model.safetensors") {
            problems.append(problem)
        }
        if let problem = checkCheckpoint(folder.campplus, source: "funasr/campplus campplus_cn_common.bin, into hf_cache/") {
            problems.append(problem)
        }
        let bigvganSource = "nvidia/bigvgan_v2_22khz_80band_256x, into hf_cache/bigvgan/"
        if let problem = checkFile((folder.bigvgan as NSString).appendingPathComponent("config.json"), source: bigvganSource) {
            problems.append(problem)
        }
        if let problem = checkCheckpoint((folder.bigvgan as NSString).appendingPathComponent("bigvgan_generator.pt"), source: bigvganSource) {
            problems.append(problem)
        }
        guard problems.isEmpty else { throw IndexTTS2LoadError.unusableFolder(root: rootURL.path, problems: problems) }
        return folder
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

    static func checkCheckpoint(_ path: String, source: String) -> IndexTTS2LoadError.Problem? {
        if let problem = checkFile(path, source: source) { return problem }
        do {
            _ = try WeightStore.open(path: path)
            return nil
        } catch {
            return .init(path: path, reason: "unreadable checkpoint: \(error)", source: source)
        }
    }
}
