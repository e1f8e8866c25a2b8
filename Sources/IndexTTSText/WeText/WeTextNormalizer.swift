import Foundation

/// WeTextProcessing's text normalisers (the `WeTextProcessing` package IndexTTS2 uses; Apache-2.0), run natively on
/// the grammars the package ships: its compiled tagger and verbalizer FSTs (`zh_tn_tagger.fst`, `en_tn_tagger.fst`,
/// `en_tn_verbalizer.fst`) in the optimised form WeTextProcessing searches them in, and the Chinese character tables.
/// `scripts/fetch-default-voice.sh` fetches the wheel and prepares that folder once
/// (`cache_hub/wetextprocessing-1.2.0-grammars/`, by `tools/text/prepare_wetext_grammars.py`).
///
/// A normaliser works as upstream's `Processor.normalize`: the tagger rewrites the text into classed tokens
/// (`cardinal { value: "一百" } char { value: "，" } …`, best path by ``StringRewriter``), the tokens are put in the
/// verbalizer's field order (``WeTextToken/reorder(_:_:)``), and the verbalizer turns them back into text.
///
/// English uses the shipped verbalizer FST. Chinese verbalizes natively: the shipped FST is compiled with
/// WeTextProcessing's defaults (erhua and interjections removed), while IndexTTS2 builds its normaliser with
/// `remove_erhua=False, remove_interjections=False`; its classes' verbalizers only join field values (fractions put
/// `分之` between denominator and numerator, rates put `每` first), so ``ChineseOptions`` reproduces either
/// configuration — the tests check the native verbalizer against the shipped FST under the defaults.
public struct WeTextNormalizer: Sendable {
    public enum Language: String, Codable, Sendable { case chinese = "zh", english = "en" }

    /// The switches of upstream's Chinese `Normalizer` that act in its verbalizer.
    public struct ChineseOptions: Codable, Equatable, Sendable {
        /// Drop the `儿` of erhua words (`这儿` → `这`).
        public var removeErhua: Bool
        /// Drop the interjections of the package's `blacklist.tsv` (`呃`, `啊`).
        public var removeInterjections: Bool
        /// Map full-width characters to half-width (`，` → `,`).
        public var fullToHalf: Bool

        public init(removeErhua: Bool, removeInterjections: Bool, fullToHalf: Bool = true) {
            self.removeErhua = removeErhua
            self.removeInterjections = removeInterjections
            self.fullToHalf = fullToHalf
        }

        /// As IndexTTS2 configures it: erhua and interjections kept.
        public static let indexTTS2 = ChineseOptions(removeErhua: false, removeInterjections: false)
        /// WeTextProcessing's own defaults (what the shipped `zh_tn_verbalizer.fst` was compiled with).
        public static let upstreamDefaults = ChineseOptions(removeErhua: true, removeInterjections: true)
    }

    enum Verbalizer: Sendable {
        case fst(StringRewriter)
        case chinese(ChineseVerbalizer)
    }

    public let language: Language
    let tagger: StringRewriter
    let verbalizer: Verbalizer

    /// The WeTextProcessing release whose grammars this reads.
    public static let packageVersion = "1.2.0"

    /// Loads the Chinese normaliser from the prepared grammar folder `directory`.
    /// - Throws: ``TextError/invalidGrammar(path:reason:)`` naming the missing or malformed file.
    public static func chinese(directory: String, options: ChineseOptions = .indexTTS2) throws -> WeTextNormalizer {
        let tagger = try StdVectorFST.load(path: file(directory, "zh_tn_tagger.fst"))
        let verbalizer = ChineseVerbalizer(options: options, fullToHalf: try readTable(file(directory, "fullwidth_to_halfwidth.tsv")),
                                           interjections: Set(try readTable(file(directory, "blacklist.tsv")).keys))
        return WeTextNormalizer(language: .chinese, tagger: StringRewriter(fst: tagger), verbalizer: .chinese(verbalizer))
    }

    /// Loads the English normaliser from the prepared grammar folder `directory`.
    /// - Throws: ``TextError/invalidGrammar(path:reason:)`` naming the missing or malformed file.
    public static func english(directory: String) throws -> WeTextNormalizer {
        let tagger = try StdVectorFST.load(path: file(directory, "en_tn_tagger.fst"))
        let verbalizer = try StdVectorFST.load(path: file(directory, "en_tn_verbalizer.fst"))
        return WeTextNormalizer(language: .english, tagger: StringRewriter(fst: tagger), verbalizer: .fst(StringRewriter(fst: verbalizer)))
    }

    /// `directory/name`, or an error saying how to prepare the folder when the file is not there.
    static func file(_ directory: String, _ name: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: path) else {
            throw TextError.invalidGrammar(path: path, reason: "missing; run scripts/fetch-default-voice.sh to prepare the grammars")
        }
        return path
    }

    /// A normaliser over grammars already loaded (the Chinese one verbalizes natively with `options`).
    public init(language: Language, tagger: StdVectorFST, verbalizer: StdVectorFST?, chineseOptions: ChineseOptions = .indexTTS2,
                fullToHalf: [Unicode.Scalar: String] = [:], interjections: Set<Unicode.Scalar> = []) {
        self.language = language
        self.tagger = StringRewriter(fst: tagger)
        if let verbalizer {
            self.verbalizer = .fst(StringRewriter(fst: verbalizer))
        } else {
            self.verbalizer = .chinese(ChineseVerbalizer(options: chineseOptions, fullToHalf: fullToHalf, interjections: interjections))
        }
    }

    init(language: Language, tagger: StringRewriter, verbalizer: Verbalizer) {
        self.language = language
        self.tagger = tagger
        self.verbalizer = verbalizer
    }

    /// The tagger's classed tokens for `text` (upstream's `tag`).
    /// - Throws: ``TextError/normalizationFailed(text:stage:)`` when the grammar has no reading for the text.
    public func tag(_ text: String) throws -> String {
        guard !text.isEmpty else { return "" }
        guard let tagged = tagger.rewrite(text) else { throw TextError.normalizationFailed(text: text, stage: "tagger") }
        return tagged
    }

    /// Upstream's `verbalize`: the tokens reordered, then read back as text.
    /// - Throws: ``TextError/normalizationFailed(text:stage:)`` when the verbalizer accepts no reading of the tokens.
    public func verbalize(_ tagged: String) throws -> String {
        guard !tagged.isEmpty else { return "" }
        switch verbalizer {
        case .fst(let rewriter):
            let reordered = WeTextToken.reorder(tagged, language == .chinese ? .chinese : .english)
            guard let text = rewriter.rewrite(reordered) else { throw TextError.normalizationFailed(text: tagged, stage: "verbalizer") }
            return text
        case .chinese(let native):
            return native.verbalize(tagged)
        }
    }

    /// Normalised text: numbers, dates, money, units, symbols… written out as they are read.
    public func normalize(_ text: String) throws -> String { try verbalize(tag(text)) }

    /// A tab-separated two-column table of single characters (`fullwidth_to_halfwidth.tsv`; a one-column list gives
    /// empty readings), as pynini's `string_file` reads it.
    static func readTable(_ path: String) throws -> [Unicode.Scalar: String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw TextError.invalidGrammar(path: path, reason: "missing or not UTF-8")
        }
        var table: [Unicode.Scalar: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard let key = columns.first, key.unicodeScalars.count == 1, let scalar = key.unicodeScalars.first else {
                throw TextError.invalidGrammar(path: path, reason: "line \(number + 1): expected one character in the first column")
            }
            table[scalar] = columns.count > 1 ? String(columns[1]) : ""
        }
        return table
    }
}

/// The Chinese verbalizer of WeTextProcessing, class by class, followed by its post-processing (interjection
/// removal, full-width → half-width), configurable as upstream's `Normalizer` is.
struct ChineseVerbalizer: Sendable {
    let options: WeTextNormalizer.ChineseOptions
    let fullToHalf: [Unicode.Scalar: String]
    let interjections: Set<Unicode.Scalar>
    /// No table entry is ASCII (true of the shipped tables), so pure-ASCII pieces can skip post-processing.
    let asciiUntouched: Bool

    init(options: WeTextNormalizer.ChineseOptions, fullToHalf: [Unicode.Scalar: String], interjections: Set<Unicode.Scalar>) {
        self.options = options
        self.fullToHalf = fullToHalf
        self.interjections = interjections
        asciiUntouched = !fullToHalf.keys.contains(where: \.isASCII) && !interjections.contains(where: \.isASCII)
    }

    /// The tagged text verbalized: each token's fields in the class's order (upstream's `TokenParser.reorder`;
    /// fields the order does not name are dropped), joined, then post-processed.
    func verbalize(_ tagged: String) -> String {
        var out = ""
        var tagged = tagged
        let orders = WeTextToken.Order.chinese.classes
        tagged.withUTF8 { bytes in
            WeTextToken.forEach(bytes: bytes) { name, fields in
                func value(_ key: String) -> String? { fields.first { $0.key == key }?.value }
                var piece = ""
                if name == "char" && fields.count == 1 {
                    piece = fields[0].value
                } else if name == "fraction" {
                    piece = (value("denominator") ?? "") + "分之" + (value("numerator") ?? "")
                } else if name == "measure", let denominator = value("denominator") {
                    piece = "每" + denominator + (value("numerator") ?? "")
                } else if name == "whitelist", let erhua = value("erhua") {
                    piece = options.removeErhua ? "" : erhua
                } else if let order = orders[name], value("preserve_order") != "true" {
                    for key in order { if let v = value(key) { piece += v } }
                } else if fields.count == 1 {
                    piece = fields[0].value
                } else {
                    for field in fields { piece += field.value }
                }
                out += postprocess(unescape(piece))
            }
        }
        return out
    }

    /// The tagger writes `"` as `\"` and `\` as `\\`; the verbalizer's SIGMA reads them back.
    func unescape(_ value: String) -> String {
        guard value.utf8.contains(UInt8(ascii: "\\")) else { return value }
        var out = String.UnicodeScalarView()
        var escaped = false
        for scalar in value.unicodeScalars {
            if !escaped && scalar == "\\" { escaped = true; continue }
            escaped = false
            out.append(scalar)
        }
        return String(out)
    }

    func postprocess(_ text: String) -> String {
        guard options.removeInterjections || options.fullToHalf else { return text }
        if asciiUntouched && text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if options.removeInterjections && interjections.contains(scalar) { continue }
            if options.fullToHalf, let half = fullToHalf[scalar] {
                out.append(contentsOf: half.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}

extension IndexTTSTextNormalizer {
    /// IndexTTS2's front end with WeTextProcessing's Chinese and English normalisers (as IndexTTS2 configures them)
    /// from the prepared grammar folder `directory` — the complete upstream pipeline. A text the grammars have no
    /// reading for (none is known: every character has a fallback class) passes through unnormalised.
    /// - Throws: ``TextError/invalidGrammar(path:reason:)`` when a grammar file is missing or malformed.
    /// - Parameter readings: ``ReadingMode/corrected`` (default) puts the reading layer in front of the grammars;
    ///   ``ReadingMode/upstream`` is IndexTTS2 byte for byte.
    public static func weText(directory: String, glossary: Glossary = Glossary(),
                              readings: ReadingMode = .corrected) throws -> IndexTTSTextNormalizer {
        let chinese = try WeTextNormalizer.chinese(directory: directory)
        let english = try WeTextNormalizer.english(directory: directory)
        return IndexTTSTextNormalizer(glossary: glossary, readings: readings,
                                      chinese: { (try? chinese.normalize($0)) ?? $0 },
                                      english: { (try? english.normalize($0)) ?? $0 })
    }
}
