import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// Agreement of our number normalisation with WeTextProcessing (as IndexTTS2 configures it) on the committed
/// corpus (tools/fixtures/corpus/tn_zh.txt, tn_en.txt; expectations from tools/fixtures/generate_tn.py).
///
/// Known gap, stated rather than hidden: WeTextProcessing-equal grammars are not ported yet. Chinese uses the
/// interim ``ChineseNumberReader`` (cardinals, decimals, percentages, dates of the 年月日 form, signs); English text
/// is left as written. The bar is 97 % per language; this test reports the current agreement and fails if it
/// drops below what was measured when the corpus was committed, so every grammar added can only move it up.
struct TextNormalizationAgreementTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let language: String; let text: String; let expected: String }
        let cases: [Case]
    }

    /// Compared the way IndexTTS2 consumes the result: after its punctuation map, with runs of spaces collapsed.
    static func canonical(_ text: String) -> String {
        let mapped = IndexTTSTextNormalizer(chinese: { $0 }, english: { $0 }).normalize(text)
        return mapped.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Agreement measured when the corpus was committed (2026-11-25: zh 103/191, en 11/212 — English is not
    /// normalised yet); raise these as grammars land.
    static let floor: [String: Double] = ["zh": 103.0 / 191, "en": 11.0 / 212]

    @Test func agreementIsReportedPerLanguageAndNeverRegresses() throws {
        let fixture = try Fixtures.json("text/tn_expected.json", as: Fixture.self)
        #expect(fixture.cases.count >= 400)
        for language in ["zh", "en"] {
            let cases = fixture.cases.filter { $0.language == language }
            #expect(!cases.isEmpty)
            func ours(_ text: String) -> String { language == "zh" ? ChineseNumberReader.normalize(text) : text }
            let agreeing = cases.filter { Self.canonical(ours($0.text)) == Self.canonical($0.expected) }.count
            let rate = Double(agreeing) / Double(cases.count)
            print(String(format: "text normalisation agreement with WeTextProcessing, %@: %d/%d = %.1f %% (target 97 %%)",
                         language, agreeing, cases.count, rate * 100))
            #expect(rate >= Self.floor[language]!, "\(language) agreement fell to \(rate)")
        }
    }
}
