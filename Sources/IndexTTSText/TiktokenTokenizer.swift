import Foundation

/// A tiktoken byte-level BPE encoding read from a `.tiktoken` ranks file (lines `base64(token) rank`), with special
/// tokens appended after the ranks, encoding as `tiktoken.Encoding.encode(text, allowed_special="all")` does
/// (tiktoken 0.14's `CoreBPE`):
///
/// 1. special tokens are found leftmost in the raw text and emitted as their ids;
/// 2. each stretch of text between them is cut by the GPT-2 split pattern (``GPT2PreTokenizer``), run on the
///    stretch alone (so `\s+(?!\S)` sees the stretch's end as the end of text);
/// 3. a piece whose UTF-8 bytes are a token is that token; otherwise its bytes are merged pair by pair, always the
///    adjacent pair whose concatenation has the lowest rank (leftmost on ties), until no pair is a token.
///
/// IndexTTS-2.5's encoding is ``indexTTS25(path:)``: `multilingual_zh_ja_yue_char_del.tiktoken` and upstream's 1,673
/// specials (`indextts/utils/tokenizer.py:get_encoding`). Immutable after load.
public struct TiktokenTokenizer: Sendable {
    /// Token bytes → rank (= id) for the mergeable ranks.
    let ranks: [[UInt8]: Int]
    /// id → bytes, for the ranks then the specials (their UTF-8).
    let tokenBytes: [[UInt8]]
    /// Special token text → id.
    let specials: [String: Int]
    /// Specials by first scalar, longest first, for the leftmost scan.
    let specialsByFirstScalar: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int)]]
    /// Where the ranks were read from (for errors).
    public let source: String

    /// Mergeable ranks (their count; specials take the ids after them).
    public var rankCount: Int { ranks.count }
    /// Ranks and specials.
    public var vocabularySize: Int { tokenBytes.count }

    /// Reads a `.tiktoken` file and appends `specialTokens` in order (ids from the rank count on).
    public init(path: String, specialTokens: [String]) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TextError.invalidTokenizer(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(ranksFile: data, specialTokens: specialTokens, source: path)
    }

    /// Parses the bytes of a `.tiktoken` ranks file (`source` names it in errors). The ranks must be `0 ..< n`, each
    /// once (tiktoken's own check: the specials' ids follow them), and every single byte must be a token (tiktoken
    /// cannot encode text otherwise). Blank lines are skipped; CRLF line ends are accepted.
    public init(ranksFile data: Data, specialTokens: [String], source: String = "ranks.tiktoken") throws {
        func fail(_ reason: String) -> TextError { .invalidTokenizer(path: source, reason: reason) }
        var ranks: [[UInt8]: Int] = [:]
        var lineNumber = 0
        // Lines end at LF (CRLF files too: the CR is whitespace to the field split, as for Python's `str.split()`).
        for bytes in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            guard let line = String(data: Data(bytes), encoding: .utf8) else { throw fail("line \(lineNumber): not UTF-8 text") }
            let fields = line.split(whereSeparator: \.isWhitespace)
            if fields.isEmpty { continue }
            guard fields.count == 2, let bytes = Data(base64Encoded: String(fields[0])), !bytes.isEmpty,
                  let rank = Int(fields[1]), rank >= 0 else {
                throw fail("line \(lineNumber): expected 'base64-token rank', got '\(line.prefix(80))'")
            }
            if ranks.updateValue(rank, forKey: [UInt8](bytes)) != nil {
                throw fail("line \(lineNumber): token '\(fields[0])' listed twice")
            }
        }
        guard !ranks.isEmpty else { throw fail("no ranks") }
        var tokenBytes = [[UInt8]?](repeating: nil, count: ranks.count)
        for (bytes, rank) in ranks {
            guard rank < ranks.count, tokenBytes[rank] == nil else {
                throw fail("ranks must be 0..<\(ranks.count), each once; rank \(rank) breaks that")
            }
            tokenBytes[rank] = bytes
        }
        if let missing = (0...255).first(where: { ranks[[UInt8($0)]] == nil }) {
            throw fail("byte 0x\(String(missing, radix: 16)) is not a token (every single byte must be)")
        }
        var all = tokenBytes.map { $0! }
        var specials: [String: Int] = [:]
        var byFirst: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int)]] = [:]
        for token in specialTokens {
            guard let first = token.unicodeScalars.first else { throw fail("an empty special token") }
            guard specials[token] == nil else { throw fail("special token '\(token)' listed twice") }
            specials[token] = all.count
            byFirst[first, default: []].append((Array(token.unicodeScalars), all.count))
            all.append(Array(token.utf8))
        }
        for key in byFirst.keys { byFirst[key]!.sort { $0.scalars.count > $1.scalars.count } }
        self.ranks = ranks
        self.tokenBytes = all
        self.specials = specials
        self.specialsByFirstScalar = byFirst
        self.source = source
    }

    /// The id of a special token, or of a text that is one whole rank.
    public func id(of token: String) -> Int? { specials[token] ?? ranks[Array(token.utf8)] }

    /// Whether `id` is a special token.
    public func isSpecial(_ id: Int) -> Bool { id >= ranks.count && id < tokenBytes.count }

    /// Token ids of `text`, every special token allowed (`allowed_special="all"`).
    public func encode(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        var start = 0, i = 0
        while i < scalars.count {
            guard let candidates = specialsByFirstScalar[scalars[i]],
                  let special = candidates.first(where: { Self.matches($0.scalars, scalars, at: i) }) else {
                i += 1
                continue
            }
            encodeOrdinary(scalars[start..<i], into: &ids)
            ids.append(special.id)
            i += special.scalars.count
            start = i
        }
        encodeOrdinary(scalars[start..<scalars.count], into: &ids)
        return ids
    }

    /// The text of `ids`: their bytes as UTF-8, invalid sequences as U+FFFD (tiktoken's `decode(errors="replace")`);
    /// ids outside the vocabulary are skipped.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokenBytes.count { bytes += tokenBytes[id] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The texts of `ids` as upstream's `WhisperTokenizer.tokenize` groups them for display: from each position the
    /// fewest ids (up to 4) that decode to whole characters and are not blank, else the one id as it decodes.
    public func pieces(_ ids: [Int]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < ids.count {
            let whole = (1...min(4, ids.count - i)).lazy.map { n in (n, self.decode(Array(ids[i..<(i + n)]))) }
                .first { !$0.1.contains("\u{FFFD}") && !$0.1.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            out.append(whole?.1 ?? decode([ids[i]]))
            i += whole?.0 ?? 1
        }
        return out
    }

    static func matches(_ needle: [Unicode.Scalar], _ text: [Unicode.Scalar], at i: Int) -> Bool {
        guard i + needle.count <= text.count else { return false }
        for k in needle.indices where text[i + k] != needle[k] { return false }
        return true
    }

    /// Text without specials: split, then each piece as one token or by byte-pair merging.
    func encodeOrdinary(_ stretch: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
        guard !stretch.isEmpty else { return }
        for piece in GPT2PreTokenizer.split(Array(stretch)) {
            let bytes = Array(String(String.UnicodeScalarView(piece)).utf8)
            if let id = ranks[bytes] {
                ids.append(id)
            } else {
                mergePairs(bytes, into: &ids)
            }
        }
    }

    /// tiktoken's `byte_pair_encode`: boundaries between parts, each pair's rank kept for the next choice.
    func mergePairs(_ piece: [UInt8], into ids: inout [Int]) {
        func rank(_ from: Int, _ to: Int) -> Int { ranks[Array(piece[from..<to])] ?? Int.max }
        // starts[k]: byte offset where part k begins; pairRank[k]: rank of parts k and k + 1 joined.
        var starts = Array(0...piece.count)
        var pairRank = (0..<piece.count).map { $0 + 2 <= piece.count ? rank($0, $0 + 2) : Int.max }
        while true {
            var best = Int.max, at = -1
            for k in 0..<(starts.count - 2) where pairRank[k] < best { (best, at) = (pairRank[k], k) }
            if at < 0 { break }
            starts.remove(at: at + 1)
            pairRank.remove(at: at + 1)
            pairRank[at] = at + 2 < starts.count ? rank(starts[at], starts[at + 2]) : Int.max
            if at > 0 { pairRank[at - 1] = rank(starts[at - 1], starts[at + 1]) }
        }
        for k in 0..<(starts.count - 1) {
            // Every merged part is a token by construction, and every single byte was checked at load.
            ids.append(ranks[Array(piece[starts[k]..<starts[k + 1]])]!)
        }
    }
}

/// GPT-2's split pattern, as tiktoken (fancy-regex) runs it:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// written out as a scanner over Unicode scalars: at each position the first alternative that matches wins, with its
/// greedy/backtracking outcome; contractions are case-sensitive; `\s` is the Unicode White_Space property,
/// `\p{L}`/`\p{N}` the letter and number categories.
enum GPT2PreTokenizer {
    static func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        ByteLevelPreTokenizer.split(text) { match($0, at: $1) }
    }

    /// End of the match starting at `i` (always > i).
    static func match(_ t: [Unicode.Scalar], at i: Int) -> Int {
        let n = t.count
        let isLetter = ByteLevelPreTokenizer.isLetter, isNumber = ByteLevelPreTokenizer.isNumber
        let isSpace = ByteLevelPreTokenizer.isSpace
        // 's|'t|'re|'ve|'m|'ll|'d
        if t[i] == "'" && i + 1 < n {
            let a = t[i + 1]
            if a == "s" || a == "t" || a == "m" || a == "d" { return i + 2 }
            if i + 2 < n {
                let b = t[i + 2]
                if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return i + 3 }
            }
        }
        // ␠?\p{L}+, ␠?\p{N}+, ␠?[^\s\p{L}\p{N}]+ : an optional space, then a run of one class.
        func isOther(_ s: Unicode.Scalar) -> Bool { !isSpace(s) && !isLetter(s) && !isNumber(s) }
        for inClass in [isLetter, isNumber, isOther] {
            let first = t[i] == " " && i + 1 < n && inClass(t[i + 1]) ? i + 1 : i
            guard inClass(t[first]) else { continue }
            var j = first + 1
            while j < n && inClass(t[j]) { j += 1 }
            return j
        }
        // The remaining alternatives start with whitespace; t[i] is whitespace here (every scalar is a letter, a
        // number, other, or whitespace).
        var runEnd = i
        while runEnd < n && isSpace(t[runEnd]) { runEnd += 1 }
        // \s+(?!\S): the run, minus its last scalar when a non-space follows; else \s+: the whole run.
        if runEnd == n { return runEnd }
        return runEnd - 1 > i ? runEnd - 1 : runEnd
    }
}

extension TiktokenTokenizer {
    /// Upstream's `LANGUAGES` keys in order (`indextts/utils/tokenizer.py`): Whisper's 99 languages, then `yue`,
    /// `minnan`, `wuyu`, `dialect`, `zh/en`, `en/zh`, `common`. `LANGUAGE_DICT` is their index; the first 99 are
    /// also special tokens `<|xx|>`.
    public static let indexTTS25Languages: [String] = [
        "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi",
        "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml",
        "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs",
        "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am",
        "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln",
        "ha", "ba", "jw", "su", "yue", "minnan", "wuyu", "dialect", "zh/en", "en/zh", "common",
    ]

    /// `lang_to_token`: the `lang_embedding` row of a language code (lower-cased; `common`, 105, for any other).
    public static func indexTTS25LanguageID(_ language: String) -> Int {
        let key = language.lowercased()
        return indexTTS25Languages.firstIndex(of: key) ?? indexTTS25Languages.firstIndex(of: "common")!
    }

    /// Upstream's special tokens in `get_encoding`'s order (1,673 with 99 languages): end of text, start of
    /// transcript, `<|xx|>` languages, 11 audio events, 4 emotions, six Whisper task tokens, `<|SPECIAL_TOKEN_1…30|>`,
    /// 20 TTS tokens, and 1,501 timestamps `<|0.00|>`…`<|30.00|>`.
    public static let indexTTS25Specials: [String] = {
        var s = ["<|endoftext|>", "<|startoftranscript|>"]
        s += indexTTS25Languages.prefix(99).map { "<|\($0)|>" }
        s += ["ASR", "AED", "SER", "Speech", "/Speech", "BGM", "/BGM", "Laughter", "/Laughter", "Applause", "/Applause"]
            .map { "<|\($0)|>" }
        s += ["HAPPY", "SAD", "ANGRY", "NEUTRAL"].map { "<|\($0)|>" }
        s += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
        s += (1...30).map { "<|SPECIAL_TOKEN_\($0)|>" }
        s += ["TTS/B", "TTS/O", "TTS/Q", "TTS/A", "TTS/CO", "TTS/CL", "TTS/H"].map { "<|\($0)|>" }
        s += (1...13).map { "<|TTS/SP\($0 < 10 ? "0" : "")\($0)|>" }
        // Python's f"{i * 0.02:.2f}": the same double product, rounded by the same printf rule.
        s += (0...1500).map { "<|" + String(format: "%.2f", Double($0) * 0.02) + "|>" }
        return s
    }()

    /// IndexTTS-2.5's encoding: `multilingual_zh_ja_yue_char_del.tiktoken` with ``indexTTS25Specials``.
    public static func indexTTS25(path: String) throws -> TiktokenTokenizer {
        try TiktokenTokenizer(path: path, specialTokens: indexTTS25Specials)
    }
}
