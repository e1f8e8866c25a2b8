import Foundation

/// Finds the IndexTTS2 model folder (`checkpoints/`) and the model cache (`cache_hub/`) wherever the binary is run
/// from. Each is looked up in this order, the first hit winning:
///
/// 1. the command-line option (`--model-dir`, `--cache`), taken as given;
/// 2. the environment (`INDEXTTS_MODEL_DIR`, `INDEXTTS_CACHE`), taken as given;
/// 3. the working directory (`./checkpoints`, `./cache_hub`), when that folder exists;
/// 4. the folders the set-up scripts recorded (``recordedPathsFile``: `scripts/fetch-default-voice.sh` records the
///    cache, `start_app.sh` the cache and the model folder), when that folder exists;
/// 5. `$XDG_CACHE_HOME/indextts/checkpoints` and `$XDG_CACHE_HOME/indextts/cache_hub` (default `~/.cache/indextts`),
///    when that folder exists.
///
/// When nothing exists the working-directory path is returned (``Located/origin`` `.notFound`), so that messages
/// name the conventional place; ``Located/searched`` lists every place looked at.
public struct ResourceLocator: Sendable {
    public var environment: [String: String]
    public var workingDirectory: String
    public var homeDirectory: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: String = FileManager.default.currentDirectoryPath,
                homeDirectory: String = NSHomeDirectory()) {
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.homeDirectory = homeDirectory
    }

    /// Where a folder was found.
    public enum Origin: String, Sendable, Codable, Equatable {
        case option, environment
        case workingDirectory = "working_directory"
        case recorded
        case userCache = "user_cache"
        case notFound = "not_found"

        /// For messages: "--model-dir", "$INDEXTTS_MODEL_DIR", "the working directory", ….
        public func describe(option: String, variable: String) -> String {
            switch self {
            case .option: return option
            case .environment: return "$" + variable
            case .workingDirectory: return "the working directory"
            case .recorded: return "the set-up scripts' record"
            case .userCache: return "the user cache"
            case .notFound: return "not found"
            }
        }
    }

    /// A located folder: its absolute path, how it was found, and every place looked at (in order).
    public struct Located: Sendable, Equatable {
        public var path: String
        public var origin: Origin
        public var searched: [String]

        public init(path: String, origin: Origin, searched: [String]) {
            self.path = path
            self.origin = origin
            self.searched = searched
        }

        public var exists: Bool {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    /// The paths the set-up scripts recorded (JSON keys `model_dir` and `cache`, absolute paths).
    public struct RecordedPaths: Codable, Sendable, Equatable {
        public var modelDirectory: String?
        public var cache: String?

        public init(modelDirectory: String? = nil, cache: String? = nil) {
            self.modelDirectory = modelDirectory
            self.cache = cache
        }

        enum CodingKeys: String, CodingKey {
            case modelDirectory = "model_dir"
            case cache
        }
    }

    public static let modelDirectoryVariable = "INDEXTTS_MODEL_DIR"
    public static let cacheVariable = "INDEXTTS_CACHE"

    /// `${XDG_CONFIG_HOME:-~/.config}/indextts/paths.json`.
    public var recordedPathsFile: String {
        let config = nonEmpty(environment["XDG_CONFIG_HOME"]) ?? (homeDirectory as NSString).appendingPathComponent(".config")
        return ((config as NSString).appendingPathComponent("indextts") as NSString).appendingPathComponent("paths.json")
    }

    /// `${XDG_CACHE_HOME:-~/.cache}/indextts`.
    public var userCacheDirectory: String {
        let cache = nonEmpty(environment["XDG_CACHE_HOME"]) ?? (homeDirectory as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("indextts")
    }

    /// The recorded paths, or nil when the file is absent or unreadable (a broken record is ignored: the lookup
    /// goes on to the user cache).
    public func recordedPaths() -> RecordedPaths? {
        guard let data = FileManager.default.contents(atPath: recordedPathsFile) else { return nil }
        return try? JSONDecoder().decode(RecordedPaths.self, from: data)
    }

    /// The IndexTTS2 model folder.
    public func modelDirectory(option: String?) -> Located {
        locate(option: option, variable: Self.modelDirectoryVariable, folderName: "checkpoints",
               recorded: recordedPaths()?.modelDirectory)
    }

    /// The model cache (`cache_hub/`).
    public func cache(option: String?) -> Located {
        locate(option: option, variable: Self.cacheVariable, folderName: "cache_hub", recorded: recordedPaths()?.cache)
    }

    func locate(option: String?, variable: String, folderName: String, recorded: String?) -> Located {
        if let option = nonEmpty(option) { return Located(path: absolute(option), origin: .option, searched: [absolute(option)]) }
        if let value = nonEmpty(environment[variable]) {
            return Located(path: absolute(value), origin: .environment, searched: [absolute(value)])
        }
        var candidates: [(String, Origin)] = [(absolute(folderName), .workingDirectory)]
        if let recorded = nonEmpty(recorded) { candidates.append((absolute(recorded), .recorded)) }
        candidates.append(((userCacheDirectory as NSString).appendingPathComponent(folderName), .userCache))
        let searched = candidates.map(\.0)
        for (path, origin) in candidates {
            let found = Located(path: path, origin: origin, searched: searched)
            if found.exists { return found }
        }
        return Located(path: candidates[0].0, origin: .notFound, searched: searched)
    }

    /// `path` made absolute against ``workingDirectory`` and standardised (`~` expanded).
    public func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let full = expanded.hasPrefix("/") ? expanded : (workingDirectory as NSString).appendingPathComponent(expanded)
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }

    func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}
