import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// The native OpenFst runtime against pynini on tiny grammars built for the purpose (tools/fixtures/generate_wetext.py):
/// ties on weighted and unweighted lattices, negative weights, unsorted arcs, insertions/deletions, multi-byte
/// characters and inputs with no path must all come out exactly as `shortestpath(escape(input) @ fst).string()`.
struct StringRewriterTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let fst: String; let input: String; let output: String? }
        let cases: [Case]
    }

    @Test func rewritesMatchPyniniExactly() throws {
        let fixture = try Fixtures.json("text/fst_rewrites.json", as: Fixture.self)
        #expect(fixture.cases.count >= 30)
        var rewriters: [String: StringRewriter] = [:]
        for c in fixture.cases {
            if rewriters[c.fst] == nil {
                rewriters[c.fst] = StringRewriter(fst: try StdVectorFST.load(path: Fixtures.path("text/fst/\(c.fst).fst")))
            }
            #expect(rewriters[c.fst]!.rewrite(c.input) == c.output, "\(c.fst): \(c.input.debugDescription)")
        }
        // The fixture covers both arc layouts and both search disciplines.
        #expect(rewriters["unsorted"]?.fst.isInputSorted == false)
        #expect(fixture.cases.contains { $0.output == nil })
    }

    @Test func readsArcsAsWritten() throws {
        let fst = try StdVectorFST.load(path: Fixtures.path("text/fst/unsorted.fst"))
        #expect(fst.stateCount == 3 && fst.arcCount == 6 && fst.start == 0)
        #expect(fst.arcs(0).map(\.output) == [66, 88, 89])  // B, X, Y in file order
        #expect(fst.finalWeight(2) == 0 && fst.finalWeight(0) == .infinity)
    }

    @Test func malformedFilesAreNamed() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("text/fst/negative.fst")))
        func reason(_ data: Data) -> String? {
            do { _ = try StdVectorFST(data: data); return nil } catch let TextError.invalidGrammar(_, reason) { return reason } catch { return "\(error)" }
        }
        #expect(reason(good) == nil)
        #expect(reason(Data()) ?? "" == "not an OpenFst binary file (bad magic number)")
        #expect(reason(Data("hello world, not an fst".utf8))?.contains("bad magic") == true)
        #expect(reason(good.prefix(good.count - 7))?.contains("truncated") == true)
        var otherType = good
        otherType.replaceSubrange(8..<14, with: Data("ve_tor".utf8))
        #expect(reason(otherType)?.contains("\"ve_tor\" is not supported") == true)
        var badArc = good
        // The last arc's next state (the file's last four bytes) points outside the FST.
        badArc.replaceSubrange((badArc.count - 4)..<badArc.count, with: Data([0xFF, 0xFF, 0x00, 0x00]))
        #expect(reason(badArc)?.contains("outside") == true)
        #expect(throws: TextError.self) { try StdVectorFST.load(path: "/nonexistent/zh_tn_tagger.fst") }
        #expect(throws: TextError.self) { try WeTextNormalizer.chinese(directory: "/nonexistent") }
    }
}

/// The Chinese verbalizer runs natively (IndexTTS2 needs switches the shipped FST was not compiled with); with
/// WeTextProcessing's defaults it must equal the shipped `zh_tn_verbalizer.fst` (run by the same runtime) on the
/// tagged form of every zh corpus line, and IndexTTS2's switches must keep what the defaults drop.
struct ChineseVerbalizerTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let language: String; let text: String }
        let cases: [Case]
    }

    static let directory = Fixtures.cache("wetextprocessing-1.2.0-grammars")

    @Test func nativeVerbalizerEqualsTheShippedFSTUnderUpstreamDefaults() throws {
        let tagger = try StdVectorFST.load(path: Self.directory + "/zh_tn_tagger.fst")
        let shipped = WeTextNormalizer(language: .chinese, tagger: tagger,
                                       verbalizer: try StdVectorFST.load(path: Self.directory + "/zh_tn_verbalizer.fst"))
        let native = try WeTextNormalizer.chinese(directory: Self.directory, options: .upstreamDefaults)
        let lines = try Fixtures.json("text/tn_expected.json", as: Fixture.self).cases.filter { $0.language == "zh" }.map(\.text)
        #expect(lines.count >= 190)
        for line in lines + ["这儿啊，那儿呢", "呃……一点儿"] {
            let tagged = try native.tag(line)
            #expect(try native.verbalize(tagged) == shipped.verbalize(tagged), "\(line)")
        }
    }

    @Test func indexTTS2KeepsErhuaAndInterjections() throws {
        let indexTTS2 = try WeTextNormalizer.chinese(directory: Self.directory)
        let defaults = try WeTextNormalizer.chinese(directory: Self.directory, options: .upstreamDefaults)
        let halfWidthKept = try WeTextNormalizer.chinese(
            directory: Self.directory, options: .init(removeErhua: false, removeInterjections: false, fullToHalf: false))
        #expect(try indexTTS2.normalize("啊，这儿有2个。") == "啊,这儿有两个.")
        #expect(try defaults.normalize("啊，这儿有2个。") == ",这有两个.")
        #expect(try halfWidthKept.normalize("啊，这儿有2个。") == "啊，这儿有两个。")
    }
}

/// Long inputs are searched in windows (the settled prefix committed at a cut); that must never change a result.
struct StringRewriterWindowTests {
    struct Fixture: Decodable {
        struct Case: Decodable { let language: String; let text: String }
        let cases: [Case]
    }

    static let directory = Fixtures.cache("wetextprocessing-1.2.0-grammars")

    @Test func tinyGrammarsGiveTheSameRewritesInTinyWindows() throws {
        let fixture = try Fixtures.json("text/fst_rewrites.json", as: StringRewriterTests.Fixture.self)
        for c in fixture.cases {
            let fst = try StdVectorFST.load(path: Fixtures.path("text/fst/\(c.fst).fst"))
            #expect(StringRewriter(fst: fst, windowNodes: 16).rewrite(c.input + c.input) == StringRewriter(fst: fst).rewrite(c.input + c.input),
                    "\(c.fst): \(c.input.debugDescription)")
        }
    }

    @Test(arguments: ["zh", "en"])
    func taggersGiveTheSameReadingsInSmallWindows(language: String) throws {
        let lines = try Fixtures.json("text/tn_expected.json", as: Fixture.self).cases.filter { $0.language == language }.map(\.text)
        let fst = try StdVectorFST.load(path: Self.directory + "/\(language)_tn_tagger.fst")
        let whole = StringRewriter(fst: fst), windowed = StringRewriter(fst: fst, windowNodes: 64)
        // Every line, then the corpus as one text (a chapter), so that windows fall everywhere.
        for line in lines { #expect(windowed.rewrite(line) == whole.rewrite(line), "\(line)") }
        let chapter = lines.joined(separator: language == "zh" ? "" : " ")
        let expected = whole.rewrite(chapter)
        #expect(expected != nil)
        #expect(windowed.rewrite(chapter) == expected)
        #expect(StringRewriter(fst: fst, windowNodes: 4096).rewrite(chapter) == expected)
    }
}

struct StringRewriterEdgeTests {
    @Test func upstreamTokenParserKeepsRepeatedKeys() {
        // Upstream's Token keeps an order list and a dict: a repeated key is written once per occurrence, with the last value.
        #expect(WeTextToken.reorder(#"char { value: "a" value: "b" }"#, .chinese) == #"char { value: "b" value: "b" }"#)
        #expect(WeTextToken.reorder(#"date { day: "一日" year: "二零二四年" month: "五月" }"#, .chinese)
                == #"date { year: "二零二四年" month: "五月" day: "一日" }"#)
    }

    @Test func nulBytesReadAsNothingAndHugeWindowsDoNotOverflow() throws {
        let fst = try StdVectorFST.load(path: Fixtures.path("text/fst/negative.fst"))
        #expect(StringRewriter(fst: fst).rewrite("1\u{0}2") == StringRewriter(fst: fst).rewrite("12"))
        #expect(StringRewriter(fst: fst, windowNodes: .max).rewrite("12 x") == StringRewriter(fst: fst).rewrite("12 x"))
    }
}
