import Foundation

/// A Hugging Face `tokenizers` byte-level BPE tokenizer read from `tokenizer.json`, as Qwen2/Qwen3 ship it
/// (IndexTTS2's emotion-text model `qwen0.6bemo4-merge` uses one), encoding and decoding exactly as `tokenizers`
/// 0.21 does:
///
/// 1. added tokens (`added_tokens`, e.g. `<|im_start|>`, `<think>`) are split out of the raw text first,
///    leftmost-longest;
/// 2. the rest is NFC-normalised, cut by the GPT-4-style split regex of Qwen2 (see ``ByteLevelPreTokenizer``),
///    each piece's UTF-8 bytes mapped to GPT-2's printable byte alphabet,
/// 3. and merged by BPE rank (lowest rank first, leftmost on ties) into vocabulary ids.
///
/// Decoding maps ids back to tokens (unknown ids are dropped, special added tokens too with
/// `skipSpecialTokens`), the byte alphabet back to bytes, and the bytes to UTF-8 with U+FFFD for invalid sequences
/// (Rust's `from_utf8_lossy`). Immutable after load.
public struct ByteLevelBPETokenizer: Sendable {
    /// An entry of `added_tokens`.
    public struct AddedToken: Sendable, Equatable {
        public let id: Int
        public let content: String
        public let special: Bool
        public let normalized: Bool
    }

    struct Pair: Hashable { let left: Int32, right: Int32 }
    struct Merge { let rank: Int32, merged: Int32 }

    /// Token string → id for the BPE vocabulary (added tokens not included).
    let vocabulary: [String: Int]
    /// id → token (vocabulary and added tokens).
    let tokens: [Int: String]
    let merges: [Pair: Merge]
    /// Vocabulary id of each byte's alphabet character (nil when the vocabulary lacks it: the byte is dropped, as
    /// `tokenizers` drops unknown symbols when there is no `unk_token`).
    let byteIDs: [Int32?]
    public let addedTokens: [AddedToken]
    let addedByFirstScalar: [UInt32: [(scalars: [Unicode.Scalar], token: AddedToken)]]
    let specialIDs: Set<Int>
    let normalizesNFC: Bool
    /// Where the tokenizer was read from (for errors).
    public let source: String

    /// Reads `tokenizer.json`.
    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TextError.invalidTokenizer(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(json: data, source: path)
    }

    /// Parses the bytes of a `tokenizer.json` (`source` names it in errors).
    public init(json data: Data, source: String = "tokenizer.json") throws {
        func fail(_ reason: String) -> TextError { .invalidTokenizer(path: source, reason: reason) }
        let file: TokenizerFile
        do {
            file = try JSONDecoder().decode(TokenizerFile.self, from: data)
        } catch let error as DecodingError {
            throw fail(Self.describe(error))
        } catch {
            throw fail("not valid JSON: \(error)")
        }
        let model = file.model
        guard model.type == "BPE" else { throw fail("model.type is '\(model.type)', only BPE is supported") }
        guard model.byteFallback != true else { throw fail("model.byte_fallback is not supported") }
        guard (model.continuingSubwordPrefix ?? "").isEmpty, (model.endOfWordSuffix ?? "").isEmpty else {
            throw fail("model.continuing_subword_prefix / end_of_word_suffix are not supported")
        }
        guard model.dropout == nil || model.dropout == 0 else { throw fail("model.dropout is not supported") }
        guard model.ignoreMerges != true else { throw fail("model.ignore_merges is not supported") }
        switch file.normalizer?.type {
        case nil: normalizesNFC = false
        case "NFC": normalizesNFC = true
        case let other?: throw fail("normalizer '\(other)' is not supported (only NFC or none)")
        }
        try Self.checkPreTokenizer(file.preTokenizer, fail: fail)
        if let decoder = file.decoder, decoder.type != "ByteLevel" {
            throw fail("decoder '\(decoder.type)' is not supported (only ByteLevel)")
        }

        vocabulary = model.vocab
        var tokens: [Int: String] = [:]
        tokens.reserveCapacity(model.vocab.count + file.addedTokens.count)
        for (token, id) in model.vocab {
            guard id >= 0 else { throw fail("model.vocab['\(token)'] has the negative id \(id)") }
            tokens[id] = token
        }
        var merges: [Pair: Merge] = [:]
        merges.reserveCapacity(model.merges.count)
        for (rank, merge) in model.merges.enumerated() {
            guard let left = model.vocab[merge.0], let right = model.vocab[merge.1],
                  let merged = model.vocab[merge.0 + merge.1] else {
                throw fail("model.merges[\(rank)] ('\(merge.0)' '\(merge.1)') joins tokens that are not in the vocabulary")
            }
            let pair = Pair(left: Int32(left), right: Int32(right))
            if merges[pair] == nil { merges[pair] = Merge(rank: Int32(rank), merged: Int32(merged)) }
        }
        self.merges = merges
        byteIDs = ByteLevelAlphabet.characters.map { model.vocab[String($0)].map(Int32.init) }

        var added: [AddedToken] = []
        var byFirst: [UInt32: [(scalars: [Unicode.Scalar], token: AddedToken)]] = [:]
        for (index, entry) in file.addedTokens.enumerated() {
            guard !entry.content.isEmpty, entry.id >= 0 else { throw fail("added_tokens[\(index)] is empty or has a negative id") }
            guard !entry.lstrip, !entry.rstrip, !entry.singleWord else {
                throw fail("added_tokens[\(index)] ('\(entry.content)') uses lstrip/rstrip/single_word, which are not supported")
            }
            let token = AddedToken(id: entry.id, content: entry.content, special: entry.special, normalized: entry.normalized)
            added.append(token)
            tokens[entry.id] = entry.content
            let scalars = Array(entry.content.unicodeScalars)
            byFirst[scalars[0].value, default: []].append((scalars, token))
        }
        addedTokens = added
        addedByFirstScalar = byFirst.mapValues { $0.sorted { $0.scalars.count > $1.scalars.count } }
        specialIDs = Set(added.filter(\.special).map(\.id))
        self.tokens = tokens
        self.source = source
    }

    /// Number of distinct ids (vocabulary and added tokens), `len(tokenizer)`.
    public var count: Int { tokens.count }

    /// The id of a token string (vocabulary or added token).
    public func id(of token: String) -> Int? {
        if let added = addedTokens.first(where: { $0.content == token }) { return added.id }
        return vocabulary[token]
    }

    /// The token string of `id`, nil when the id is unknown.
    public func token(of id: Int) -> String? { tokens[id] }

    /// Whether `id` is a special added token (dropped by `decode(_:skipSpecialTokens:)`).
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    // MARK: Encoding

    /// The ids of `text` (`tokenizer(text)["input_ids"]`; Qwen's tokenizer adds no BOS/EOS).
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in splitAddedTokens(Array(text.unicodeScalars), normalizedTokens: false) {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let scalars):
                let normalized = normalize(scalars)
                for inner in splitAddedTokens(normalized, normalizedTokens: true) {
                    switch inner {
                    case .token(let id): ids.append(id)
                    case .text(let piece):
                        for word in ByteLevelPreTokenizer.split(piece) { encodeWord(word, into: &ids) }
                    }
                }
            }
        }
        return ids
    }

    /// The pre-tokenisation of `text` (no added tokens): the pieces BPE sees, in the byte alphabet
    /// (`pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))`).
    public func preTokenize(_ text: String) -> [String] {
        ByteLevelPreTokenizer.split(normalize(Array(text.unicodeScalars))).map { word in
            String(String.UnicodeScalarView(Self.utf8(word).map { ByteLevelAlphabet.characters[Int($0)] }))
        }
    }

    enum Segment { case text([Unicode.Scalar]), token(Int) }

    /// Splits out added tokens (those with `normalized == normalizedTokens`), leftmost-longest.
    func splitAddedTokens(_ scalars: [Unicode.Scalar], normalizedTokens: Bool) -> [Segment] {
        guard !addedTokens.isEmpty else { return scalars.isEmpty ? [] : [.text(scalars)] }
        var segments: [Segment] = []
        var textStart = 0, i = 0
        outer: while i < scalars.count {
            if let candidates = addedByFirstScalar[scalars[i].value] {
                for (pattern, token) in candidates where token.normalized == normalizedTokens && i + pattern.count <= scalars.count {
                    var matches = true
                    for j in 1..<pattern.count where scalars[i + j] != pattern[j] { matches = false; break }
                    if matches {
                        if textStart < i { segments.append(.text(Array(scalars[textStart..<i]))) }
                        segments.append(.token(token.id))
                        i += pattern.count
                        textStart = i
                        continue outer
                    }
                }
            }
            i += 1
        }
        if textStart < scalars.count { segments.append(.text(Array(scalars[textStart...]))) }
        return segments
    }

    func normalize(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard normalizesNFC, scalars.contains(where: { $0.value >= 0x300 }) else { return scalars }
        let string = String(String.UnicodeScalarView(scalars))
        return Array(string.precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    static func utf8<S: Collection>(_ scalars: S) -> [UInt8] where S.Element == Unicode.Scalar {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count * 3)
        for scalar in scalars { bytes.append(contentsOf: UTF8.encode(scalar)!) }
        return bytes
    }

    /// BPE over one pre-token: byte symbols merged pair by pair, always the lowest-ranked pair present (leftmost on
    /// ties), as `tokenizers`' `Word::merge_all` does.
    func encodeWord(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
        var symbols = Self.utf8(word).compactMap { byteIDs[Int($0)] }
        while symbols.count > 1 {
            var best = -1
            var bestMerge = Merge(rank: .max, merged: 0)
            for i in 0..<(symbols.count - 1) {
                if let merge = merges[Pair(left: symbols[i], right: symbols[i + 1])], merge.rank < bestMerge.rank {
                    best = i
                    bestMerge = merge
                }
            }
            guard best >= 0 else { break }
            symbols[best] = bestMerge.merged
            symbols.remove(at: best + 1)
        }
        ids.append(contentsOf: symbols.map(Int.init))
    }

    // MARK: Decoding

    /// The text of `ids` (`tokenizer.decode(ids, skip_special_tokens:)` with `clean_up_tokenization_spaces=False`).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard let token = tokens[id] else { continue }
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            var tokenBytes: [UInt8] = []
            var mapped = true
            for scalar in token.unicodeScalars {
                guard let byte = ByteLevelAlphabet.byte(of: scalar) else { mapped = false; break }
                tokenBytes.append(byte)
            }
            bytes.append(contentsOf: mapped ? tokenBytes : Array(token.utf8))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Chat template

    /// The prompt Qwen3's chat template renders for a system and a user message with `add_generation_prompt=True`
    /// and `enable_thinking=False` (an empty think block), as IndexTTS2's `QwenEmotion.inference` applies it; contents are
    /// inserted verbatim, so added-token strings inside them become those tokens when encoded, as upstream.
    public static func qwen3ChatPrompt(system: String, user: String) -> String {
        "<|im_start|>system\n" + system + "<|im_end|>\n<|im_start|>user\n" + user
            + "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    }

    // MARK: File format

    static let qwen2SplitPattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func checkPreTokenizer(_ pre: PreTokenizerSpec?, fail: (String) -> TextError) throws {
        guard let pre, pre.type == "Sequence", let steps = pre.pretokenizers, steps.count == 2,
              steps[0].type == "Split", steps[1].type == "ByteLevel" else {
            throw fail("pre_tokenizer must be Sequence[Split(Qwen2 regex), ByteLevel(use_regex: false)]")
        }
        guard steps[0].pattern?.regex == qwen2SplitPattern, steps[0].behavior == "Isolated", steps[0].invert != true else {
            throw fail("pre_tokenizer.pretokenizers[0]: only Qwen2's split regex (behavior Isolated) is supported")
        }
        guard steps[1].useRegex == false, steps[1].addPrefixSpace != true else {
            throw fail("pre_tokenizer.pretokenizers[1]: ByteLevel must have use_regex false and add_prefix_space false")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        let (path, reason): ([any CodingKey], String)
        switch error {
        case .typeMismatch(let type, let c): (path, reason) = (c.codingPath, "expected \(type)")
        case .valueNotFound(let type, let c): (path, reason) = (c.codingPath, "missing \(type) value")
        case .keyNotFound(let key, let c): (path, reason) = (c.codingPath + [key], "missing")
        case .dataCorrupted(let c): (path, reason) = (c.codingPath, c.debugDescription)
        @unknown default: (path, reason) = ([], "\(error)")
        }
        let field = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return "field '\(field.isEmpty ? "-" : field)': \(reason)"
    }

    struct TokenizerFile: Decodable {
        let addedTokens: [AddedTokenEntry]
        let normalizer: TypeOnly?
        let preTokenizer: PreTokenizerSpec?
        let decoder: TypeOnly?
        let model: BPEModel

        enum CodingKeys: String, CodingKey {
            case addedTokens = "added_tokens", normalizer, preTokenizer = "pre_tokenizer", decoder, model
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            addedTokens = try c.decodeIfPresent([AddedTokenEntry].self, forKey: .addedTokens) ?? []
            normalizer = try c.decodeIfPresent(TypeOnly.self, forKey: .normalizer)
            preTokenizer = try c.decodeIfPresent(PreTokenizerSpec.self, forKey: .preTokenizer)
            self.decoder = try c.decodeIfPresent(TypeOnly.self, forKey: .decoder)
            model = try c.decode(BPEModel.self, forKey: .model)
        }
    }

    struct TypeOnly: Decodable { let type: String }

    struct AddedTokenEntry: Decodable {
        let id: Int
        let content: String
        let singleWord: Bool
        let lstrip: Bool
        let rstrip: Bool
        let normalized: Bool
        let special: Bool
        enum CodingKeys: String, CodingKey {
            case id, content, singleWord = "single_word", lstrip, rstrip, normalized, special
        }
    }

    struct PreTokenizerSpec: Decodable {
        struct Pattern: Decodable {
            let regex: String?
            enum CodingKeys: String, CodingKey { case regex = "Regex" }
        }
        let type: String
        let pretokenizers: [PreTokenizerSpec]?
        let pattern: Pattern?
        let behavior: String?
        let invert: Bool?
        let useRegex: Bool?
        let addPrefixSpace: Bool?
        enum CodingKeys: String, CodingKey {
            case type, pretokenizers, pattern, behavior, invert, useRegex = "use_regex", addPrefixSpace = "add_prefix_space"
        }
    }

    struct BPEModel: Decodable {
        let type: String
        let dropout: Double?
        let continuingSubwordPrefix: String?
        let endOfWordSuffix: String?
        let byteFallback: Bool?
        let ignoreMerges: Bool?
        let vocab: [String: Int]
        let merges: [(String, String)]

        enum CodingKeys: String, CodingKey {
            case type, dropout, continuingSubwordPrefix = "continuing_subword_prefix", endOfWordSuffix = "end_of_word_suffix"
            case byteFallback = "byte_fallback", ignoreMerges = "ignore_merges", vocab, merges
        }

        /// Merges are `"a b"` strings (files written by tokenizers < 0.20, as Qwen's) or `["a", "b"]` pairs.
        enum MergeEntry: Decodable {
            case pair(String, String)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let text = try? c.decode(String.self) {
                    let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2 else {
                        throw DecodingError.dataCorruptedError(in: c, debugDescription: "merge '\(text)' is not two tokens")
                    }
                    self = .pair(String(parts[0]), String(parts[1]))
                } else {
                    let pair = try c.decode([String].self)
                    guard pair.count == 2 else {
                        throw DecodingError.dataCorruptedError(in: c, debugDescription: "merge \(pair) is not two tokens")
                    }
                    self = .pair(pair[0], pair[1])
                }
            }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type) ?? "BPE"
            dropout = try c.decodeIfPresent(Double.self, forKey: .dropout)
            continuingSubwordPrefix = try c.decodeIfPresent(String.self, forKey: .continuingSubwordPrefix)
            endOfWordSuffix = try c.decodeIfPresent(String.self, forKey: .endOfWordSuffix)
            byteFallback = try c.decodeIfPresent(Bool.self, forKey: .byteFallback)
            ignoreMerges = try c.decodeIfPresent(Bool.self, forKey: .ignoreMerges)
            vocab = try c.decode([String: Int].self, forKey: .vocab)
            merges = try c.decode([MergeEntry].self, forKey: .merges).map { entry in
                switch entry { case .pair(let a, let b): return (a, b) }
            }
        }
    }
}

/// GPT-2's byte-to-character table (`bytes_to_unicode`): printable bytes map to themselves, the other 68 to
/// U+0100 onwards in byte order.
enum ByteLevelAlphabet {
    static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let bytes: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, c) in characters.enumerated() { map[c.value] = UInt8(b) }
        return map
    }()

    static func byte(of scalar: Unicode.Scalar) -> UInt8? { bytes[scalar.value] }
}

/// Qwen2's pre-tokenisation regex, run as Oniguruma runs it in `tokenizers` (`Split`, behaviour `Isolated`):
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N} | ␠?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
///
/// written out as a scanner over Unicode scalars: at each position the first alternative that matches wins, each
/// with its greedy/backtracking outcome; `\s` is the Unicode White_Space property, `\p{L}`/`\p{N}` the letter and
/// number categories.
enum ByteLevelPreTokenizer {
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
    static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }

    /// The pieces of `text` (every scalar lands in exactly one piece).
    static func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] { split(text) { match($0, at: $1) } }

    /// The pieces a scanner cuts: `match(text, i)` is the end (> i) of the piece starting at `i`.
    static func split(_ text: [Unicode.Scalar], match: ([Unicode.Scalar], Int) -> Int) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        var i = 0
        while i < text.count {
            let end = match(text, i)
            pieces.append(text[i..<end])
            i = end
        }
        return pieces
    }

    /// End of the match starting at `i` (always > i: the last alternative `\s+` or a single-scalar fallback).
    static func match(_ t: [Unicode.Scalar], at i: Int) -> Int {
        let n = t.count
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if t[i] == "'" && i + 1 < n {
            let a = lower(t[i + 1])
            if a == "s" || a == "t" || a == "m" || a == "d" { return i + 2 }
            if i + 2 < n {
                let b = lower(t[i + 2])
                if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return i + 3 }
            }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if !isNewline(t[i]) && !isLetter(t[i]) && !isNumber(t[i]) && i + 1 < n && isLetter(t[i + 1]) {
            var j = i + 2
            while j < n && isLetter(t[j]) { j += 1 }
            return j
        }
        if isLetter(t[i]) {
            var j = i + 1
            while j < n && isLetter(t[j]) { j += 1 }
            return j
        }
        // \p{N}
        if isNumber(t[i]) { return i + 1 }
        // ␠?[^\s\p{L}\p{N}]+[\r\n]*
        func isSymbol(_ s: Unicode.Scalar) -> Bool { !isSpace(s) && !isLetter(s) && !isNumber(s) }
        var start = i
        if t[i] == " " && i + 1 < n && isSymbol(t[i + 1]) { start = i + 1 }
        if isSymbol(t[start]) {
            var j = start + 1
            while j < n && isSymbol(t[j]) { j += 1 }
            while j < n && isNewline(t[j]) { j += 1 }
            return j
        }
        // The remaining alternatives start with whitespace.
        guard isSpace(t[i]) else { return i + 1 }
        var runEnd = i
        while runEnd < n && isSpace(t[runEnd]) { runEnd += 1 }
        // \s*[\r\n]+ : up to and including the last newline of the whitespace run
        if let last = (i..<runEnd).last(where: { isNewline(t[$0]) }) { return last + 1 }
        // \s+(?!\S) : the run, minus its last scalar when a non-space follows
        if runEnd == n { return runEnd }
        if runEnd - 1 > i { return runEnd - 1 }
        // \s+
        return runEnd
    }

    /// Case folding for the contraction letters (Oniguruma's case-insensitive match also folds ſ to s).
    static func lower(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s.value >= 65 && s.value <= 90 { return Unicode.Scalar(s.value + 32)! }
        if s == "\u{017F}" { return "s" }
        return s
    }
}
