import Foundation
import IndexTTSTensor

/// Which engine a command should speak with.
public enum EngineChoice: String, Sendable, Codable, CaseIterable {
    /// IndexTTS2 when its model folder resolves completely, else the embedded default voice.
    case auto
    /// The embedded default voice (needs the model cache, `cache_hub/`).
    case `default`
    /// IndexTTS2 (needs a complete model folder); a broken folder is an error listing every problem.
    case indextts2
}

/// The engine a command speaks with and why, for logs, `/healthz` and the WebUI.
public struct EngineSelection: Sendable, Codable, Equatable {
    /// What was asked for.
    public var choice: EngineChoice
    /// The engine's ``EngineInfo/id``.
    public var engine: String
    /// A sentence saying which engine speaks and why ("IndexTTS2 from /x/checkpoints", "default voice:
    /// /x/checkpoints is absent", …).
    public var reason: String
    /// The model folder looked at (absolute) and how it was found.
    public var modelDirectory: String
    public var modelDirectoryOrigin: ResourceLocator.Origin
    /// The model cache used (absolute).
    public var cache: String

    public init(choice: EngineChoice, engine: String, reason: String, modelDirectory: String,
                modelDirectoryOrigin: ResourceLocator.Origin, cache: String) {
        self.choice = choice
        self.engine = engine
        self.reason = reason
        self.modelDirectory = modelDirectory
        self.modelDirectoryOrigin = modelDirectoryOrigin
        self.cache = cache
    }

    enum CodingKeys: String, CodingKey {
        case choice, engine, reason, cache
        case modelDirectory = "model_dir"
        case modelDirectoryOrigin = "model_dir_origin"
    }
}

/// A loaded engine and the statement of why it was chosen.
public struct LoadedEngine: Sendable {
    public let engine: any SpeechEngine
    public let selection: EngineSelection
    /// Wall time of the load.
    public let loadSeconds: Double
}

/// The one place that picks and loads the engine for every command (`synth`, `batch`, `serve`, `voices`).
public enum EngineFactory {
    /// What ``decide(choice:modelDirectory:cache:)`` found, before anything heavy loads.
    public enum Decision: Sendable {
        case indexTTS2(folder: IndexTTS2ModelFolder, reason: String)
        case defaultVoice(reason: String)
    }

    /// Picks the engine without loading it.
    /// - Throws: for `.indextts2`, the ``IndexTTS2LoadError`` listing every problem of the folder (or saying it is
    ///   absent); for `.default`, ``SynthesisError/modelsMissing(_:)`` when the cache lacks the default voice.
    public static func decide(choice: EngineChoice, modelDirectory: ResourceLocator.Located, cache: ModelCache) throws -> Decision {
        let path = modelDirectory.path
        switch choice {
        case .default:
            if let missing = cache.missingDefaultVoiceFiles() { throw SynthesisError.modelsMissing(missing) }
            return .defaultVoice(reason: "default voice: chosen with --engine default")
        case .indextts2:
            let folder = try resolve(modelDirectory)
            return .indexTTS2(folder: folder, reason: "\(EngineSelection.modelName(folder)) from \(path) (chosen with --engine indextts2\(foundVia(modelDirectory)))")
        case .auto:
            let why: String
            do {
                let folder = try resolve(modelDirectory)
                let via = foundVia(modelDirectory)
                return .indexTTS2(folder: folder, reason: "\(EngineSelection.modelName(folder)) from \(path)" + (via.isEmpty ? "" : " (" + via.dropFirst(2) + ")"))
            } catch let error as IndexTTS2LoadError {
                why = modelDirectory.exists ? "\(path) is incomplete: " + summary(error) : absence(modelDirectory)
            }
            if let missing = cache.missingDefaultVoiceFiles() {
                throw SynthesisError.modelsMissing("no engine can speak. IndexTTS2: \(why). Default voice: \(missing)")
            }
            return .defaultVoice(reason: "default voice: " + why)
        }
    }

    /// Picks and loads the engine. The model folder and cache are located with `locator` unless given.
    /// `precision` is the IndexTTS2 S2M estimator's arithmetic (``ComputePrecision``); the default voice is fp32.
    public static func load(choice: EngineChoice = .auto, modelDirectory: String? = nil, cache: String? = nil,
                            locator: ResourceLocator = ResourceLocator(),
                            precision: ComputePrecision = .float32) throws -> LoadedEngine {
        let located = locator.modelDirectory(option: modelDirectory)
        let modelCache = ModelCache(root: cache, locator: locator)
        let decision = try decide(choice: choice, modelDirectory: located, cache: modelCache)
        let start = Date()
        let engine: any SpeechEngine
        let reason: String
        switch decision {
        case .indexTTS2(let folder, let why):
            engine = try IndexTTS2Engine.load(folder: folder, cache: modelCache, precision: precision)
            reason = precision == .float32 ? why : why + " (S2M in \(precision.rawValue))"

        case .defaultVoice(let why):
            engine = try DefaultVoiceEngine.load(cache: modelCache)
            reason = why
        }
        let selection = EngineSelection(choice: choice, engine: engine.info.id, reason: reason, modelDirectory: located.path,
                                        modelDirectoryOrigin: located.origin, cache: modelCache.root.path)
        return LoadedEngine(engine: engine, selection: selection, loadSeconds: Date().timeIntervalSince(start))
    }

    static func resolve(_ located: ResourceLocator.Located) throws -> IndexTTS2ModelFolder {
        guard located.exists else {
            throw IndexTTS2LoadError.unusableFolder(root: located.path, problems: [
                .init(path: located.path, reason: absence(located), source: IndexTTS2ModelFolder.mainSource),
            ])
        }
        return try IndexTTS2ModelFolder.resolve(root: located.path)
    }

    /// ", found via $INDEXTTS_MODEL_DIR" and the like; empty for an option (the user knows what they typed).
    static func foundVia(_ located: ResourceLocator.Located) -> String {
        switch located.origin {
        case .option, .notFound: return ""
        default: return ", found via " + located.origin.describe(option: "--model-dir", variable: ResourceLocator.modelDirectoryVariable)
        }
    }

    static func absence(_ located: ResourceLocator.Located) -> String {
        if located.origin == .notFound {
            return "no IndexTTS2 model folder (looked in \(located.searched.joined(separator: ", ")))"
        }
        return "\(located.path) is absent"
    }

    /// "gpt.pth missing, s2mel.pth unreadable: …" — file names and reasons, shortest first.
    static func summary(_ error: IndexTTS2LoadError) -> String {
        error.problems.map { (($0.path as NSString).lastPathComponent) + " " + $0.reason }.joined(separator: ", ")
    }
}

extension EngineSelection {
    /// The model a folder holds, as selection messages name it: IndexTTS2, or IndexTTS-2.5 (`version: 2.5`).
    static func modelName(_ folder: IndexTTS2ModelFolder) -> String {
        folder.generation == .indexTTS25 ? "IndexTTS-2.5" : "IndexTTS2"
    }
}
