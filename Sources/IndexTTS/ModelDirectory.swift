import Foundation
import IndexTTSWeights

/// The IndexTTS2 model folder as users download it (`checkpoints/` with `hf_cache/` inside), and a check that says
/// which files are present, readable or missing — before anything heavy loads.
public struct ModelDirectory: Sendable {
    /// One file the pipeline needs.
    public struct Component: Sendable {
        public enum Kind: String, Sendable {
            case checkpoint, config, tokenizer, folder
        }
        public let name: String
        public let kind: Kind
        /// Where users get it.
        public let source: String
        /// Matches a path relative to the model folder (`/`-separated).
        let matches: @Sendable (String) -> Bool
    }

    /// The outcome for one component.
    public enum Status: Sendable {
        /// Found; for checkpoints the summary gives format, tensor and parameter counts.
        case present(path: String, summary: String)
        /// Found but not readable as expected.
        case unreadable(path: String, reason: String)
        case missing
    }

    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// The components of IndexTTS2 (spec §1): main checkpoints from IndexTeam/IndexTTS-2, auxiliary models that the
    /// reference downloads into `hf_cache/`.
    public static let indexTTS2: [Component] = {
        let main = "IndexTeam/IndexTTS-2 (Hugging Face or ModelScope), into the model folder"
        func exact(_ name: String) -> @Sendable (String) -> Bool { { $0 == name } }
        func file(_ name: String, under folder: String? = nil) -> @Sendable (String) -> Bool {
            { path in
                path.split(separator: "/").last.map(String.init) == name
                    && (folder.map { path.lowercased().contains($0) } ?? true)
            }
        }
        return [
            Component(name: "config.yaml", kind: .config, source: main, matches: exact("config.yaml")),
            Component(name: "gpt.pth", kind: .checkpoint, source: main, matches: exact("gpt.pth")),
            Component(name: "s2mel.pth", kind: .checkpoint, source: main, matches: exact("s2mel.pth")),
            Component(name: "bpe.model", kind: .tokenizer, source: main, matches: exact("bpe.model")),
            Component(name: "wav2vec2bert_stats.pt", kind: .checkpoint, source: main, matches: exact("wav2vec2bert_stats.pt")),
            Component(name: "feat1.pt", kind: .checkpoint, source: main, matches: exact("feat1.pt")),
            Component(name: "feat2.pt", kind: .checkpoint, source: main, matches: exact("feat2.pt")),
            Component(name: "qwen0.6bemo4-merge/model.safetensors", kind: .checkpoint, source: main,
                      matches: file("model.safetensors", under: "qwen0.6bemo4-merge")),
            Component(name: "w2v-bert-2.0 model.safetensors", kind: .checkpoint,
                      source: "facebook/w2v-bert-2.0, into hf_cache/", matches: file("model.safetensors", under: "w2v-bert-2.0")),
            Component(name: "MaskGCT semantic codec", kind: .checkpoint, source: "amphion/MaskGCT semantic_codec/model.safetensors, into hf_cache/",
                      matches: { path in
                          path.hasSuffix("semantic_codec_model.safetensors")
                              || (path.hasSuffix("model.safetensors") && path.contains("semantic_codec"))
                      }),
            Component(name: "campplus_cn_common.bin", kind: .checkpoint, source: "funasr/campplus, into hf_cache/",
                      matches: file("campplus_cn_common.bin")),
            Component(name: "bigvgan_generator.pt", kind: .checkpoint,
                      source: "nvidia/bigvgan_v2_22khz_80band_256x, into hf_cache/", matches: file("bigvgan_generator.pt")),
        ]
    }()

    /// Looks for every component (one walk of the folder) and opens each checkpoint's index.
    /// - Throws: when the folder itself does not exist.
    public func check(_ components: [Component] = ModelDirectory.indexTTS2) throws -> [(Component, Status)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw WeightsError.unreadable(path: root.path, reason: "model folder does not exist")
        }
        let files = relativeFiles()
        return components.map { component in
            guard let relative = files.first(where: component.matches) else { return (component, .missing) }
            let path = root.appendingPathComponent(relative).path
            switch component.kind {
            case .checkpoint:
                do {
                    let store = try WeightStore.open(path: path)
                    let parameters = store.entries.reduce(0) { $0 + $1.elementCount }
                    return (component, .present(path: path, summary: "\(store.format.rawValue), \(store.entries.count) tensors, \(parameters) parameters"))
                } catch {
                    return (component, .unreadable(path: path, reason: "\(error)"))
                }
            case .config, .tokenizer, .folder:
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                return size > 0 ? (component, .present(path: path, summary: "\(size) bytes"))
                    : (component, .unreadable(path: path, reason: "empty file"))
            }
        }
    }

    /// Every regular file (or symlink, as in Hugging Face caches) under the root, relative and sorted.
    private func relativeFiles() -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var result: [String] = []
        while let item = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root.appendingPathComponent(item).path, isDirectory: &isDirectory),
               !isDirectory.boolValue {
                result.append(item)
            }
        }
        return result.sorted()
    }
}
