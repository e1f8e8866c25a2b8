import Foundation
import IndexTTS
import IndexTTSTestSupport
import Testing

struct ModelDirectoryTests {
    @Test func reportsPresentBrokenAndMissingFiles() throws {
        let root = try Fixtures.temporaryDirectory()
        let fm = FileManager.default
        try "gpt: {model_dim: 1280}\n".write(to: root.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        try fm.copyItem(atPath: Fixtures.path("readers/state_dict.pth"), toPath: root.appendingPathComponent("gpt.pth").path)
        try Data("not a checkpoint at all".utf8).write(to: root.appendingPathComponent("s2mel.pth"))
        let snapshot = root.appendingPathComponent("hf_cache/models--nvidia--bigvgan/snapshots/abc")
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Fixtures.path("readers/generator.pt"),
                        toPath: snapshot.appendingPathComponent("bigvgan_generator.pt").path)

        let results = try ModelDirectory(root: root).check()
        var statuses: [String: ModelDirectory.Status] = [:]
        for (component, status) in results { statuses[component.name] = status }

        guard case .present(_, let gpt)? = statuses["gpt.pth"] else { Issue.record("gpt.pth not present"); return }
        #expect(gpt.contains("pytorch, 26 tensors"))
        guard case .present(let bigvganPath, _)? = statuses["bigvgan_generator.pt"] else {
            Issue.record("bigvgan_generator.pt not found in hf_cache")
            return
        }
        #expect(bigvganPath.hasSuffix("snapshots/abc/bigvgan_generator.pt"))
        guard case .unreadable(_, let reason)? = statuses["s2mel.pth"] else { Issue.record("s2mel.pth should be broken"); return }
        #expect(reason.contains("not a safetensors"))
        guard case .present? = statuses["config.yaml"] else { Issue.record("config.yaml"); return }
        guard case .missing? = statuses["bpe.model"] else { Issue.record("bpe.model should be missing"); return }
        guard case .missing? = statuses["campplus_cn_common.bin"] else { Issue.record("campplus should be missing"); return }
    }

    @Test func missingFolderThrows() {
        #expect(throws: (any Error).self) { try ModelDirectory(root: URL(fileURLWithPath: "/nonexistent/checkpoints")).check() }
    }
}
