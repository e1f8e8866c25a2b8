import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// The reading corpus (Tests/Fixtures/readings/zh.tsv, en.tsv): real-world sentences with the readings a careful native
/// speaker accepts, through the whole front end in corrected mode (reading layer + IndexTTS2's rules +
/// WeTextProcessing). Agreement is printed per language and class; every row must agree, so a class that breaks fails.
///
/// Comparison ignores what is not reading: punctuation and spacing (the punctuation map and the tokenizer own those),
/// letter case in English (the tokenizer upper-cases), hyphens between English words, the word "and" (said or not
/// inside numbers) and 幺 vs 一 in Chinese digit strings.
struct ReadingCorpusTests {
    struct Row {
        let line: Int
        let domain: String
        let cls: String
        let text: String
        let accepted: [String]
    }

    static func load(_ name: String) throws -> [Row] {
        let path = Fixtures.path("readings/\(name)")
        guard let data = FileManager.default.contents(atPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        var rows: [Row] = []
        for (i, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            #expect(columns.count == 4, "\(name):\(i + 1): expected domain, class, sentence, readings")
            guard columns.count == 4 else { continue }
            rows.append(Row(line: i + 1, domain: columns[0], cls: columns[1], text: columns[2],
                            accepted: columns[3].components(separatedBy: " | ")))
        }
        return rows
    }

    static func canonical(_ text: String, chinese: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let p = scalar.properties
            switch p.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                 .finalPunctuation, .otherPunctuation, .spaceSeparator, .lineSeparator, .paragraphSeparator:
                out += " "
                continue
            default:
                if p.isWhitespace || scalar == "-" || scalar == "\u{2019}" { out += " "; continue }
            }
            out.unicodeScalars.append(scalar)
        }
        if chinese {
            return out.replacingOccurrences(of: "幺", with: "一").filter { !$0.isWhitespace }
        }
        return out.lowercased().split(separator: " ").filter { $0 != "and" }.joined(separator: " ")
    }

    static let normalizer = Result { try IndexTTSTextNormalizer.weText(directory: Fixtures.cache("wetextprocessing-1.2.0-grammars")) }

    func check(_ file: String, chinese: Bool, minimum: Int) throws {
        let normalizer = try Self.normalizer.get()
        let rows = try Self.load(file)
        #expect(rows.count >= minimum, "\(file): \(rows.count) rows")
        var perClass: [String: (agree: Int, total: Int)] = [:]
        var failures: [String] = []
        for row in rows {
            let result = normalizer.normalizeExplained(row.text)
            let ours = Self.canonical(result.text, chinese: chinese)
            let ok = row.accepted.contains { Self.canonical($0, chinese: chinese) == ours }
            perClass[row.cls, default: (0, 0)].total += 1
            if ok { perClass[row.cls, default: (0, 0)].agree += 1 } else {
                failures.append("\(file):\(row.line) [\(row.cls)] \(row.text)\n    ours: \(result.text)\n    want: \(row.accepted.joined(separator: " | "))\n    rules: \(result.spans.map { "\($0.rule) \($0.original)→\($0.reading)" })")
            }
            if chinese == false {
                #expect(!result.text.unicodeScalars.contains { $0.properties.isIdeographic }, "Chinese inside an English reading: \(row.text)")
            }
        }
        for failure in failures { print(failure) }
        for (cls, counts) in perClass.sorted(by: { $0.key < $1.key }) {
            print(String(format: "readings %@ %-13@ %3d/%3d = %5.1f %%", file, cls as NSString, counts.agree, counts.total,
                         100 * Double(counts.agree) / Double(counts.total)))
        }
        let agree = perClass.values.map(\.agree).reduce(0, +)
        print("readings \(file): \(agree)/\(rows.count) rows agree")
        #expect(failures.isEmpty, "\(file): \(failures.count) rows disagree (printed above)")
    }

    @Test func chineseCorpusReadsAsPeopleSay() throws { try check("zh.tsv", chinese: true, minimum: 100) }
    @Test func englishCorpusReadsAsPeopleSay() throws { try check("en.tsv", chinese: false, minimum: 100) }

    /// The corpus must cover every class the issue names, in both languages where it applies.
    @Test func corpusCoversTheClasses() throws {
        let zh = Set(try Self.load("zh.tsv").map(\.cls)), en = Set(try Self.load("en.tsv").map(\.cls))
        for cls in ["grouping", "fraction", "time", "currency", "unit", "range", "digits", "year", "code", "email", "url", "version",
                    "ip", "decade", "roman", "ordinal", "score", "temperature"] {
            #expect(zh.contains(cls), "zh corpus lacks \(cls)")
            #expect(en.contains(cls), "en corpus lacks \(cls)")
        }
        #expect(en.contains("abbreviation"))
    }
}
