import Testing
import IndexTTSModels

/// `config.yaml` composed once: top-level values resolved as YAML resolves them, sections decoded from the tree,
/// and every refusal a `ModelError` naming the file.
struct ConfigYAMLDocumentTests {
    @Test func topLevelValuesResolveAsYAMLDoes() throws {
        let document = try ConfigYAMLDocument(yaml: """
            gpt_checkpoint: gpt.pth
            s2mel_checkpoint: 123
            w2v_stat: null
            emo_matrix: [a, b]
            emo_num: [3, 17, 2]
            spk_matrix: "feat1.pt"
            bad_num: [3, x]
            dataset: {bpe_model: bpe.model}
            """, source: "c.yaml")
        #expect(document.string("gpt_checkpoint") == "gpt.pth")
        #expect(document.string("spk_matrix") == "feat1.pt")
        #expect(document.string("s2mel_checkpoint") == nil)  // an integer, as Yams.load resolves it
        #expect(document.string("w2v_stat") == nil)          // null
        #expect(document.string("emo_matrix") == nil)        // a list
        #expect(document.string("absent") == nil)
        #expect(document.values?["emo_num"] as? [Int] == [3, 17, 2])
        #expect(document.values?["bad_num"] as? [Int] == nil)
        #expect(document["dataset"] != nil)
    }

    @Test func sectionsDecodeFromTheComposedTree() throws {
        let document = try ConfigYAMLDocument(yaml: "gpt:\n  layers: 2\n  model_dim: 64\n  heads: 4\n", source: "c.yaml")
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "s2mel", reason: "missing section")) {
            _ = try document.section(S2MConfiguration.self)
        }
        let parsed = try document.section(UnifiedVoiceConfiguration.self)
        #expect(parsed == (try UnifiedVoiceConfiguration.parse(yaml: "gpt:\n  layers: 2\n  model_dim: 64\n  heads: 4\n")))
    }

    @Test func refusalsNameTheFile() {
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "-", reason: "not a mapping")) {
            _ = try ConfigYAMLDocument(yaml: "- a\n- b\n", source: "c.yaml")
        }
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "-", reason: "not a mapping")) {
            _ = try ConfigYAMLDocument(yaml: "", source: "c.yaml")
        }
        #expect(throws: ModelError.self) { _ = try ConfigYAMLDocument(yaml: "a: [b\n", source: "c.yaml") }
        #expect(throws: ModelError.self) { _ = try ConfigYAMLDocument(yaml: "? {a: 1}\n: b\n", source: "c.yaml") }
        do {
            _ = try ConfigYAMLDocument(contentsOf: "/nonexistent/config.yaml")
            Issue.record("a missing file was read")
        } catch let ModelError.invalidConfiguration(file, field, reason) {
            #expect(file == "/nonexistent/config.yaml" && field == "-" && reason.hasPrefix("cannot read"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
