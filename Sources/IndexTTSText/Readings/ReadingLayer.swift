import Foundation

/// How numbers, symbols and abbreviations are read.
/// - ``corrected``: the reading layer (``ReadingLayer``) reads the spans it recognises — grouped numbers, fractions
///   next to Chinese, clock times, currencies, unit symbols, ranges, digit strings, codes, decades, Roman numerals,
///   abbreviations, … — the way people say them, and leaves the rest to IndexTTS2's rules and WeTextProcessing.
/// - ``upstream``: IndexTTS2's front end byte for byte, defects included (reproduces upstream's audio).
public enum ReadingMode: String, Codable, Sendable, CaseIterable {
    case corrected
    case upstream
}

/// One span the reading layer read: where it was, what it said, and which rule said it (`zh.fraction`, `en.currency`…).
public struct ReadingSpan: Codable, Equatable, Sendable {
    /// The span as written (after annotations are set aside and the glossary is applied).
    public let original: String
    /// What the layer put in its place.
    public let reading: String
    /// The rule that read it: `<language>.<class>`.
    public let rule: String
    /// Offset of the span, in characters (grapheme clusters), in the text the layer read.
    public let offset: Int

    public init(original: String, reading: String, rule: String, offset: Int) {
        self.original = original
        self.reading = reading
        self.rule = rule
        self.offset = offset
    }
}

/// The reading layer: rules, in priority order, each a pattern and a reader. Every rule sees the whole text; a match
/// that overlaps a span already taken by an earlier rule is skipped, and a reader may decline a match (nil) when its
/// context says the class does not apply. Spans no rule takes are left as they are, for IndexTTS2's rules and
/// WeTextProcessing. Chinese readings are written in Chinese characters (letters of codes stay Latin); English
/// readings only ever in English words and letters.
public struct ReadingLayer: Sendable {
    public enum Language: String, Codable, Sendable { case zh, en }

    /// A match as a reader sees it: captures, and the text around it for context.
    struct Match {
        let text: NSString
        let result: NSTextCheckingResult

        var range: NSRange { result.range }
        var whole: String { text.substring(with: result.range) }

        /// Capture group `i`, nil when it did not take part.
        subscript(_ i: Int) -> String? {
            let r = result.range(at: i)
            return r.location == NSNotFound ? nil : text.substring(with: r)
        }

        /// Up to `count` UTF-16 units before the match.
        func before(_ count: Int) -> String {
            let start = max(0, range.location - count)
            return text.substring(with: NSRange(location: start, length: range.location - start))
        }

        /// Up to `count` UTF-16 units after the match.
        func after(_ count: Int) -> String {
            let end = range.location + range.length
            return text.substring(with: NSRange(location: end, length: min(count, text.length - end)))
        }

        /// Whether the match ends a sentence: nothing but space follows, or space then a capital letter.
        var endsSentence: Bool {
            let next = after(3)
            if next.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return true }
            let trimmed = next.drop { $0 == " " }
            return next.first == " " && (trimmed.first?.isUppercase ?? false)
        }
    }

    struct Rule: Sendable {
        let name: String
        let regex: NSRegularExpression
        let read: @Sendable (Match) -> String?

        init(_ name: String, _ pattern: String, caseInsensitive: Bool = false, _ read: @escaping @Sendable (Match) -> String?) {
            self.name = name
            // The patterns are constants; a failure is a programming error the tests catch. ICU's `\d` matches every
            // Unicode decimal digit (Arabic-Indic, fullwidth…), but the readings convert matches with `Int(_:)`,
            // which takes ASCII only: a non-ASCII digit trapped on the force unwrap (found by the `text` fuzz
            // harness). Digits here are ASCII; other scripts' digits pass through to the later stages.
            let ascii = pattern.replacingOccurrences(of: #"\d"#, with: "[0-9]")
            self.regex = try! NSRegularExpression(pattern: ascii, options: caseInsensitive ? [.caseInsensitive] : [])
            self.read = read
        }
    }

    public let language: Language
    let rules: [Rule]

    public static let chinese = ReadingLayer(language: .zh, rules: ChineseReadings.rules)
    public static let english = ReadingLayer(language: .en, rules: EnglishReadings.rules)

    public static func layer(for language: Language) -> ReadingLayer { language == .zh ? chinese : english }

    /// The rule names, in priority order (for documentation and `--explain`).
    public var ruleNames: [String] { rules.map(\.name) }

    /// `text` with every recognised span replaced by its reading, and the spans read.
    public func read(_ text: String) -> (text: String, spans: [ReadingSpan]) {
        let shielded = shield(text)
        return (shielded.restore(shielded.text), shielded.spans)
    }

    /// The spans read, each replaced in `text` by a placeholder that WeTextProcessing and IndexTTS2's rules pass
    /// through untouched (WeTextProcessing's English grammar would otherwise re-read words of a reading: `per hour`
    /// → `- per hour our`); ``Shielded/restore(_:)`` puts the readings back.
    public struct Shielded: Sendable {
        public var text: String
        public var spans: [ReadingSpan]
        /// (placeholder, reading) pairs.
        public var readings: [(key: String, reading: String)]

        /// One pass over `text`: every `MARK key MARK` becomes its reading (a mangled placeholder, never seen, would
        /// be left as it is).
        public func restore(_ text: String) -> String {
            guard !readings.isEmpty else { return text }
            let parts = text.components(separatedBy: ReadingLayer.mark)
            guard parts.count % 2 == 1 else {
                var out = text
                for (key, reading) in readings { out = out.replacingOccurrences(of: key, with: reading) }
                return out
            }
            var byIndex: [String: String] = [:]
            for (key, reading) in readings { byIndex[String(key.dropFirst(ReadingLayer.mark.count).dropLast(ReadingLayer.mark.count))] = reading }
            var out = ""
            for (i, part) in parts.enumerated() {
                if i % 2 == 0 { out += part } else { out += byIndex[part] ?? ReadingLayer.mark + part + ReadingLayer.mark }
            }
            return out
        }
    }

    /// `READINGPLACEHOLDERaREADINGPLACEHOLDER`, …: letters only, so no rule or grammar reads it.
    static let mark = "READINGPLACEHOLDER"

    static func placeholder(_ index: Int) -> String { mark + IndexTTSTextNormalizer.alphabeticIndex(index) + mark }

    public func shield(_ text: String) -> Shielded {
        guard !text.isEmpty else { return Shielded(text: text, spans: [], readings: []) }
        let ns = text as NSString
        let whole = NSRange(location: 0, length: ns.length)
        var taken: [(range: NSRange, reading: String, rule: String)] = []
        for rule in rules {
            for result in rule.regex.matches(in: text, range: whole) where result.range.length > 0 {
                let r = result.range
                if taken.contains(where: { NSIntersectionRange($0.range, r).length > 0 }) { continue }
                guard let reading = rule.read(Match(text: ns, result: result)) else { continue }
                taken.append((r, reading, rule.name))
            }
        }
        guard !taken.isEmpty else { return Shielded(text: text, spans: [], readings: []) }
        taken.sort { $0.range.location < $1.range.location }
        var out = "", spans: [ReadingSpan] = [], readings: [(key: String, reading: String)] = [], cursor = 0, characterOffset = 0
        for t in taken {
            let gap = ns.substring(with: NSRange(location: cursor, length: t.range.location - cursor))
            out += gap
            characterOffset += gap.count
            let original = ns.substring(with: t.range)
            // A rule named `keep` only keeps its span from later rules (IndexTTS2's rules and the grammars read it).
            if t.rule.hasSuffix(".keep") {
                out += original
            } else {
                spans.append(ReadingSpan(original: original, reading: t.reading, rule: t.rule, offset: characterOffset))
                let key = Self.placeholder(readings.count)
                readings.append((key, t.reading))
                out += key
            }
            characterOffset += original.count
            cursor = t.range.location + t.range.length
        }
        out += ns.substring(from: cursor)
        return Shielded(text: out, spans: spans, readings: readings)
    }
}
