import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSText

extension EngineChoice: ExpressibleByArgument {}
extension ReadingMode: ExpressibleByArgument {}

/// `--engine`, `--model-dir` and `--cache`: which engine speaks and where its files are, for every command that
/// synthesises (`synth`, `batch`, `serve`, `voices add`). One factory (``EngineFactory``) decides and loads.
struct EngineOptions: ParsableArguments {
    @Option(help: "Engine: auto (IndexTTS2 when the model folder is complete, else the default voice), default, or indextts2.")
    var engine: EngineChoice = .auto
    @Option(help: "IndexTTS2 model folder (checkpoints/ with config.yaml and hf_cache/); default: $INDEXTTS_MODEL_DIR, ./checkpoints, the folder start_app.sh recorded, ~/.cache/indextts/checkpoints.")
    var modelDir: String?
    @Option(help: "Model cache folder (cache_hub/); default: $INDEXTTS_CACHE, ./cache_hub, the folder the set-up scripts recorded, ~/.cache/indextts/cache_hub.")
    var cache: String?

    /// Picks and loads the engine.
    func load() throws -> LoadedEngine {
        try EngineFactory.load(choice: engine, modelDirectory: modelDir, cache: cache)
    }

    /// The model cache as located (without loading anything).
    var modelCache: ModelCache { ModelCache(root: cache) }
}
