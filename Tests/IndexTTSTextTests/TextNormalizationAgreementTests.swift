import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// Agreement of ``WeTextNormalizer`` with WeTextProcessing 1.2.0 (as IndexTTS2 configures it) on the committed corpus
/// (tools/fixtures/corpus/tn_zh.txt, tn_en.txt; expectations from tools/fixtures/generate_tn.py). The grammars are
/// the package's own compiled FSTs from cache_hub/ (scripts/fetch-default-voice.sh), so outputs are compared
/// byte for byte, not after any canonicalisation.
struct TextNormalizationAgreementTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let language: String; let text: String; let expected: String }
        let source: String
        let cases: [Case]
    }

    static let directory = Fixtures.cache("wetextprocessing-1.2.0-grammars")
    static let chinese = Result { try WeTextNormalizer.chinese(directory: directory) }
    static let english = Result { try WeTextNormalizer.english(directory: directory) }

    @Test func agreementIsReportedPerLanguage() throws {
        let fixture = try Fixtures.json("text/tn_expected.json", as: Fixture.self)
        #expect(fixture.cases.count >= 400)
        for language in ["zh", "en"] {
            let normalizer = try (language == "zh" ? Self.chinese : Self.english).get()
            let cases = fixture.cases.filter { $0.language == language }
            #expect(cases.count >= 150)
            var agreeing = 0
            for c in cases {
                let ours = try normalizer.normalize(c.text)
                if ours == c.expected { agreeing += 1 } else { print("[\(language)] \(c.text)\n   ours: \(ours)\n   want: \(c.expected)") }
            }
            let rate = Double(agreeing) / Double(cases.count)
            print(String(format: "text normalisation agreement with WeTextProcessing, %@: %d/%d = %.1f %% (target 97 %%)",
                         language, agreeing, cases.count, rate * 100))
            #expect(agreeing == cases.count, "\(language): \(cases.count - agreeing) lines differ")
        }
    }
}
