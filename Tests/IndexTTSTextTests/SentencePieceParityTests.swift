import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// SentencePiece BPE encoding against the sentencepiece library (tools/fixtures/generate_text.py).
struct SentencePieceParityTests {
    struct Expected: Decodable {
        struct Case: Decodable {
            let model: String
            let text: String
            let pieces: [String]
            let ids: [Int]
        }
        struct IndexTTSCase: Decodable {
            let text: String
            let pretokenized: String
            let ids: [Int]
        }
        let cases: [Case]
        let indextts: [IndexTTSCase]
        let vocab_sizes: [String: Int]
    }

    static let expected = try! Fixtures.json("text/expected.json", as: Expected.self)
    static let models: [String: SentencePieceModel] = [
        "bpe_cjk.model": try! SentencePieceModel(contentsOf: Fixtures.path("text/bpe_cjk.model")),
        "bpe_bytes.model": try! SentencePieceModel(contentsOf: Fixtures.path("text/bpe_bytes.model")),
    ]

    @Test func vocabulariesLoad() throws {
        for (name, size) in Self.expected.vocab_sizes { #expect(Self.models[name]?.count == size, "\(name)") }
        let cjk = try #require(Self.models["bpe_cjk.model"])
        #expect(cjk.bosID == 0 && cjk.eosID == 1 && cjk.unknownID == 2)
        #expect(cjk.id(of: "XING2") != cjk.unknownID, "user-defined pinyin piece")
    }

    @Test(arguments: ["bpe_cjk.model", "bpe_bytes.model"])
    func encodingsMatchSentencepiece(_ model: String) throws {
        let sp = try #require(Self.models[model])
        var failures = 0
        for c in Self.expected.cases where c.model == model {
            let pieces = sp.encodeAsPieces(c.text), ids = sp.encode(c.text)
            if pieces != c.pieces || ids != c.ids {
                failures += 1
                Issue.record("\(model) \(c.text.debugDescription):\n ours \(pieces) \(ids)\n spm  \(c.pieces) \(c.ids)")
                if failures > 5 { return }
            }
        }
    }

    @Test func indexTTS2TokenizerMatchesUpstream() throws {
        let tokenizer = IndexTTSTokenizer(model: try #require(Self.models["bpe_cjk.model"]))
        for c in Self.expected.indextts {
            #expect(tokenizer.pretokenize(c.text) == c.pretokenized, "\(c.text.debugDescription)")
            #expect(tokenizer.encode(c.text) == c.ids, "\(c.text.debugDescription)")
        }
    }

    @Test func decodeInvertsEncodeForKnownText() throws {
        let sp = try #require(Self.models["bpe_cjk.model"])
        let text = "HELLO WORLD 你 好"
        #expect(sp.decode(sp.encode(text)) == text)
    }

    @Test func nonModelsAreRejected() throws {
        #expect(throws: TextError.self) { try SentencePieceModel(contentsOf: Fixtures.path("readers/expected.json")) }
        #expect(throws: TextError.self) { try SentencePieceModel(contentsOf: "/nonexistent/bpe.model") }
    }
}
