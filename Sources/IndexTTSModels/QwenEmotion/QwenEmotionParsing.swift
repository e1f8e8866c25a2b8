import Foundation

/// Errors of the emotion-text model: its folder and what it answered.
public enum QwenEmotionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file of the model folder is missing (the path names it).
    case missingFile(path: String)
    /// The model's answer cannot become an emotion vector where upstream's parser raises too (a non-numeric score,
    /// an unparsable number, a non-object answer when the melancholic swap applies). `output` is the decoded answer.
    case unusableOutput(output: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "\(path): missing (the QwenEmotion model folder is incomplete)"
        case .unusableOutput(let output, let reason):
            return "QwenEmotion returned an unusable answer (\(reason)): \"\(output.prefix(200))\""
        }
    }
}

/// IndexTTS2's reading of the emotion model's answer (`QwenEmotion.inference` after `generate`, and `convert` /
/// `normalize_content` / `clamp_score`, index-tts ee40fa7), step for step:
///
/// 1. tokens after the last `</think>` are decoded without special tokens;
/// 2. the text is parsed as JSON (Python's `json.loads`: NaN/Infinity accepted, duplicate keys keep the last value,
///    any top-level value); when that fails, `([^\s":.,]+?)"?\s*:\s*([\d.]+)` pairs are collected (Unicode `\s`/`\d`
///    as Python's `re`), each value through `float()`;
/// 3. if the emotion text contains a melancholic word (低落, melancholy, melancholic, depression, depressed, gloomy;
///    case-insensitively) the 悲伤 and 低落 scores are swapped;
/// 4. label-style answers ("happy", {"emotion": "sad"}, {"高兴": "sad"}) become one-hot scores;
/// 5. the eight scores (高兴 愤怒 悲伤 恐惧 反感 低落 惊讶 自然, missing ones 0) go through `float()` and are clamped
///    to [0, 1.2] with Python's `max(0, min(1.2, v))` (so NaN becomes 1.2); all ≤ 0 means calm = 1.
///
/// Where upstream raises (`ValueError`, `AttributeError`), this throws ``QwenEmotionError/unusableOutput(output:reason:)``.
public enum QwenEmotionParsing {
    /// The vector order (`desired_vector_order`) and the English names (`cn_key_to_en`).
    public static let chineseKeys = ["高兴", "愤怒", "悲伤", "恐惧", "反感", "低落", "惊讶", "自然"]
    public static let englishNames = ["happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm"]
    public static let melancholicWords = ["低落", "melancholy", "melancholic", "depression", "depressed", "gloomy"]
    public static let maximumScore = 1.2
    /// `</think>` in Qwen3's vocabulary (upstream hard-codes it).
    public static let thinkEndID = 151_668

    /// The ids after the last `thinkEndID` (all of them when there is none).
    public static func idsAfterThinking(_ ids: [Int], thinkEndID: Int = thinkEndID) -> ArraySlice<Int> {
        guard let last = ids.lastIndex(of: thinkEndID) else { return ids[...] }
        return ids[(last + 1)...]
    }

    /// The eight scores (order of ``chineseKeys``) for the decoded answer `content` to `emotionText`.
    public static func vector(content: String, emotionText: String) throws -> [Double] {
        func fail(_ reason: String) -> QwenEmotionError { .unusableOutput(output: content, reason: reason) }
        var value: PyValue
        if let parsed = PythonJSON.parse(content) {
            value = parsed
        } else {
            value = .dict(try regexFallback(content, fail: fail))
        }
        if containsMelancholicWord(emotionText) {
            guard case .dict(var entries) = value else {
                throw fail("the melancholic swap needs an object, got \(value.typeName) (upstream: AttributeError)")
            }
            let melancholic = entries.get("低落") ?? .float(0), sad = entries.get("悲伤") ?? .float(0)
            entries.set("悲伤", melancholic)
            entries.set("低落", sad)
            value = .dict(entries)
        }
        return try convert(value, fail: fail)
    }

    /// `any(word in text_input.lower() for word in melancholic_words)` (substring by code points, as Python).
    public static func containsMelancholicWord(_ emotionText: String) -> Bool {
        let lowered = Array(emotionText.lowercased().unicodeScalars)
        return melancholicWords.contains { word in
            let w = Array(word.unicodeScalars)
            guard w.count <= lowered.count else { return false }
            return (0...(lowered.count - w.count)).contains { start in lowered[start..<(start + w.count)].elementsEqual(w) }
        }
    }

    /// `convert(normalize_content(content))`.
    static func convert(_ content: PyValue, fail: (String) -> QwenEmotionError) throws -> [Double] {
        var normalized: OrderedEntries
        if case .dict(let entries) = content { normalized = entries } else { normalized = OrderedEntries() }
        var detected: String? = nil
        if case .string(let label) = content { detected = labelKey(label) }
        if detected == nil {
            for alias in ["emotion", "emotion_label", "label", "情感", "情绪"] {
                if case .string(let label)? = normalized.get(alias), let key = labelKey(label) {
                    detected = key
                    break
                }
            }
        }
        if let detected, chineseKeys.allSatisfy({ normalized.get($0) == nil }) {
            normalized.set(detected, .float(1))
        }
        for key in chineseKeys {
            if case .string(let label)? = normalized.get(key), let target = labelKey(label) {
                normalized.set(key, .float(target == key ? 1 : 0))
                if target != key { normalized.set(target, .float(1)) }
            }
        }
        var scores = try chineseKeys.map { key -> Double in
            let raw = normalized.get(key) ?? .float(0)
            guard let v = raw.pythonFloat else {
                throw fail("non-numeric emotion score \(raw.pythonRepr) for \(key) (upstream: ValueError)")
            }
            // max(0.0, min(1.2, v)) with Python's semantics: each returns its first argument unless the second
            // compares strictly greater / smaller (NaN compares false).
            let upper = v < maximumScore ? v : maximumScore
            return upper > 0 ? upper : 0
        }
        if scores.allSatisfy({ $0 <= 0 }) { scores[7] = 1 }
        return scores
    }

    /// `label_to_cn_key`: a Chinese key, or the key of an English name (case-insensitively), after `strip()`.
    static func labelKey(_ label: String) -> String? {
        let stripped = PythonText.strip(label)
        if chineseKeys.contains(where: { PythonText.same($0, stripped) }) {
            return chineseKeys.first { PythonText.same($0, stripped) }
        }
        let lowered = stripped.lowercased()
        if let index = englishNames.firstIndex(where: { PythonText.same($0, lowered) }) { return chineseKeys[index] }
        return nil
    }

    /// `{m.group(1): float(m.group(2)) for m in re.finditer(r'([^\s":.,]+?)"?\s*:\s*([\d.]+)', content)}`.
    static func regexFallback(_ content: String, fail: (String) -> QwenEmotionError) throws -> OrderedEntries {
        let t = Array(content.unicodeScalars)
        let n = t.count
        func inKey(_ s: Unicode.Scalar) -> Bool {
            !PythonText.isSpace(s) && s != "\"" && s != ":" && s != "." && s != ","
        }
        var result = OrderedEntries()
        var start = 0
        while start < n {
            // The lazy key can only end where `"?\s*:` can start, so it is the run of key characters from `start`.
            var j = start
            while j < n && inKey(t[j]) { j += 1 }
            guard j > start else { start += 1; continue }
            var k = j
            if k < n && t[k] == "\"" { k += 1 }
            while k < n && PythonText.isSpace(t[k]) { k += 1 }
            guard k < n && t[k] == ":" else { start += 1; continue }
            k += 1
            while k < n && PythonText.isSpace(t[k]) { k += 1 }
            var end = k
            while end < n && (t[end] == "." || PythonText.decimalDigit(t[end]) != nil) { end += 1 }
            guard end > k else { start += 1; continue }
            let key = String(String.UnicodeScalarView(t[start..<j]))
            let number = String(String.UnicodeScalarView(t[k..<end]))
            guard let value = PythonText.float(number) else {
                throw fail("could not convert string to float: '\(number)' (upstream: ValueError)")
            }
            result.set(key, .float(value))
            start = end
        }
        return result
    }
}

/// A JSON value as Python's `json.loads` returns it.
indirect enum PyValue: Equatable {
    case null
    case bool(Bool)
    /// An integer literal (Python `int`); `value` is its float conversion (infinite when `float()` would overflow).
    case int(text: String, value: Double)
    case float(Double)
    case string(String)
    case list([PyValue])
    case dict(OrderedEntries)

    var typeName: String {
        switch self {
        case .null: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dict: return "dict"
        }
    }

    /// `float(value)`; nil where Python raises.
    var pythonFloat: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(_, let value): return value.isFinite ? value : nil
        case .float(let v): return v
        case .string(let s): return PythonText.float(s)
        case .null, .list, .dict: return nil
        }
    }

    var pythonRepr: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let text, _): return text
        case .float(let v): return "\(v)"
        case .string(let s): return "'\(s)'"
        case .list: return "[…]"
        case .dict: return "{…}"
        }
    }
}

/// A Python dict: insertion order, assignment to an existing key keeps its place. Keys compare by code points.
struct OrderedEntries: Equatable {
    private(set) var keys: [String] = []
    private var values: [[Unicode.Scalar]: PyValue] = [:]
    private var original: [[Unicode.Scalar]: String] = [:]

    func get(_ key: String) -> PyValue? { values[Array(key.unicodeScalars)] }

    mutating func set(_ key: String, _ value: PyValue) {
        let k = Array(key.unicodeScalars)
        if values[k] == nil { keys.append(key) }
        values[k] = value
        original[k] = key
    }
}

/// Python `str` behaviour the parser depends on.
enum PythonText {
    /// `str.isspace()` (and `\s` of `re` on `str`).
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// The value of a Unicode decimal digit (category Nd: `\d` of `re`, digits `float()` accepts).
    static func decimalDigit(_ s: Unicode.Scalar) -> Int? {
        guard s.properties.generalCategory == .decimalNumber, let v = s.properties.numericValue else { return nil }
        return Int(v)
    }

    /// Equality by code points (Swift's `==` on `String` is canonical equivalence; Python's is not).
    static func same(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    /// `str.strip()`.
    static func strip(_ s: String) -> String {
        let scalars = Array(s.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    /// `float(text)` for a `str`: surrounding whitespace, a sign, `inf`/`infinity`/`nan` in any case, or a decimal
    /// literal with exponent whose digits may be any Unicode decimal digits and may be grouped by single underscores.
    /// nil where Python raises `ValueError`.
    static func float(_ text: String) -> Double? {
        var scalars = Array(strip(text).unicodeScalars)
        guard !scalars.isEmpty else { return nil }
        var negative = false
        if scalars[0] == "+" || scalars[0] == "-" {
            negative = scalars[0] == "-"
            scalars.removeFirst()
        }
        let word = String(String.UnicodeScalarView(scalars)).lowercased()
        if word == "inf" || word == "infinity" { return negative ? -.infinity : .infinity }
        if word == "nan" { return .nan }
        // Digits to ASCII; underscores only between two digits.
        var ascii = ""
        for (i, s) in scalars.enumerated() {
            if let d = decimalDigit(s) {
                ascii.append(Character(String(d)))
            } else if s == "_" {
                guard i > 0, i + 1 < scalars.count, decimalDigit(scalars[i - 1]) != nil, decimalDigit(scalars[i + 1]) != nil else {
                    return nil
                }
            } else if s == "." || s == "e" || s == "E" || s == "+" || s == "-" {
                ascii.append(Character(s))
            } else {
                return nil
            }
        }
        guard isDecimalLiteral(ascii), let value = Double(ascii) else { return nil }
        return negative ? -value : value
    }

    /// `(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?` over ASCII.
    static func isDecimalLiteral(_ s: String) -> Bool {
        let b = Array(s.utf8)
        var i = 0
        func digits() -> Int {
            let start = i
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
            return i - start
        }
        let whole = digits()
        var fraction = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            fraction = digits()
        }
        guard whole + fraction > 0 else { return false }
        if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            i += 1
            if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == b.count
    }
}

/// Python's `json.loads` (the C scanner, `strict=True`) on a `str`: whitespace is space, tab, LF and CR; `NaN`,
/// `Infinity` and `-Infinity` are accepted; objects keep the last value of a repeated key; any value may stand at
/// the top; a leading U+FEFF, control characters inside strings and anything after the value are errors.
enum PythonJSON {
    static func parse(_ text: String) -> PyValue? {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        parser.skipSpace()
        guard let value = parser.value() else { return nil }
        parser.skipSpace()
        return parser.i == parser.scalars.count ? value : nil
    }

    struct Parser {
        let scalars: [Unicode.Scalar]
        var i = 0
        var depth = 0

        mutating func skipSpace() {
            while i < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[i]) { i += 1 }
        }

        func starts(with word: String) -> Bool {
            let w = Array(word.unicodeScalars)
            return i + w.count <= scalars.count && Array(scalars[i..<(i + w.count)]) == w
        }

        mutating func value() -> PyValue? {
            guard i < scalars.count, depth < 512 else { return nil }
            let c = scalars[i]
            switch c {
            case "{": return object()
            case "[": return array()
            case "\"": return string().map(PyValue.string)
            case "n" where starts(with: "null"): i += 4; return .null
            case "t" where starts(with: "true"): i += 4; return .bool(true)
            case "f" where starts(with: "false"): i += 5; return .bool(false)
            case "N" where starts(with: "NaN"): i += 3; return .float(.nan)
            case "I" where starts(with: "Infinity"): i += 8; return .float(.infinity)
            case "-" where starts(with: "-Infinity"): i += 9; return .float(-.infinity)
            default: return number()
            }
        }

        mutating func object() -> PyValue? {
            i += 1
            depth += 1
            defer { depth -= 1 }
            var entries = OrderedEntries()
            skipSpace()
            if i < scalars.count && scalars[i] == "}" { i += 1; return .dict(entries) }
            while true {
                skipSpace()
                guard i < scalars.count, scalars[i] == "\"", let key = string() else { return nil }
                skipSpace()
                guard i < scalars.count, scalars[i] == ":" else { return nil }
                i += 1
                skipSpace()
                guard let v = value() else { return nil }
                entries.set(key, v)
                skipSpace()
                guard i < scalars.count else { return nil }
                if scalars[i] == "," { i += 1; continue }
                if scalars[i] == "}" { i += 1; return .dict(entries) }
                return nil
            }
        }

        mutating func array() -> PyValue? {
            i += 1
            depth += 1
            defer { depth -= 1 }
            var items: [PyValue] = []
            skipSpace()
            if i < scalars.count && scalars[i] == "]" { i += 1; return .list(items) }
            while true {
                skipSpace()
                guard let v = value() else { return nil }
                items.append(v)
                skipSpace()
                guard i < scalars.count else { return nil }
                if scalars[i] == "," { i += 1; continue }
                if scalars[i] == "]" { i += 1; return .list(items) }
                return nil
            }
        }

        mutating func string() -> String? {
            i += 1
            var out = String.UnicodeScalarView()
            while i < scalars.count {
                let c = scalars[i]
                i += 1
                if c == "\"" { return String(out) }
                if c.value < 0x20 { return nil }
                guard c == "\\" else { out.append(c); continue }
                guard i < scalars.count else { return nil }
                let e = scalars[i]
                i += 1
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    guard var unit = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(unit), starts(with: "\\u") {
                        let save = i
                        i += 2
                        if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    // A lone surrogate is a valid Python str but not a Swift one: U+FFFD stands in.
                    out.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= scalars.count else { return nil }
            var v: UInt32 = 0
            for s in scalars[i..<(i + 4)] {
                guard let d = Int(String(s), radix: 16) else { return nil }
                v = v * 16 + UInt32(d)
            }
            i += 4
            return v
        }

        /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, ASCII digits.
        mutating func number() -> PyValue? {
            let start = i
            func isDigit(_ k: Int) -> Bool { k < scalars.count && scalars[k].value >= 48 && scalars[k].value <= 57 }
            if i < scalars.count && scalars[i] == "-" { i += 1 }
            guard isDigit(i) else { i = start; return nil }
            if scalars[i] == "0" { i += 1 } else { while isDigit(i) { i += 1 } }
            var isInteger = true
            if i < scalars.count && scalars[i] == "." && isDigit(i + 1) {
                isInteger = false
                i += 1
                while isDigit(i) { i += 1 }
            }
            if i < scalars.count && (scalars[i] == "e" || scalars[i] == "E") {
                var k = i + 1
                if k < scalars.count && (scalars[k] == "+" || scalars[k] == "-") { k += 1 }
                if isDigit(k) {
                    isInteger = false
                    i = k
                    while isDigit(i) { i += 1 }
                }
            }
            let text = String(String.UnicodeScalarView(scalars[start..<i]))
            guard let v = Double(text) else { return nil }
            return isInteger ? .int(text: text, value: v) : .float(v)
        }
    }
}
