import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// IndexTTS-2.5's tokenizer against upstream's `get_encoding` on tiktoken 0.14 (tools/fixtures/generate_tiktoken.py:
/// a tiny ranks file of the real format trained by tiktoken's own trainer, upstream's 1,673 specials appended).
struct TiktokenTokenizerTests {
    struct Case: Decodable { let text: String, ids: [Int], decoded: String }
    struct Encodings: Decodable {
        let rank_count, vocabulary_size: Int
        let specials, languages: [String: Int]
        let all_specials, language_keys: [String]
        let cases: [Case]
    }

    static let expected = try! Fixtures.json("text/tiktoken/encodings.json", as: Encodings.self)
    static let tokenizer = try! TiktokenTokenizer.indexTTS25(path: Fixtures.path("text/tiktoken/tiny.tiktoken"))

    @Test func specialsAndLanguagesAreUpstreams() {
        #expect(TiktokenTokenizer.indexTTS25Specials.count == 1673)
        #expect(TiktokenTokenizer.indexTTS25Specials == Self.expected.all_specials)
        #expect(TiktokenTokenizer.indexTTS25Languages == Self.expected.language_keys)
        #expect(Self.tokenizer.rankCount == Self.expected.rank_count)
        #expect(Self.tokenizer.vocabularySize == Self.expected.vocabulary_size)
        for (special, id) in Self.expected.specials {
            #expect(Self.tokenizer.id(of: special) == id, "\(special)")
            #expect(Self.tokenizer.isSpecial(id))
        }
        for (language, id) in Self.expected.languages {
            #expect(TiktokenTokenizer.indexTTS25LanguageID(language) == id, "\(language)")
        }
        #expect(!Self.tokenizer.isSpecial(0) && !Self.tokenizer.isSpecial(Self.tokenizer.vocabularySize))
    }

    @Test func encodingMatchesTiktoken() {
        for c in Self.expected.cases {
            #expect(Self.tokenizer.encode(c.text) == c.ids, "\(c.text)")
            #expect(Self.tokenizer.decode(c.ids) == c.decoded, "\(c.text)")
        }
    }

    /// A ranks file with CRLF line ends reads as the LF one (Python's `open()` and `str.split()` accept both).
    @Test func crlfRanksFilesRead() throws {
        let lf = try String(contentsOfFile: Fixtures.path("text/tiktoken/tiny.tiktoken"), encoding: .utf8)
        let crlf = try TiktokenTokenizer(ranksFile: Data(lf.replacingOccurrences(of: "\n", with: "\r\n").utf8),
                                         specialTokens: TiktokenTokenizer.indexTTS25Specials)
        for c in Self.expected.cases { #expect(crlf.encode(c.text) == c.ids, "\(c.text)") }
    }

    /// Display pieces group ids into whole characters, as upstream's `WhisperTokenizer.tokenize`.
    @Test func piecesAreWholeCharacters() {
        for c in Self.expected.cases where !c.ids.isEmpty {
            let pieces = Self.tokenizer.pieces(c.ids)
            #expect(pieces.joined() == Self.tokenizer.decode(c.ids), "\(c.text)")
        }
        let ids = Self.tokenizer.encode("晕眩")
        #expect(ids.count > 2)  // multi-byte characters split across byte tokens
        #expect(Self.tokenizer.pieces(ids) .allSatisfy { !$0.contains("\u{FFFD}") })
    }

    @Test func badRanksFilesNameTheProblem() throws {
        func reason(_ text: String) -> String? {
            do {
                _ = try TiktokenTokenizer(ranksFile: Data(text.utf8), specialTokens: ["<|x|>"], source: "r.tiktoken")
                return nil
            } catch let TextError.invalidTokenizer(path, reason) {
                #expect(path == "r.tiktoken")
                return reason
            } catch { return "\(error)" }
        }
        let bytes = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
        #expect(reason(bytes.joined(separator: "\n")) == nil)
        #expect(reason(bytes.joined(separator: "\n") + "\n\n") == nil)  // blank lines are skipped
        #expect(reason(bytes.dropLast().joined(separator: "\n"))?.contains("byte 0xff") == true)
        #expect(reason((bytes + ["YWI= 300"]).joined(separator: "\n"))?.contains("rank 300") == true)
        #expect(reason((bytes + ["YWI= 256", "YWI= 257"]).joined(separator: "\n"))?.contains("listed twice") == true)
        #expect(reason((bytes + ["not-base64! 256"]).joined(separator: "\n"))?.contains("line 257") == true)
        #expect(reason((bytes + ["YWI= x"]).joined(separator: "\n"))?.contains("line 257") == true)
        #expect(reason("")?.contains("no ranks") == true)
        #expect(throws: TextError.self) { try TiktokenTokenizer.indexTTS25(path: "/nonexistent/x.tiktoken") }
    }
}
