import Foundation
import IndexTTS
import IndexTTSTestSupport
import Testing

/// `IndexTTS2ModelFolder.inspect`, the one check behind loading and `indextts models check`: every file of the
/// official folder, hf_cache included, with its state and where upstream gets it.
struct IndexTTS2ModelCheckTests {
    static let requiredNames = ["config.yaml", "gpt.pth", "s2mel.pth", "wav2vec2bert_stats.pt", "feat2.pt (emo_matrix)",
                                "feat1.pt (spk_matrix)", "bpe.model", "w2v-bert-2.0 config.json", "w2v-bert-2.0 model.safetensors",
                                "MaskGCT semantic_codec model.safetensors", "campplus_cn_common.bin", "bigvgan config.json",
                                "bigvgan_generator.pt"]

    static func copyOfTheFixture() throws -> URL {
        let copy = try Fixtures.temporaryDirectory().appendingPathComponent("checkpoints")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Fixtures.path("e2e/model")), to: copy)
        return copy
    }

    @Test func anIntactFolderListsEveryFile() throws {
        let copy = try Self.copyOfTheFixture()
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        let inspection = IndexTTS2ModelFolder.inspect(root: copy.path)
        #expect(inspection.problems.isEmpty, "\(inspection.problems)")
        #expect(inspection.files.filter(\.required).map(\.name) == Self.requiredNames)
        #expect(inspection.files.filter(\.required).allSatisfy { $0.isUsable && !$0.summary.isEmpty })
        #expect(inspection.files.first { $0.name == "gpt.pth" }?.summary.contains("tensors") == true)
        // QwenEmotion is listed (the fixture has none), optional.
        let qwen = inspection.files.filter { $0.name.hasPrefix("qwen0.6bemo4-merge") }
        #expect(qwen.count == 2 && qwen.allSatisfy { !$0.required && $0.problem == "missing" })
        #expect(qwen.allSatisfy { $0.path.contains("/qwen0.6bemo4-merge/") && $0.source.contains("IndexTeam/IndexTTS-2") })
        #expect(inspection.folder.fingerprint.hasPrefix("sha256:"))
    }

    @Test func missingAndBrokenFilesAreEachNamedWithTheirSource() throws {
        let copy = try Self.copyOfTheFixture()
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        let fm = FileManager.default
        try fm.removeItem(at: copy.appendingPathComponent("feat1.pt"))
        try Data("garbage".utf8).write(to: copy.appendingPathComponent("gpt.pth"))
        try fm.removeItem(at: copy.appendingPathComponent("hf_cache/w2v-bert-2.0/model.safetensors"))
        try Data().write(to: copy.appendingPathComponent("hf_cache/bigvgan/config.json"))
        try fm.removeItem(at: copy.appendingPathComponent("hf_cache/semantic_codec_model.safetensors"))
        try Data([0x50, 0x4b, 0x03, 0x04, 0, 0]).write(to: copy.appendingPathComponent("hf_cache/campplus_cn_common.bin"))
        let inspection = IndexTTS2ModelFolder.inspect(root: copy.path)
        let byName = Dictionary(uniqueKeysWithValues: inspection.files.map { ($0.name, $0) })
        #expect(byName["feat1.pt (spk_matrix)"]?.problem == "missing")
        #expect(byName["gpt.pth"]?.problem?.hasPrefix("unreadable checkpoint") == true)
        #expect(byName["w2v-bert-2.0 model.safetensors"]?.problem == "missing")
        #expect(byName["w2v-bert-2.0 model.safetensors"]?.source.contains("facebook/w2v-bert-2.0") == true)
        #expect(byName["bigvgan config.json"]?.problem == "empty file")
        #expect(byName["bigvgan config.json"]?.source.contains("nvidia/bigvgan_v2_22khz_80band_256x") == true)
        #expect(byName["MaskGCT semantic_codec model.safetensors"]?.problem == "missing")
        #expect(byName["MaskGCT semantic_codec model.safetensors"]?.source.contains("amphion/MaskGCT") == true)
        #expect(byName["campplus_cn_common.bin"]?.problem?.hasPrefix("unreadable checkpoint") == true)
        #expect(byName["campplus_cn_common.bin"]?.source.contains("funasr/campplus") == true)
        #expect(inspection.problems.count == 6)
        #expect(inspection.folder.fingerprint.isEmpty)
        // The loader reports the same problems.
        #expect { try IndexTTS2ModelFolder.resolve(root: copy.path) } throws: { error in
            (error as? IndexTTS2LoadError)?.problems == inspection.problems
        }
    }

    @Test func aMissingQwenFolderDoesNotStopLoading() throws {
        let copy = try Self.copyOfTheFixture()
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        let folder = try IndexTTS2ModelFolder.resolve(root: copy.path)
        #expect(folder.root == copy.standardizedFileURL.path)
    }
}
