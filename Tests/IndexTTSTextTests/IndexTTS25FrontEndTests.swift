import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// IndexTTS-2.5's text path against upstream's own `infer_generator` (tools/fixtures/generate_frontend25.py: ee40fa7
/// `infer_v2_5.py` run up to the first GPT call, zh/en WeTextProcessing as the identity around upstream's rules, the
/// tiny tiktoken ranks of text/tiktoken/).
struct IndexTTS25FrontEndTests {
    struct Case: Decodable {
        let text, lang: String
        let max_tokens, capacity: Int
        let normalize: Bool
        let prepared: String
        let segments: [String]
        let ids: [[Int]]
        let language_id: Int
    }

    static let cases = try! Fixtures.json("text/frontend25.json", as: [Case].self)
    static let frontEnd = IndexTTS25FrontEnd(
        tokenizer: try! TiktokenTokenizer.indexTTS25(path: Fixtures.path("text/tiktoken/tiny.tiktoken")),
        normalizer: IndexTTSTextNormalizer(readings: .upstream, chinese: { $0 }, english: { $0 }))

    @Test func textPathMatchesInferGenerator() {
        #expect(Self.cases.count == 17)
        for c in Self.cases {
            let prepared = Self.frontEnd.prepare(c.text, language: c.lang, normalize: c.normalize)
            #expect(prepared == c.prepared, "\(c.text)")
            let segments = Self.frontEnd.segments(prepared, maxTokens: c.max_tokens, capacity: c.capacity, language: c.lang)
            #expect(segments == c.segments, "\(c.text)")
            #expect(segments.map { Self.frontEnd.tokenIDs(segment: $0, language: c.lang) } == c.ids.map { $0 + [1] },
                    "\(c.text)")
            #expect(TiktokenTokenizer.indexTTS25LanguageID(c.lang) == c.language_id, "\(c.lang)")
        }
    }

    @Test func languagesAreGuessedByScript() {
        let cases = ["今天天气很好": "zh", "東京・大阪ー": "zh", "今日はいい天気ですね": "ja", "カタカナ": "ja", "안녕하세요": "ko",
                     "مرحبا": "ar", "¿Dónde?": "es", "mañana": "es", "hello": "en", "": "en", "Привет": "en"]
        for (text, language) in cases { #expect(IndexTTS25FrontEnd.guessLanguage(text) == language, "\(text)") }
    }

    /// The fixture runs upstream's rules with the identity for WeTextProcessing; annotations must survive a real
    /// normaliser too, and come back as written in corrected mode (2.0's corrected mode speaks their reading instead).
    @Test func annotationsSurviveNormalisationAsWritten() {
        // Normalisers that read digits, as WeTextProcessing does: the annotations' digits are out of their reach.
        let digits = IndexTTSTextNormalizer(readings: .corrected,
                                            chinese: { $0.replacingOccurrences(of: "2", with: "二") },
                                            english: { $0.replacingOccurrences(of: "1", with: "one") })
        let frontEnd = IndexTTS25FrontEnd(tokenizer: Self.frontEnd.tokenizer, normalizer: digits)
        #expect(frontEnd.prepare("<行|xing2>不行2", language: "zh") == "<|SPECIAL_TOKEN_2|>XING2<|SPECIAL_TOKEN_2|>不行二")
        #expect(frontEnd.prepare("a <word|w er1 d> 1", language: "en") == "a <|SPECIAL_TOKEN_1|>W ER1 D<|SPECIAL_TOKEN_1|> one")
        #expect(digits.normalize("<行|xing2>") == "XING2")  // 2.0's corrected mode: the reading
        // No normaliser: the punctuation map, case and markup still apply.
        let bare = IndexTTS25FrontEnd(tokenizer: Self.frontEnd.tokenizer, normalizer: nil)
        #expect(bare.prepare("A：B <上手|じょうず>", language: "zh") == "a,b  じょうず ")
    }
}
