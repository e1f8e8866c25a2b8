import Foundation

/// IndexTTS2's text front end (`TextNormalizer.normalize`), rule for rule:
/// 1. `<字|读音>` pronunciation annotations are set aside and come back untouched at the end;
/// 2. routing: Chinese when the text has a CJK ideograph, or no Latin letter, or is an e-mail address, or holds a
///    tone-numbered pinyin syllable (`xuan4`); otherwise English;
/// 3. both paths expand `what's/that's/he's/…` to `… is` and apply the user glossary for their language;
/// 4. Chinese: tech terms with hyphens (`GPT-5-nano`), pinyin syllables and names (`克里斯托弗·诺兰`) are protected
///    around the number normaliser; pinyin with j/q/x + u/ü is rewritten to `v` and upper-cased (`ju4` → `JV4`);
///    then the punctuation map (`，`→`,`, `。`→`.`, quotes and brackets → `'`, `$` → `.`, …);
///    English: tech terms are protected, then the same map without the `$` rule.
///
/// With ``ReadingMode/corrected`` (the default) the reading layer (``ReadingLayer``) reads the spans it recognises
/// after the glossary and before the protections and the number normaliser, and routing ignores pinyin-like letter and
/// digit runs (`BA123`); ``ReadingMode/upstream`` is the pipeline above unchanged, byte for byte.
///
/// User overrides win over every rule in both modes: a glossary entry replaces its term before the reading layer
/// sees the text, and a `<字|读音>` annotation is set aside before anything reads it. Upstream mode puts the
/// annotation back as written (IndexTTS2 feeds it to its tokenizer, brackets and all); corrected mode puts back its
/// reading — tone-numbered pinyin as the pinyin rule writes it (`<行|xing2>` → `XING2`), anything else as written
/// (`<2305|二三零五>` → `二三零五`) — so the reading the user chose is what is spoken. ``Normalized/overrides`` lists both
/// kinds with their offsets in the input.
///
/// The zh/en normalisers are injected; ``weText(directory:glossary:)`` plugs in WeTextProcessing's, as IndexTTS2
/// configures them — the complete upstream pipeline. Parity is tested twice: the rules alone (identity normalisers
/// on both sides, `Tests/Fixtures/text/frontend_rules.json`) and the whole pipeline with WeTextProcessing
/// (`frontend_wetext.json`).
public struct IndexTTSTextNormalizer: Sendable {
    public var glossary: Glossary
    public var chinese: @Sendable (String) -> String
    public var english: @Sendable (String) -> String
    /// How numbers, symbols and abbreviations are read (``ReadingMode/upstream``: exactly IndexTTS2).
    public var readings: ReadingMode
    /// Whether `<字|读音>` annotations come back as written in every mode (IndexTTS-2.5, whose front end turns them
    /// into pronunciation markup after normalisation); false: corrected mode puts back their reading.
    public var keepsAnnotations = false

    public init(glossary: Glossary = Glossary(), readings: ReadingMode = .corrected,
                chinese: @escaping @Sendable (String) -> String, english: @escaping @Sendable (String) -> String) {
        self.glossary = glossary
        self.readings = readings
        self.chinese = chinese
        self.english = english
    }

    /// A normalised text with what the reading layer did to it.
    public struct Normalized: Sendable, Equatable {
        /// The text as the tokenizer gets it.
        public var text: String
        /// The path it took (IndexTTS2's routing; in corrected mode pinyin-like codes do not count as pinyin).
        public var language: ReadingLayer.Language
        /// The spans the reading layer read (empty in upstream mode); the rest went to IndexTTS2's rules and WeTextProcessing.
        public var spans: [ReadingSpan]
        /// The user's overrides, in both modes: `<字|读音>` annotations (rule `user.annotation`) and glossary terms
        /// (rule `user.glossary`), with offsets in characters into the input.
        public var overrides: [ReadingSpan] = []
    }

    // MARK: patterns (as upstream writes them)

    static let annotation = regex(#"<([^|>\n]+)\|([^>\n]+)>"#)
    /// The pinyin pattern for routing in corrected mode: lower case, a real syllable (not a bare `v`, `u` or `i`),
    /// and not part of a longer letter/digit run or a version number (`BA123`, `v2.0.1`).
    static let strictPinyin = regex(#"(?<![A-Za-z0-9])(?![iuvü][1-5])((?:[bpmfdtnlgkhjqxzcsryw]|[zcs]h)?(?:[aeiouüv]|[ae]i|u[aio]|ao|ou|i[aue]|[uüv]e|[uvü]ang?|uai|[aeiuv]n|[aeio]ng|ia[no]|i[ao]ng)|ng|er)([1-5])(?![0-9A-Za-z]|\.\d)"#)
    static let pinyin = regex(#"(?<![a-z])((?:[bpmfdtnlgkhjqxzcsryw]|[zcs]h)?(?:[aeiouüv]|[ae]i|u[aio]|ao|ou|i[aue]|[uüv]e|[uvü]ang?|uai|[aeiuv]n|[aeio]ng|ia[no]|i[ao]ng)|ng|er)([1-5])"#, caseInsensitive: true)
    static let name = regex(#"[\x{4e00}-\x{9fff}]+(?:[-·—][\x{4e00}-\x{9fff}]+){1,2}"#, caseInsensitive: true)
    /// Upstream's `[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+`, anchored at the start of a letter/digit run (the term is
    /// group 1): the same matches, but one attempt per run instead of one per letter, which made a 100k-letter word
    /// cost O(n²) (86 s) in the regex engine.
    static let techTerm = regex(#"(?<![A-Za-z0-9])[0-9]*+([A-Za-z][A-Za-z0-9]*+(?:-[A-Za-z0-9]+)+)"#)
    static let contraction = regex(#"(what|where|who|which|how|t?here|it|s?he|that|this)'s"#, caseInsensitive: true)
    static let email = regex(#"^[a-zA-Z0-9]+@[a-zA-Z0-9]+\.[a-zA-Z]+$"#)
    static let han = regex(#"[\x{4e00}-\x{9fff}]"#)
    static let latin = regex(#"[a-zA-Z]"#)
    static let hyphenPlaceholder = regex(#"\s*<H>\s*"#)
    static let jqxU = regex(#"([jqx])[uü](n|e|an)*(\d)"#, caseInsensitive: true)

    /// The punctuation map, in upstream's order: at each position the first key that matches wins.
    static let punctuation: [(String, String)] = [
        ("：", ","), ("；", ","), (";", ","), ("，", ","), ("。", "."), ("！", "!"), ("？", "?"), ("\n", " "),
        ("·", "-"), ("、", ","), ("...", "…"), (",,,", "…"), ("，，，", "…"), ("……", "…"),
        ("“", "'"), ("”", "'"), ("\"", "'"), ("‘", "'"), ("’", "'"), ("（", "'"), ("）", "'"), ("(", "'"), (")", "'"),
        ("《", "'"), ("》", "'"), ("【", "'"), ("】", "'"), ("[", "'"), ("]", "'"), ("—", "-"), ("～", "-"), ("~", "-"),
        ("「", "'"), ("」", "'"), (":", ","),
    ]
    static let chinesePunctuation: [(String, String)] = [("$", ".")] + punctuation

    static func regex(_ pattern: String, caseInsensitive: Bool = false) -> NSRegularExpression {
        // The patterns are constants; a failure here is a programming error caught by the tests.
        try! NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
    }

    // MARK: normalisation

    /// Whether upstream reads `text` through its Chinese path.
    public static func isChinese(_ text: String) -> Bool {
        if matches(han, text) || !matches(latin, text) || matches(email, text) { return true }
        return matches(pinyin, text)
    }

    /// Whether `text` goes through the Chinese path in `readings` mode.
    public static func isChinese(_ text: String, readings: ReadingMode) -> Bool {
        guard readings == .corrected else { return isChinese(text) }
        if matches(han, text) || !matches(latin, text) { return true }
        return matches(strictPinyin, text)
    }

    public func normalize(_ input: String) -> String { normalizeExplained(input).text }

    /// The normalised text, the path it took and the spans the reading layer read.
    public func normalizeExplained(_ input: String) -> Normalized {
        let (protected, annotations) = Self.protect(input, pattern: Self.annotation) { index in
            "PRONPLACEHOLDER\(Self.alphabeticIndex(index))PRONPLACEHOLDER"
        }
        var result: String
        var spans: [ReadingSpan] = []
        var shielded: ReadingLayer.Shielded?
        var glossaryHits: [(term: String, reading: String)] = []
        let isChinese = Self.isChinese(protected, readings: readings)
        if isChinese {
            var text = Self.replace(Self.contraction, in: protected, template: "$1 is")
            if !glossary.isEmpty { (text, glossaryHits) = glossary.applyExplained(text, language: .zh) }
            text = Self.rstrip(text)
            if readings == .corrected {
                shielded = ReadingLayer.chinese.shield(text)
                text = shielded!.text
            }
            let (withTerms, terms) = Self.protectTechTerms(text)
            let (withPinyin, syllables) = Self.protectAll(withTerms, pattern: Self.pinyin) { "<pinyin_\(Self.letter($0))>" }
            let (withNames, names) = Self.protectAll(withPinyin, pattern: Self.name) { "<n_\(Self.letter($0))>" }
            result = chinese(withNames)
            for (i, name) in names.enumerated() { result = result.replacingOccurrences(of: "<n_\(Self.letter(i))>", with: name) }
            for (i, syllable) in syllables.enumerated() {
                result = result.replacingOccurrences(of: "<pinyin_\(Self.letter(i))>", with: Self.correctPinyin(syllable))
            }
            if !terms.isEmpty { result = Self.replace(Self.hyphenPlaceholder, in: result, template: "-") }
            if let shielded { result = shielded.restore(result); spans = shielded.spans }
            result = Self.mapPunctuation(result, Self.chinesePunctuation)
        } else {
            var text = Self.replace(Self.contraction, in: protected, template: "$1 is")
            if !glossary.isEmpty { (text, glossaryHits) = glossary.applyExplained(text, language: .en) }
            if readings == .corrected {
                shielded = ReadingLayer.english.shield(text)
                text = shielded!.text
            }
            let (withTerms, terms) = Self.protectTechTerms(text)
            result = english(withTerms)
            if !terms.isEmpty { result = Self.replace(Self.hyphenPlaceholder, in: result, template: "-") }
            if let shielded { result = shielded.restore(result); spans = shielded.spans }
            result = Self.mapPunctuation(result, Self.punctuation)
        }
        for (key, original) in annotations {
            result = result.replacingOccurrences(of: key, with: readings == .corrected && !keepsAnnotations
                                                 ? Self.annotationReading(original) : original)
        }
        let overrides = Self.annotationSpans(in: input) + Self.locate(glossaryHits, in: input, excluding: annotations.map { $0.1 })
        return Normalized(text: result, language: isChinese ? .zh : .en, spans: spans,
                          overrides: overrides.sorted { $0.offset < $1.offset })
    }

    // MARK: user overrides

    /// What corrected mode speaks for an annotation `<字|读音>` (or a bare reading): tone-numbered pinyin syllables as
    /// the pinyin rule writes them (`xing2` → `XING2`, `hang2` as is, `ju4` → `JV4`), anything else — Chinese characters, words —
    /// as written.
    public static func annotationReading(_ annotation: String) -> String {
        var reading = annotation
        let ns = annotation as NSString
        if let match = Self.annotation.firstMatch(in: annotation, range: NSRange(location: 0, length: ns.length)),
           match.range.location == 0, match.range.length == ns.length {
            reading = ns.substring(with: match.range(at: 2))
        }
        let syllables = reading.split(whereSeparator: \.isWhitespace).map(String.init)
        guard !syllables.isEmpty, syllables.allSatisfy(isPinyinSyllable) else { return reading }
        return syllables.map(correctPinyin).joined(separator: " ")
    }

    /// Whether `word` is one tone-numbered pinyin syllable (`xing2`, `lv4`, `nü3`), and nothing more.
    public static func isPinyinSyllable(_ word: String) -> Bool {
        guard let match = pinyin.firstMatch(in: word, range: NSRange(word.startIndex..., in: word)) else { return false }
        return match.range.location == 0 && match.range.length == (word as NSString).length
    }

    /// The `<字|读音>` annotations of `input` as spans (`user.annotation`): the text, its reading, the character offset.
    public static func annotationSpans(in input: String) -> [ReadingSpan] {
        let ns = input as NSString
        return annotation.matches(in: input, range: NSRange(location: 0, length: ns.length)).map { m in
            ReadingSpan(original: ns.substring(with: m.range(at: 1)), reading: ns.substring(with: m.range(at: 2)),
                        rule: "user.annotation", offset: ns.substring(to: m.range.location).count)
        }
    }

    /// Glossary replacements as spans (`user.glossary`), each found in `input` after the previous one (terms inside
    /// annotations excepted); a term not found as written (a contraction rewrote it) gets offset −1.
    static func locate(_ hits: [(term: String, reading: String)], in input: String, excluding annotated: [String]) -> [ReadingSpan] {
        var searchable = input
        for text in annotated { searchable = searchable.replacingOccurrences(of: text, with: String(repeating: "\u{1}", count: text.count)) }
        var from: [String: String.Index] = [:]
        return hits.map { hit in
            let start = from[hit.term.lowercased()] ?? searchable.startIndex
            guard let range = searchable.range(of: hit.term, options: .caseInsensitive, range: start..<searchable.endIndex) else {
                return ReadingSpan(original: hit.term, reading: hit.reading, rule: "user.glossary", offset: -1)
            }
            from[hit.term.lowercased()] = range.upperBound
            return ReadingSpan(original: hit.term, reading: hit.reading, rule: "user.glossary",
                               offset: searchable.distance(from: searchable.startIndex, to: range.lowerBound))
        }
    }

    /// `ju4` → `JV4`, `que4` → `QVE4`, `xuan4` → `XVAN4` (other j/q/x syllables are upper-cased; the rest untouched).
    public static func correctPinyin(_ syllable: String) -> String {
        guard let first = syllable.first, "jqxJQX".contains(first) else { return syllable }
        return replace(jqxU, in: syllable, template: "$1v$2$3").uppercased()
    }

    // MARK: helpers

    static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func replace(_ regex: NSRegularExpression, in text: String, template: String) -> String {
        regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
    }

    /// Every match of `pattern`, replaced by its own placeholder (annotations: each occurrence separately).
    static func protect(_ text: String, pattern: NSRegularExpression, placeholder: (Int) -> String) -> (String, [(String, String)]) {
        var out = "", saved: [(String, String)] = [], last = text.startIndex
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let range = Range(match.range, in: text) else { continue }
            let key = placeholder(saved.count)
            out += text[last..<range.lowerBound] + key
            saved.append((key, String(text[range])))
            last = range.upperBound
        }
        return (out + text[last...], saved)
    }

    /// The distinct matches of `pattern` (first-appearance order), each replaced everywhere by its placeholder.
    static func protectAll(_ text: String, pattern: NSRegularExpression, placeholder: (Int) -> String) -> (String, [String]) {
        var distinct: [String] = []
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range, in: text), !distinct.contains(String(text[range])) { distinct.append(String(text[range])) }
        }
        var out = text
        for (i, value) in distinct.enumerated() { out = out.replacingOccurrences(of: value, with: placeholder(i)) }
        return (out, distinct)
    }

    /// Hyphens inside tech terms become `<H>` (longest terms first), so number normalisation cannot read them as minus.
    static func protectTechTerms(_ text: String) -> (String, [String]) {
        var terms: [String] = []
        for match in techTerm.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text), !terms.contains(String(text[range])) { terms.append(String(text[range])) }
        }
        terms.sort { $0.unicodeScalars.count > $1.unicodeScalars.count }
        var out = text
        for term in terms { out = out.replacingOccurrences(of: term, with: term.replacingOccurrences(of: "-", with: "<H>")) }
        return (out, terms)
    }

    /// Python's `str.rstrip()`: trailing whitespace removed.
    static func rstrip(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Leftmost, first-listed-key-wins replacement over code points (as a regex alternation of the keys does).
    static func mapPunctuation(_ text: String, _ map: [(String, String)]) -> String {
        let scalars = Array(text.unicodeScalars)
        let keys = map.map { (Array($0.0.unicodeScalars), $0.1) }
        // Keys by first code point, in listed order, so each position looks only at the keys that can start there.
        var byFirst: [Unicode.Scalar: [([Unicode.Scalar], String)]] = [:]
        for key in keys { byFirst[key.0[0], default: []].append(key) }
        var out = String.UnicodeScalarView()
        var i = 0
        outer: while i < scalars.count {
            if let candidates = byFirst[scalars[i]] {
                for (key, value) in candidates where i + key.count <= scalars.count {
                    var k = 1
                    while k < key.count && scalars[i + k] == key[k] { k += 1 }
                    guard k == key.count else { continue }
                    out.append(contentsOf: value.unicodeScalars)
                    i += key.count
                    continue outer
                }
            }
            out.append(scalars[i])
            i += 1
        }
        return String(out)
    }

    /// a, b, …, z, {, | … as upstream's `chr(ord("a") + i)`.
    static func letter(_ index: Int) -> String { String(UnicodeScalar(UInt8(97 + index % 159))) }

    /// a…z, aa, ab, … (bijective base 26) as upstream numbers annotation placeholders.
    static func alphabeticIndex(_ index: Int) -> String {
        var n = index, s = ""
        repeat {
            s = String(UnicodeScalar(UInt8(97 + n % 26))) + s
            n = n / 26 - 1
        } while n >= 0
        return s
    }
}
