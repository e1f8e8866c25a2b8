import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSText

/// `indextts text …`: preview how a text will be read before synthesising it.
struct TextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text", abstract: "Preview the text front end: pinyin and phones, BPE tokens, segments.",
        subcommands: [Normalize.self, Pinyin.self, Tokenize.self, Segments.self])

    /// Text from `--text`, `--text-file` or standard input.
    struct Input: ParsableArguments {
        @Option(name: .shortAndLong, help: "The text.") var text: String?
        @Option(help: "Read the text from a UTF-8 file.") var textFile: String?

        func read() throws -> String {
            if let text { return text }
            if let textFile {
                guard let data = FileManager.default.contents(atPath: textFile), let s = String(data: data, encoding: .utf8) else {
                    throw ValidationError("cannot read UTF-8 text from \(textFile)")
                }
                return s
            }
            var lines: [String] = []
            while let line = readLine(strippingNewline: false) { lines.append(line) }
            guard !lines.isEmpty else { throw ValidationError("give --text, --text-file, or text on standard input") }
            return lines.joined()
        }
    }

    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    struct Normalize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "IndexTTS2's front end: language routing, glossary, protected terms/pinyin/names, the reading layer, "
                + "WeTextProcessing normalisation, punctuation map.",
            discussion: """
                Numbers, dates, times, money, units and symbols are read by WeTextProcessing 1.2.0's grammars (zh and en, \
                as IndexTTS2 configures them), run natively from the model cache (scripts/fetch-default-voice.sh prepares \
                them). With --readings corrected (the default) a reading layer first reads what those grammars and \
                IndexTTS2's rules get wrong — grouped numbers, fractions, clock times, currencies, unit symbols, ranges, \
                digit strings, codes, decades, Roman numerals, abbreviations — the way people say them; --readings \
                upstream is IndexTTS2 byte for byte. --explain shows which rule read each span, and the user's overrides: \
                a <字|读音> annotation (corrected mode speaks its reading; upstream keeps it as written) or a --glossary \
                term. Tone-numbered pinyin (xuan4) passes through. --tags shows how WeTextProcessing classified each span.
                """)
        @OptionGroup var input: Input
        @Option(help: "Glossary YAML (term: reading, or term: {zh: …, en: …}), as IndexTTS2's checkpoints/glossary.yaml.")
        var glossary: String?
        @Option(help: "Model cache folder holding the text grammars (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?
        @Option(help: "How numbers, symbols and abbreviations are read: corrected (default) or upstream (IndexTTS2 byte for byte).")
        var readings = ReadingMode.corrected.rawValue
        @Flag(help: "Show which reading rule read each span (the rest is read by WeTextProcessing).") var explain = false
        @Flag(help: "Also print WeTextProcessing's classified tokens (cardinal, date, money, …).") var tags = false
        @Flag(help: "Print JSON.") var json = false
        struct Output: Encodable {
            let text: String; let language: String; let readings: String; let normalized: String; let spans: [ReadingSpan]?
            let overrides: [ReadingSpan]?; let tags: String?
        }

        func validate() throws {
            guard ReadingMode(rawValue: readings) != nil else {
                throw ValidationError("--readings must be one of: \(ReadingMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let text = try input.read().trimmingCharacters(in: .whitespacesAndNewlines)
            let mode = ReadingMode(rawValue: readings) ?? .corrected
            let directory = ModelCache(root: cache).textGrammars.path
            let normalizer = try IndexTTSTextNormalizer.weText(directory: directory, glossary: try glossary.map(Glossary.load(path:)) ?? Glossary(),
                                                               readings: mode)
            let result = normalizer.normalizeExplained(text)
            let chinese = result.language == .zh
            var tagged: String?
            if tags {
                let grammar = try chinese ? WeTextNormalizer.chinese(directory: directory) : WeTextNormalizer.english(directory: directory)
                tagged = try grammar.tag(text)
            }
            let output = Output(text: text, language: chinese ? "zh" : "en", readings: mode.rawValue, normalized: result.text,
                                spans: explain ? result.spans : nil, overrides: explain ? result.overrides : nil, tags: tagged)
            if json { return try TextCommand.printJSON(output) }
            if let tagged { print("tags: \(tagged)") }
            if explain {
                print("language: \(output.language), readings: \(mode.rawValue)")
                for span in result.overrides {
                    print("  [\(span.rule)] @\(span.offset) \(span.original.debugDescription) → \(span.reading.debugDescription) (your override)")
                }
                if mode == .upstream {
                    print("  (upstream mode: no reading rules; everything read by IndexTTS2's rules and WeTextProcessing)")
                } else if result.spans.isEmpty {
                    print("  (no span matched a reading rule; everything read by IndexTTS2's rules and WeTextProcessing)")
                }
                for span in result.spans {
                    print("  [\(span.rule)] @\(span.offset) \(span.original.debugDescription) → \(span.reading.debugDescription)")
                }
            }
            print(output.normalized)
        }
    }

    struct Pinyin: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mandarin readings (pypinyin rules, tone digits, 5 = neutral) and the default voice's phones.")
        @OptionGroup var input: Input
        @Option(help: "Model cache folder (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?
        @Flag(help: "Drop Latin letters and digits as the reference processor does, instead of spelling them.")
        var referenceMode = false
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable {
            let text: String
            let pinyin: [String]
            let phones: [String]
            let ids: [Int]
            let unread: [String]
        }

        func run() throws {
            let paths = ModelCache(root: cache)
            let dictionary = try PinyinDictionary.load(directory: paths.pinyinDictionary.path)
            let lexicon = try BakerLexicon.load(mapperPath: paths.bakerMapper.path)
            let g2p = BakerPhonemizer(converter: PinyinConverter(dictionary: dictionary), lexicon: lexicon,
                                      options: .init(spellLatin: !referenceMode))
            let text = try input.read().trimmingCharacters(in: .whitespacesAndNewlines)
            let result = g2p.phonemize(text)
            let output = Output(text: text, pinyin: result.readings.compactMap(\.pinyin), phones: result.phones,
                                ids: try lexicon.ids(result.phones), unread: result.unread.map { String($0) })
            if json { return try TextCommand.printJSON(output) }
            print("pinyin: \(output.pinyin.joined(separator: " "))")
            print("phones: \(output.phones.joined(separator: " "))")
            if !output.unread.isEmpty { print("unread: \(output.unread.joined(separator: " "))") }
        }
    }

    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "IndexTTS2 BPE tokens (CJK split, upper-cased) and ids.")
        @OptionGroup var input: Input
        @Option(help: "SentencePiece model (IndexTTS2's bpe.model).") var bpe = "checkpoints/bpe.model"
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable { let pieces: [String]; let ids: [Int] }

        func run() throws {
            let tokenizer = try IndexTTSTokenizer(modelPath: bpe)
            let text = try input.read()
            let output = Output(pieces: tokenizer.tokenize(text), ids: tokenizer.encode(text))
            if json { return try TextCommand.printJSON(output) }
            print("\(output.pieces.count) tokens")
            print(zip(output.pieces, output.ids).map { "\($0)(\($1))" }.joined(separator: " "))
        }
    }

    struct Segments: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "How long text is split for synthesis (IndexTTS2 rules).")
        @OptionGroup var input: Input
        @Option(help: "SentencePiece model (IndexTTS2's bpe.model).") var bpe = "checkpoints/bpe.model"
        @Option(help: "Most BPE tokens per segment.") var maxTokens = 120
        @Flag(help: "Print JSON.") var json = false

        struct Segment: Encodable { let index: Int; let tokens: Int; let text: String }

        func run() throws {
            let tokenizer = try IndexTTSTokenizer(modelPath: bpe)
            let pieces = tokenizer.tokenize(try input.read())
            let segments = try TextSegmenter(maxTokensPerSegment: maxTokens).split(pieces).enumerated().map { i, tokens in
                Segment(index: i, tokens: tokens.count,
                        text: tokens.joined().replacingOccurrences(of: "▁", with: " ").trimmingCharacters(in: .whitespaces))
            }
            if json { return try TextCommand.printJSON(segments) }
            for s in segments { print("[\(s.index)] \(s.tokens) tokens: \(s.text)") }
        }
    }
}
