import Foundation
import IndexTTS
import IndexTTSTestSupport
import Testing

/// The engine factory and the folder lookup every command uses: which engine speaks and why, the errors of explicit
/// choices, and the lookup order option → environment → working directory → recorded → user cache.
struct EngineFactoryTests {
    /// A sandbox: a working directory, a home, and XDG folders inside it; nothing of the real environment.
    struct Sandbox {
        let root: URL
        var cwd: URL { root.appendingPathComponent("cwd") }
        var home: URL { root.appendingPathComponent("home") }
        var config: URL { root.appendingPathComponent("config") }
        init() throws {
            root = try Fixtures.temporaryDirectory()
            for dir in [cwd, home, config] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        }
        func locator(_ environment: [String: String] = [:]) -> ResourceLocator {
            ResourceLocator(environment: ["XDG_CONFIG_HOME": config.path].merging(environment) { $1 }, workingDirectory: cwd.path,
                            homeDirectory: home.path)
        }
        func mkdir(_ url: URL) throws -> String {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url.standardizedFileURL.path
        }
        func record(_ object: [String: String]) throws {
            let dir = config.appendingPathComponent("indextts")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: object).write(to: dir.appendingPathComponent("paths.json"))
        }
    }

    @Test func foldersAreFoundInOrder() throws {
        let box = try Sandbox()
        // Nothing anywhere: the working-directory path, marked not found, with every place searched.
        var located = box.locator().cache(option: nil)
        #expect(located.origin == .notFound && located.path == box.cwd.appendingPathComponent("cache_hub").path)
        #expect(located.searched == [box.cwd.appendingPathComponent("cache_hub").path,
                                     box.home.appendingPathComponent(".cache/indextts/cache_hub").path])
        // The user cache (~/.cache/indextts, or $XDG_CACHE_HOME/indextts).
        let userCache = try box.mkdir(box.home.appendingPathComponent(".cache/indextts/cache_hub"))
        #expect(box.locator().cache(option: nil) == .init(path: userCache, origin: .userCache, searched: located.searched))
        let xdg = try box.mkdir(box.root.appendingPathComponent("xdg-cache/indextts/checkpoints"))
        located = box.locator(["XDG_CACHE_HOME": box.root.appendingPathComponent("xdg-cache").path]).modelDirectory(option: nil)
        #expect(located.path == xdg && located.origin == .userCache)
        // The set-up scripts' record beats the user cache; a record naming a missing folder, or a broken record, is
        // passed over.
        let recorded = try box.mkdir(box.root.appendingPathComponent("elsewhere/cache_hub"))
        try box.record(["cache": recorded, "model_dir": box.root.appendingPathComponent("gone").path])
        #expect(box.locator().cache(option: nil).path == recorded && box.locator().cache(option: nil).origin == .recorded)
        #expect(box.locator().modelDirectory(option: nil).origin == .notFound)
        try Data("{not json".utf8).write(to: box.config.appendingPathComponent("indextts/paths.json"))
        #expect(box.locator().cache(option: nil).path == userCache)
        try box.record(["cache": recorded])
        // The working directory beats the record.
        let local = try box.mkdir(box.cwd.appendingPathComponent("cache_hub"))
        #expect(box.locator().cache(option: nil) == .init(path: local, origin: .workingDirectory, searched: [local, recorded, userCache]))
        // The environment beats the working directory and the option beats everything, even when absent (the user's
        // word is taken; the error then names it); relative paths are made absolute against the working directory.
        #expect(box.locator(["INDEXTTS_CACHE": "/nowhere/cache"]).cache(option: nil) == .init(path: "/nowhere/cache", origin: .environment, searched: ["/nowhere/cache"]))
        #expect(box.locator(["INDEXTTS_CACHE": "/nowhere/cache"]).cache(option: "mine").path == box.cwd.appendingPathComponent("mine").path)
        #expect(box.locator(["INDEXTTS_MODEL_DIR": "/m"]).modelDirectory(option: nil).origin == .environment)
        // The model cache follows the locator.
        let cache = ModelCache(locator: box.locator())
        #expect(cache.root.path == local && cache.origin == .workingDirectory)
    }

    static let model = Fixtures.path("e2e/model")
    static let realCache = ModelCache(root: Fixtures.cache(""))
    static func located(_ path: String, origin: ResourceLocator.Origin = .option) -> ResourceLocator.Located {
        .init(path: path, origin: origin, searched: [path])
    }

    @Test func autoChoosesIndexTTS2OnlyForACompleteFolder() throws {
        guard case .indexTTS2(let folder, let reason) = try EngineFactory.decide(choice: .auto, modelDirectory: Self.located(Self.model), cache: Self.realCache) else {
            Issue.record("a complete folder did not choose IndexTTS2"); return
        }
        #expect(folder.root == URL(fileURLWithPath: Self.model).standardizedFileURL.path && reason == "IndexTTS2 from \(Self.model)")
        let viaEnvironment = try EngineFactory.decide(choice: .auto, modelDirectory: Self.located(Self.model, origin: .environment), cache: Self.realCache)
        guard case .indexTTS2(_, let why) = viaEnvironment else { Issue.record("not IndexTTS2"); return }
        #expect(why.contains("found via $INDEXTTS_MODEL_DIR"))

        // Absent: the default voice, saying so.
        guard case .defaultVoice(let absent) = try EngineFactory.decide(choice: .auto, modelDirectory: Self.located("/nowhere/checkpoints"), cache: Self.realCache) else {
            Issue.record("an absent folder did not fall back"); return
        }
        #expect(absent == "default voice: /nowhere/checkpoints is absent")
        // Incomplete (only config.yaml): the default voice, naming the missing files.
        let box = try Sandbox()
        let partial = try box.mkdir(box.root.appendingPathComponent("checkpoints"))
        try FileManager.default.copyItem(atPath: Self.model + "/config.yaml", toPath: partial + "/config.yaml")
        guard case .defaultVoice(let incomplete) = try EngineFactory.decide(choice: .auto, modelDirectory: Self.located(partial), cache: Self.realCache) else {
            Issue.record("an incomplete folder did not fall back"); return
        }
        #expect(incomplete.hasPrefix("default voice: \(partial) is incomplete: ") && incomplete.contains("gpt.pth")
                && incomplete.contains("s2mel.pth") && incomplete.contains("bpe.model"), "\(incomplete)")
        // Nothing found anywhere: the places searched.
        let nowhere = ResourceLocator.Located(path: "/a/checkpoints", origin: .notFound, searched: ["/a/checkpoints", "/b/checkpoints"])
        guard case .defaultVoice(let none) = try EngineFactory.decide(choice: .auto, modelDirectory: nowhere, cache: Self.realCache) else {
            Issue.record("no folder did not fall back"); return
        }
        #expect(none == "default voice: no IndexTTS2 model folder (looked in /a/checkpoints, /b/checkpoints)")

        // Neither engine: one error saying what each lacks.
        let empty = ModelCache(root: box.root.appendingPathComponent("no-cache").path)
        #expect(throws: SynthesisError.self) { try EngineFactory.decide(choice: .auto, modelDirectory: Self.located(partial), cache: empty) }
        do { _ = try EngineFactory.decide(choice: .auto, modelDirectory: Self.located(partial), cache: empty) } catch SynthesisError.modelsMissing(let message) {
            #expect(message.contains("is incomplete") && message.contains("fetch-default-voice.sh"), "\(message)")
        }
    }

    @Test func explicitChoicesFailWithEveryProblem() throws {
        let box = try Sandbox()
        let partial = try box.mkdir(box.root.appendingPathComponent("checkpoints"))
        try FileManager.default.copyItem(atPath: Self.model + "/config.yaml", toPath: partial + "/config.yaml")
        do {
            _ = try EngineFactory.decide(choice: .indextts2, modelDirectory: Self.located(partial), cache: Self.realCache)
            Issue.record("--engine indextts2 accepted an incomplete folder")
        } catch let error as IndexTTS2LoadError {
            let names = Set(error.problems.map { ($0.path as NSString).lastPathComponent })
            #expect(names.isSuperset(of: ["gpt.pth", "s2mel.pth", "bpe.model", "feat1.pt", "feat2.pt", "wav2vec2bert_stats.pt"]), "\(names)")
        }
        do {
            _ = try EngineFactory.decide(choice: .indextts2, modelDirectory: Self.located("/nowhere/checkpoints"), cache: Self.realCache)
            Issue.record("--engine indextts2 accepted an absent folder")
        } catch let error as IndexTTS2LoadError {
            #expect(error.problems.count == 1 && error.description.contains("/nowhere/checkpoints is absent"))
        }
        let empty = ModelCache(root: box.root.appendingPathComponent("no-cache").path)
        do {
            _ = try EngineFactory.decide(choice: .default, modelDirectory: Self.located(Self.model), cache: empty)
            Issue.record("--engine default accepted a cache without the default voice")
        } catch SynthesisError.modelsMissing(let message) {
            #expect(message.contains("no-cache"))
        }
        // --engine default speaks with the default voice even when IndexTTS2's folder is complete.
        guard case .defaultVoice(let reason) = try EngineFactory.decide(choice: .default, modelDirectory: Self.located(Self.model), cache: Self.realCache) else {
            Issue.record("--engine default chose IndexTTS2"); return
        }
        #expect(reason.contains("--engine default"))
    }

    /// A real load of the tiny official-layout folder, found through the environment as a user would set it.
    @Test func loadsIndexTTS2FromTheLocatedFolder() throws {
        let box = try Sandbox()
        let loaded = try EngineFactory.load(choice: .auto, cache: Fixtures.cache(""),
                                            locator: box.locator(["INDEXTTS_MODEL_DIR": Self.model]))
        #expect(loaded.engine.info.id == "indextts2" && loaded.engine is IndexTTS2Engine)
        #expect(loaded.selection == EngineSelection(choice: .auto, engine: "indextts2",
                                                    reason: "IndexTTS2 from \(Self.model) (found via $INDEXTTS_MODEL_DIR)",
                                                    modelDirectory: Self.model, modelDirectoryOrigin: .environment,
                                                    cache: URL(fileURLWithPath: Fixtures.cache("")).standardizedFileURL.path))
    }
}
