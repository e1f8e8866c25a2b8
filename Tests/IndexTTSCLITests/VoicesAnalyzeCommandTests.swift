import Foundation
import IndexTTS
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// `indextts voices analyze` and `indextts models check` on the tiny upstream-recorded IndexTTS2 folder
/// (Tests/Fixtures/e2e).
struct VoicesAnalyzeCommandTests {
    let cli = CLITests()

    @Test func analyzeWritesTheConditioningUnderUpstreamNames() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("voices/ref.safetensors").path
        let result = try cli.run(["voices", "analyze", Fixtures.path("e2e/ref.wav"), "--model-dir", Fixtures.path("e2e/model"),
                                  "-o", output, "--verbose"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("spk_cond_emb [1, 99, 16]") && result.stdout.contains("speaker.w2v_bert"))
        let conditioning = try VoiceConditioning.read(path: output)
        #expect(conditioning.engine == "indextts2")
        #expect(conditioning.model == (try IndexTTS2ModelFolder.resolve(root: Fixtures.path("e2e/model")).fingerprint))
        #expect(Set(conditioning.tensors.keys) == Set(IndexTTS2SpeakerConditioning.tensorNames))
        #expect(conditioning.metadata["clip"] == "ref.wav" && conditioning.metadata["sample_rate"] == "22050")
        // The values upstream recorded for this clip (the parity tests' bounds).
        let stages = try WeightStore.open(path: Fixtures.path("e2e/default/stages.safetensors"))
        for (name, bound) in [("spk_cond_emb", 2e-4), ("S_ref", 1e-4), ("ref_mel", 1e-4), ("style", 1e-4),
                              ("prompt_condition", 1e-4), ("emo_cond_emb", 1e-4)] as [(String, Float)] {
            let actual = try conditioning.tensor(name), expected = try stages.tensor(name)
            try #require(actual.shape == expected.shape, "\(name)")
            let scale = expected.scalars.map(abs).max() ?? 1
            let diff = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(diff / scale <= bound, "\(name): \(diff / scale)")
        }
    }

    @Test func analyzeReportsBadInput() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let notAudio = directory.appendingPathComponent("clip.wav")
        try Data("not audio".utf8).write(to: notAudio)
        let output = directory.appendingPathComponent("out.safetensors").path
        let bad = try cli.run(["voices", "analyze", notAudio.path, "--model-dir", Fixtures.path("e2e/model"), "-o", output])
        #expect(bad.status != 0 && bad.stderr.contains("clip.wav"))
        let noModel = try cli.run(["voices", "analyze", Fixtures.path("e2e/ref.wav"), "--model-dir", directory.path, "-o", output])
        #expect(noModel.status != 0 && noModel.stderr.contains("config.yaml"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// An IndexTTS-2.5 folder: `models check` says which generation and lists its own files; `synth --lang` speaks
    /// with it and reports the language it used.
    @Test func anIndexTTS25FolderIsCheckedAndSpeaks() throws {
        let check = try cli.run(["models", "check", Fixtures.path("e2e25/model")])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("model: IndexTTS-2.5 (config.yaml version 2.5)"))
        #expect(check.stdout.contains("ok       multilingual_zh_ja_yue_char_del.tiktoken") && check.stdout.contains("ok       codec.pth"))
        #expect(!check.stdout.contains("bpe.model") && !check.stdout.contains("MaskGCT"))
        let json = try cli.run(["models", "check", "--json", Fixtures.path("e2e25/model")])
        struct Report: Decodable { let version: String; let usable: Bool }
        let report = try JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8))
        #expect(report.version == "2.5" && report.usable)

        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out.wav").path
        let synth = try cli.run(["synth", "--engine", "indextts2", "--model-dir", Fixtures.path("e2e25/model"), "--cache", Fixtures.cache(""),
                                 "--ref-audio", Fixtures.path("e2e25/ref.wav"), "--lang", "en", "--top-k", "1", "--num-beams", "1",
                                 "--text", "The weather is nice today, let's go to the park and walk for a while.",
                                 "--max-mel-tokens", "12", "--diffusion-steps", "2", "-o", out, "--verbose"])
        #expect(synth.status == 0, "\(synth.stdout)\(synth.stderr)")
        #expect(synth.stderr.contains("engine: IndexTTS-2.5 from"), "\(synth.stderr)")
        #expect((synth.stdout + synth.stderr).contains("lang=en"), "\(synth.stdout)\(synth.stderr)")
        #expect(FileManager.default.fileExists(atPath: out))
        let bad = try cli.run(["synth", "--engine", "indextts2", "--model-dir", Fixtures.path("e2e25/model"), "--cache", Fixtures.cache(""),
                               "--ref-audio", Fixtures.path("e2e25/ref.wav"), "--text", "Hello.", "--lang", "en_US", "-o", out])
        #expect(bad.status != 0 && bad.stderr.contains("lang"), "\(bad.stderr)")
    }

    @Test func modelsCheckNamesEveryMissingOrBrokenFile() throws {
        let copy = try Fixtures.temporaryDirectory().appendingPathComponent("checkpoints")
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Fixtures.path("e2e/model")), to: copy)
        let intact = try cli.run(["models", "check", copy.path])
        #expect(intact.status == 0, "\(intact.stdout)\(intact.stderr)")
        for name in ["config.yaml", "gpt.pth", "s2mel.pth", "bpe.model", "wav2vec2bert_stats.pt", "feat1.pt", "feat2.pt",
                     "w2v-bert-2.0 config.json", "w2v-bert-2.0 model.safetensors", "MaskGCT semantic_codec model.safetensors",
                     "campplus_cn_common.bin", "bigvgan config.json", "bigvgan_generator.pt"] {
            #expect(intact.stdout.contains("ok       \(name)"), "\(name) not listed as ok")
        }
        #expect(intact.stdout.contains("missing  qwen0.6bemo4-merge model.safetensors (optional)"))
        #expect(intact.stdout.contains("fingerprint: sha256:"))

        try FileManager.default.removeItem(at: copy.appendingPathComponent("feat2.pt"))
        try Data("garbage".utf8).write(to: copy.appendingPathComponent("hf_cache/bigvgan/bigvgan_generator.pt"))
        let broken = try cli.run(["models", "check", copy.path])
        #expect(broken.status != 0)
        #expect(broken.stdout.contains("missing  feat2.pt (emo_matrix): \(copy.path)/feat2.pt; get it from IndexTeam/IndexTTS-2"))
        #expect(broken.stdout.contains("BROKEN   bigvgan_generator.pt"))
        #expect(broken.stdout.contains("nvidia/bigvgan_v2_22khz_80band_256x"))
        #expect(broken.stderr.contains("2 of 13 required IndexTTS2 files missing or broken"))

        let json = try cli.run(["models", "check", "--json", copy.path])
        struct Report: Decodable {
            struct File: Decodable { let name: String; let status: String; let required: Bool }
            let usable: Bool
            let files: [File]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8))
        #expect(!report.usable)
        #expect(report.files.filter { $0.status != "ok" && $0.required }.map(\.name).sorted() == ["bigvgan_generator.pt", "feat2.pt (emo_matrix)"])
    }
}
