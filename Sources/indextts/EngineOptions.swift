import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSTensor
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

    @Option(help: "IndexTTS2 S2M arithmetic: fp32 (matches upstream), bf16 (about twice as fast on CPUs with AVX512-BF16), or auto (bf16 where native). Default: $INDEXTTS_PRECISION, else fp32.")
    var precision: String?

    /// The precision asked for (option, then `INDEXTTS_PRECISION`, then fp32).
    func computePrecision() throws -> ComputePrecision {
        let choice = precision ?? ProcessInfo.processInfo.environment["INDEXTTS_PRECISION"] ?? "fp32"
        guard let value = ComputePrecision(choice: choice) else {
            throw ValidationError("--precision must be fp32, bf16 or auto; got '\(choice)'")
        }
        return value
    }

    /// Picks and loads the engine.
    func load() throws -> LoadedEngine {
        try EngineFactory.load(choice: engine, modelDirectory: modelDir, cache: cache, precision: computePrecision())
    }

    /// The model cache as located (without loading anything).
    var modelCache: ModelCache { ModelCache(root: cache) }
}
