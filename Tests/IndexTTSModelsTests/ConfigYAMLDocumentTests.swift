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
            base: &base {bpe_model: bpe.model}
            dataset: {<<: *base, sample_rate: 24000}
            """, source: "c.yaml")
        let values = try #require(document.values)
        #expect(values["gpt_checkpoint"] as? String == "gpt.pth")
        #expect(values["spk_matrix"] as? String == "feat1.pt")
        #expect(values["s2mel_checkpoint"] as? String == nil)  // an integer
        #expect(values["w2v_stat"] as? String == nil)          // null
        #expect(values["emo_num"] as? [Int] == [3, 17, 2])
        #expect(values["bad_num"] as? [Int] == nil)
        // Merge keys applied, as Yams.load applies them.
        #expect((values["dataset"] as? [String: Any])?["bpe_model"] as? String == "bpe.model")
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
