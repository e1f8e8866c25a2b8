import ArgumentParser
import Foundation
import IndexTTSModels

/// `indextts emotion "TEXT"`: IndexTTS2's emotion-from-text model (`qwen0.6bemo4-merge`) turns a description into
/// the eight-value emotion vector, as upstream's `QwenEmotion.inference` does.
struct EmotionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emotion",
        abstract: "Emotion vector of a text description (IndexTTS2's QwenEmotion, qwen0.6bemo4-merge).",
        discussion: """
            Prints happy, angry, sad, afraid, disgusted, melancholic, surprised and calm, each in [0, 1.2], in IndexTTS2's \
            emotion-vector order. The model folder is <model-dir>/qwen0.6bemo4-merge (or --model-dir itself when it is that \
            folder). Decoding follows the folder's generation_config.json (Qwen3 samples: temperature 0.6, top-k 20, \
            top-p 0.95) with a seed; --greedy decodes greedily. Weights load from model.safetensors or, split into shards, \
            model.safetensors.index.json. The prompt is Qwen3's chat template (no Jinja engine): a folder whose \
            chat_template.jinja or tokenizer_config.json chat_template differs from Qwen3-0.6B's gets a warning.
            """)

    @Argument(help: "The emotion description, e.g. \"她小声说，非常害怕\" or \"she whispers, terrified\".") var text: String
    @Option(help: "IndexTTS2 checkpoint directory (holding qwen0.6bemo4-merge/) or the model folder itself.")
    var modelDir = "checkpoints"
    @Option(help: "Length cap of the model's answer in tokens (upstream: 32768).") var maxNewTokens = 64
    @Option(help: "Seed of the sampling draws.") var seed: UInt64 = 0
    @Flag(help: "Greedy decoding instead of the folder's sampling settings.") var greedy = false
    @Flag(help: "Keep fp16/bf16 weights as fp32 (twice the memory; for comparisons).") var float32 = false
    @Flag(help: "Print JSON (vector, named scores, the model's answer, token counts, timings).") var json = false

    struct Output: Encodable {
        let text: String
        let vector: [Double]
        let emotions: [String: Double]
        let answer: String
        let promptTokens: Int
        let generatedTokens: Int
        let stoppedAtEOS: Bool
        let loadSeconds: Double
        let prefillSeconds: Double
        let decodeSeconds: Double
        let totalSeconds: Double
        let warnings: [String]
    }

    func validate() throws {
        guard maxNewTokens >= 1 && maxNewTokens <= 32_768 else { throw ValidationError("--max-new-tokens must be in 1...32768") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let model = try QwenEmotion.load(folder: modelDir, precision: float32 ? .float32 : .stored)
        let loaded = clock.now - start
        if let warning = model.chatTemplate.warning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let result = try model.analyze(text, options: QwenEmotionOptions(maxNewTokens: maxNewTokens, doSample: greedy ? false : nil,
                                                                         seed: seed))
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        if json {
            let output = Output(text: text, vector: result.vector,
                                emotions: Dictionary(uniqueKeysWithValues: zip(QwenEmotionParsing.englishNames, result.vector)),
                                answer: result.answer, promptTokens: result.promptTokenCount,
                                generatedTokens: result.generatedTokens.count, stoppedAtEOS: result.stoppedAtEOS,
                                loadSeconds: seconds(loaded), prefillSeconds: result.prefillSeconds,
                                decodeSeconds: result.decodeSeconds, totalSeconds: result.totalSeconds, warnings: result.warnings)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        for (name, score) in zip(QwenEmotionParsing.englishNames, result.vector) {
            print("\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%.3f", score))")
        }
        print("vector: [" + result.vector.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "]")
        let cap = result.stoppedAtEOS ? "" : " (length cap reached)"
        let timing = String(format: "load %.2f s, prefill %.2f s, decode %.2f s", seconds(loaded), result.prefillSeconds,
                            result.decodeSeconds)
        FileHandle.standardError.write(Data(
            "\(result.promptTokenCount) prompt + \(result.generatedTokens.count) generated tokens\(cap); \(timing)\n".utf8))
    }
}

extension BenchCommand {
    /// `indextts bench emotion`: the emotion-text Qwen3 at full size with random weights.
    struct Emotion: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "emotion",
            abstract: "QwenEmotion's Qwen3-0.6B (random weights, fp16): ~40-token prompt, ~40 greedy tokens through the KV cache.",
            discussion: "tools/bench/torch_qwen_emotion.py runs transformers on the same shapes (tools/bench/compare_emotion.sh runs both).")
        @Option(help: "Prompt tokens.") var promptTokens = 40
        @Option(help: "Generated tokens.") var newTokens = 40
        @Option(help: "Layers (28 in Qwen3-0.6B).") var layers = 28
        @Option(help: "Weight precision: f16 (as the checkpoint) or f32.") var precision = "f16"

        func validate() throws {
            guard promptTokens >= 1, newTokens >= 1 else { throw ValidationError("--prompt-tokens and --new-tokens must be at least 1") }
            guard ["f32", "f16"].contains(precision) else { throw ValidationError("--precision must be f32 or f16") }
        }

        func run() throws {
            AllocatorTuning.apply()
            printMachine()
            var c = Qwen3Configuration.qwen3_0_6B
            c.numHiddenLayers = layers
            let r = try QwenEmotionBenchmark.run(configuration: c, promptTokens: promptTokens, newTokens: newTokens,
                                                 halfPrecision: precision == "f16")
            print("Qwen3 (\(r.label)), \(String(format: "%.0f", Double(r.weightBytes) / 1e6)) MB of weights")
            print(String(format: "prefill %d tokens: %.1f ms", promptTokens, r.prefillSeconds * 1e3))
            print(String(format: "cached decode: %.1f ms/token, %.1f tokens/s, %.1f GB/s of weights",
                         r.decodeSecondsPerToken * 1e3, 1 / r.decodeSecondsPerToken, Double(r.weightBytes) / r.decodeSecondsPerToken / 1e9))
            print(String(format: "total (%d + %d tokens): %.2f s", promptTokens, newTokens, r.totalSeconds))
            print("peak resident memory: \(String(format: "%.0f", Double(peakResidentBytes()) / 1e6)) MB")
        }
    }
}
