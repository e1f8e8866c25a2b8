import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// IndexTTS2's front-end rules against upstream's `TextNormalizer` (tools/fixtures/generate_frontend.py runs it with
/// identity number normalisers; ours gets identity normalisers too, so the rules are compared exactly).
struct IndexTTSTextNormalizerTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let text: String
            let glossary: Bool
            let chinese: Bool
            let expected: String
        }
        let cases: [Case]
    }

    /// The fixture's glossary, as a user would write it in `glossary.yaml`.
    static let glossaryYAML = """
        M.2:
          en: M dot two
          zh: M 二
        PCIe 5.0:
          en: PCIE five
          zh: PCIE 五点零
        PCIe:
          en: PCIE
          zh: PCIE
        C++:
          en: C plus plus
          zh: C 加加
        TTS: T T S
        Inc.:
          en: Ink
        IndexTTS:
          zh: 因德克斯 TTS
        """

    @Test func rulesMatchUpstreamCaseByCase() throws {
        let fixture = try Fixtures.json("text/frontend_rules.json", as: Fixture.self)
        #expect(fixture.cases.count >= 60)
        let glossary = try Glossary.parse(yaml: Self.glossaryYAML)
        let plain = IndexTTSTextNormalizer(readings: .upstream, chinese: { $0 }, english: { $0 })
        let withGlossary = IndexTTSTextNormalizer(glossary: glossary, readings: .upstream, chinese: { $0 }, english: { $0 })
        for c in fixture.cases {
            #expect(IndexTTSTextNormalizer.isChinese(c.text) == c.chinese, "routing of \(c.text.debugDescription)")
            let ours = (c.glossary ? withGlossary : plain).normalize(c.text)
            #expect(ours == c.expected, "\(c.text.debugDescription)")
        }
    }

    struct WholePipeline: Decodable {
        struct Case: Decodable { let text: String; let glossary: Bool; let expected: String }
        let cases: [Case]
    }

    /// The whole upstream pipeline — rules plus WeTextProcessing as IndexTTS2 configures it — on the rule cases and
    /// cases with numbers, dates, money and units inside and around the protected spans (frontend_wetext.json), in
    /// upstream reading mode.
    @Test func wholePipelineMatchesUpstreamWithWeTextProcessing() throws {
        let fixture = try Fixtures.json("text/frontend_wetext.json", as: WholePipeline.self)
        #expect(fixture.cases.count >= 75)
        let directory = Fixtures.cache("wetextprocessing-1.2.0-grammars")
        let plain = try IndexTTSTextNormalizer.weText(directory: directory, readings: .upstream)
        let withGlossary = try IndexTTSTextNormalizer.weText(directory: directory, glossary: try Glossary.parse(yaml: Self.glossaryYAML),
                                                             readings: .upstream)
        for c in fixture.cases {
            #expect((c.glossary ? withGlossary : plain).normalize(c.text) == c.expected, "\(c.text.debugDescription)")
        }
    }

    @Test func numbersAreReadOutsideProtectedSpans() throws {
        let normalizer = try IndexTTSTextNormalizer.weText(directory: Fixtures.cache("wetextprocessing-1.2.0-grammars"), readings: .upstream)
        // WeTextProcessing reads digits, but not inside tech terms, pinyin or annotations (upstream keeps annotations
        // as written; corrected mode speaks their reading, ReadingLayerTests).
        let out = normalizer.normalize("GPT-5 有 3 个版本，<一|yi1>读作 yi1。")
        #expect(out.contains("GPT-五") || out.contains("GPT-5"))
        #expect(out.contains("三") && out.contains("<一|yi1>") && out.contains("yi1") && !out.contains("yi一"))
        #expect(normalizer.normalize("The meeting is at 8:00 a.m. on 2002/01/28.") != "The meeting is at 8:00 a.m. on 2002/01/28.")
    }

    @Test func glossaryFilesAreCheckedAndNamed() {
        #expect(throws: TextError.self) { try Glossary.parse(yaml: "- a\n- b", source: "g.yaml") }
        #expect(throws: TextError.self) { try Glossary.parse(yaml: "X: {fr: x}", source: "g.yaml") }
        #expect(throws: TextError.self) { try Glossary.parse(yaml: "X: [1, 2]", source: "g.yaml") }
        #expect((try? Glossary.parse(yaml: "")) == Glossary())
        let g = try? Glossary.parse(yaml: "AI: A I\nML:\n  zh: 机器学习")
        #expect(g?.apply("ai 和 ml", language: .zh) == "A I 和 机器学习")
        #expect(g?.apply("ai and ml", language: .en) == "A I and ML")
    }
}
