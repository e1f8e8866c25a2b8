import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSAudio

extension VoicesCommand {
    /// `indextts voices analyze CLIP --model-dir DIR -o FILE.safetensors`: IndexTTS2's conditioning of a voice clip,
    /// computed once and stored, so that synthesis with it never runs w2v-BERT again.
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Analyse a voice clip into IndexTTS2's conditioning and write it as safetensors.",
            discussion: """
                The clip is loaded and cut to 15 s as upstream's _load_and_cut_audio does. The file holds the tensors \
                under upstream's names — spk_cond_emb, S_ref, S_ref_codes, ref_mel, style, prompt_condition, \
                emo_cond_emb — with the engine id and the model fingerprint in its metadata: conditioning made with \
                other weights is not used.
                """)

        @Argument(help: "Voice clip (wav, flac, mp3, ogg, opus, aac).") var clip: String
        @Option(help: "IndexTTS2 model folder (the reference's checkpoints/, with hf_cache/ inside).") var modelDir = "checkpoints"
        @Option(name: [.short, .long], help: "Output file (.safetensors).") var output: String
        @Flag(help: "Print per-stage times.") var verbose = false

        func run() throws {
            let decoded = try AudioDecoder.decode(path: clip, requireSound: true)
            let loadStart = Date()
            // The analysis needs no text front end: no normalisation grammars.
            let engine = IndexTTS2Engine(pipeline: try IndexTTS2Pipeline.load(modelDirectory: modelDir))
            let loadSeconds = Date().timeIntervalSince(loadStart)
            let start = Date()
            let analysis = try engine.speakerConditioning(samples: decoded.samples, sampleRate: decoded.sampleRate)
            let seconds = Date().timeIntervalSince(start)
            var conditioning = analysis.conditioning.voiceConditioning(model: engine.modelFingerprint)
            conditioning.metadata["clip"] = (clip as NSString).lastPathComponent
            let directory = (output as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try conditioning.write(to: output)
            print(String(format: "wrote %@: %.2f s of %@ analysed for model %@", output, analysis.conditioning.clipSeconds, clip,
                         engine.modelFingerprint))
            for name in IndexTTS2SpeakerConditioning.tensorNames {
                if let tensor = conditioning.tensors[name] { print("  \(name) \(tensor.shape)") }
            }
            if verbose {
                print(String(format: "model load: %.3f s, analysis: %.3f s", loadSeconds, seconds))
                for t in analysis.timings { print(String(format: "  %@: %.3f s", t.stage, t.seconds)) }
            }
        }
    }
}
