import Foundation

/// IndexTTS-2.5's text path (`infer_v2_5.IndexTTS2.infer_generator`, index-tts ee40fa7), from the request's text and
/// language to the GPT's token ids per segment:
///
/// 1. the punctuation map, before anything else and for every language (so `8:00` reaches normalisation as `8,00`);
/// 2. normalisation for `zh`, `zhen` and `en` (IndexTTS2's ``IndexTTSTextNormalizer``; `<字|读音>` annotations are
///    set aside and come back as written); `es` and `ja` get none, as upstream without NeMo installed (its default),
///    `ar` none by design;
/// 3. lower case for `ja`, `zh`, `zhen`, `en`; upper case for `es`; `ar` as is (Unicode's case mappings scalar by
///    scalar: Python's context rule for a word-final `Σ` → `ς` is not applied);
/// 4. pronunciation markup: `<word|PRON>` → `<|SPECIAL_TOKEN_2|>PRON<|SPECIAL_TOKEN_2|>` (word with a CJK ideograph),
///    `<|SPECIAL_TOKEN_1|>PRON<|SPECIAL_TOKEN_1|>` (otherwise, CMU phones), or ` PRON ` (all-kana readings), the
///    reading upper-cased and the word dropped;
/// 5. every `<|…|>` span upper-cased again (step 3 lowered user-typed specials);
/// 6. segments of at most `max_text_tokens_per_segment` tokens (``segments(_:maxTokens:capacity:language:)``);
/// 7. per segment `encode("<|lang|> " + segment)` and a closing id 1 (``tokenIDs(segment:language:)``).
///
/// Not reproduced: Japanese word spacing (upstream re-emits `ja` text as MeCab morphemes separated by spaces through
/// fugashi + unidic-lite; here `ja` text reaches the tokenizer as written).
public struct IndexTTS25FrontEnd: Sendable {
    public let tokenizer: TiktokenTokenizer
    /// zh/en normalisation; nil normalises nothing.
    public let normalizer: IndexTTSTextNormalizer?

    public init(tokenizer: TiktokenTokenizer, normalizer: IndexTTSTextNormalizer?) {
        self.tokenizer = tokenizer
        var normalizer = normalizer
        normalizer?.keepsAnnotations = true
        self.normalizer = normalizer
    }

    /// This front end with the normaliser in `readings` mode (nil: unchanged).
    public func reading(_ readings: ReadingMode?) -> IndexTTS25FrontEnd {
        guard let readings, var normalizer else { return self }
        normalizer.readings = readings
        return IndexTTS25FrontEnd(tokenizer: tokenizer, normalizer: normalizer)
    }

    /// A language for a text that names none (upstream requires one), by script: `ja` when it has kana (hiragana
    /// U+3041–3096, katakana U+30A1–30FA: not `・` or `ー`, which Chinese uses too), else `zh` for CJK ideographs, `ko`
    /// for Hangul, `ar` for Arabic letters, `es` for `¿`, `¡` or `ñ`, `en` otherwise.
    public static func guessLanguage(_ text: String) -> String {
        var han = false, hangul = false, arabic = false, spanish = false
        for s in text.unicodeScalars {
            switch s.value {
            case 0x3041...0x3096, 0x30A1...0x30FA: return "ja"
            case 0x4E00...0x9FFF, 0x3400...0x4DBF: han = true
            case 0xAC00...0xD7A3, 0x1100...0x11FF, 0x3131...0x318E: hangul = true
            case 0x0600...0x06FF, 0x0750...0x077F: arabic = true
            case 0xBF, 0xA1, 0xF1, 0xD1: spanish = true
            default: break
            }
        }
        return han ? "zh" : hangul ? "ko" : arabic ? "ar" : spanish ? "es" : "en"
    }

    static let annotation = IndexTTSTextNormalizer.annotation
    static let special = IndexTTSTextNormalizer.regex(#"<\|([^|]+)\|>"#)
    /// Python's `.` stops at `\n` only (ICU's also at `\r`, U+0085, U+2028, U+2029): `[^\n]` here.
    static let protectedSpan = IndexTTSTextNormalizer.regex(#"<\|SPECIAL_TOKEN_\d+\|>[^\n]*?<\|SPECIAL_TOKEN_\d+\|>"#)
    static let delimiters: Set<Unicode.Scalar> = ["，", "。", "！", "？", "、", "；", "：", ",", ".", "!", "?", ";", ":", "\n"]

    /// The language prefix `<|lang|> ` (lower-cased, trailing space), as a special token only for the first 99
    /// Whisper languages (`<|zhen|>` is spelled out by the BPE, as upstream).
    public static func languagePrefix(_ language: String) -> String { "<|\(language.lowercased())|> " }

    /// Steps 1–5: the text `split_text_by_tokens` receives.
    /// - Parameter normalize: upstream's `text_normalization` (default true).
    public func prepare(_ text: String, language: String, normalize: Bool = true) -> String {
        let lang = language.lowercased()
        var text = IndexTTSTextNormalizer.mapPunctuation(text, IndexTTSTextNormalizer.punctuation)
        if normalize, let normalizer, ["zh", "zhen", "en"].contains(lang) { text = normalizer.normalize(text) }
        if ["ja", "zh", "zhen", "en"].contains(lang) { text = text.lowercased() }
        if lang == "es" { text = text.uppercased() }
        text = Self.applyPronunciationAnnotations(text)
        return Self.transform(Self.special, in: text) { groups in "<|\(groups[1].uppercased())|>" }
    }

    /// `apply_pronunciation_annotations`: `<word|pron>` → markup (see the type's step 4).
    public static func applyPronunciationAnnotations(_ text: String) -> String {
        transform(annotation, in: text) { groups in
            let word = groups[1], pronunciation = groups[2].uppercased()
            if isKana(pronunciation) { return " \(pronunciation) " }
            let hasChinese = word.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
            let token = hasChinese ? "SPECIAL_TOKEN_2" : "SPECIAL_TOKEN_1"
            return "<|\(token)|>\(pronunciation)<|\(token)|>"
        }
    }

    /// All hiragana (U+3040–309F) or all katakana (U+30A0–30FF).
    static func isKana(_ s: String) -> Bool {
        let scalars = s.unicodeScalars
        guard !scalars.isEmpty else { return false }
        return scalars.allSatisfy { (0x3040...0x309F).contains($0.value) }
            || scalars.allSatisfy { (0x30A0...0x30FF).contains($0.value) }
    }

    func tokenCount(_ text: String) -> Int { tokenizer.encode(text).count }

    /// `split_text_by_tokens`: the whole text when it fits `budget = max(1, min(maxTokens, capacity − 2) −
    /// tokens(prefix))` tokens; otherwise markup spans kept whole, the rest cut after `，。！？、；：,.!?;:` and
    /// newlines, a clause still over budget cut scalar by scalar, and the pieces joined greedily while the join fits.
    /// - Parameters:
    ///   - capacity: rows of the GPT's text position table (`max_text_tokens + 2`).
    public func segments(_ text: String, maxTokens: Int, capacity: Int, language: String) -> [String] {
        let budget = max(1, min(maxTokens, capacity - 2) - tokenCount(Self.languagePrefix(language)))
        if tokenCount(text) <= budget { return [text] }
        var chunks: [String] = []
        for (piece, atomic) in Self.atomicPieces(text) {
            if atomic {
                chunks.append(piece)
                continue
            }
            for part in Self.clauses(piece) {
                if tokenCount(part) <= budget {
                    chunks.append(part)
                    continue
                }
                var current = ""
                for scalar in part.unicodeScalars {
                    let longer = current + String(scalar)
                    if !current.isEmpty && tokenCount(longer) > budget {
                        chunks.append(current)
                        current = String(scalar)
                    } else {
                        current = longer
                    }
                }
                if !current.isEmpty { chunks.append(current) }
            }
        }
        var segments: [String] = []
        var current = ""
        for chunk in chunks {
            if !current.isEmpty && tokenCount(current + chunk) > budget {
                segments.append(current)
                current = chunk
            } else {
                current += chunk
            }
        }
        if !current.isEmpty { segments.append(current) }
        return segments.isEmpty ? [text] : segments
    }

    /// Step 7: `encode("<|lang|> " + segment, allowed_special="all") + [1]`.
    public func tokenIDs(segment: String, language: String) -> [Int] {
        tokenizer.encode(Self.languagePrefix(language) + segment) + [1]
    }

    /// `_split_atomic_pieces`: `<|SPECIAL_TOKEN_n|>…<|SPECIAL_TOKEN_m|>` spans (shortest) and the text between them.
    static func atomicPieces(_ text: String) -> [(String, Bool)] {
        let ns = text as NSString
        var pieces: [(String, Bool)] = []
        var position = 0
        for match in protectedSpan.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            if match.range.location > position {
                pieces.append((ns.substring(with: NSRange(location: position, length: match.range.location - position)), false))
            }
            pieces.append((ns.substring(with: match.range), true))
            position = match.range.location + match.range.length
        }
        if position < ns.length { pieces.append((ns.substring(from: position), false)) }
        return pieces
    }

    /// `re.split(r'(?<=[，。！？、；：,\.!\?;:\n])', piece)` without empty parts: cut after every delimiter.
    static func clauses(_ piece: String) -> [String] {
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in piece.unicodeScalars {
            current.append(scalar)
            if delimiters.contains(scalar) {
                parts.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { parts.append(String(current)) }
        return parts
    }

    /// `regex.sub(function, text)`: each match replaced by `replacement(groups)` (group 0 the whole match).
    static func transform(_ regex: NSRegularExpression, in text: String, _ replacement: ([String]) -> String) -> String {
        let ns = text as NSString
        var out = ""
        var position = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: position, length: match.range.location - position))
            let groups = (0..<match.numberOfRanges).map { i -> String in
                let r = match.range(at: i)
                return r.location == NSNotFound ? "" : ns.substring(with: r)
            }
            out += replacement(groups)
            position = match.range.location + match.range.length
        }
        return out + ns.substring(from: position)
    }
}
