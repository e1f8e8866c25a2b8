import Foundation
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// The reading layer's contract: upstream mode is IndexTTS2 unchanged (the parity suites run it), corrected mode only
/// touches the spans its rules recognise, says which rule read each, and never puts Chinese inside English.
struct ReadingLayerTests {
    static let directory = Fixtures.cache("wetextprocessing-1.2.0-grammars")

    @Test func upstreamModeKeepsIndexTTS2sDefects() throws {
        let upstream = try IndexTTSTextNormalizer.weText(directory: Self.directory, readings: .upstream)
        // The rows as IndexTTS2 reads them today.
        #expect(upstream.normalize("大约1/4的人") == "大四分之约一的人")
        #expect(upstream.normalize("Gate BA123 is open.").contains("二十三"))
        #expect(upstream.normalizeExplained("大约1/4的人").spans.isEmpty)
    }

    @Test func correctedModeExplainsEachSpan() throws {
        let corrected = try IndexTTSTextNormalizer.weText(directory: Self.directory)
        #expect(corrected.readings == .corrected)
        let result = corrected.normalizeExplained("大约1/4的人，凌晨0:05下班")
        #expect(result.text == "大约四分之一的人,凌晨零点零五分下班")
        #expect(result.spans.map(\.rule) == ["zh.fraction", "zh.time"])
        #expect(result.spans.map(\.original) == ["1/4", "0:05"])
        #expect(result.spans.map(\.offset) == [2, 10])
        let english = corrected.normalizeExplained("Gate BA123 is open.")
        #expect(english.language == .en)
        #expect(english.text == "Gate B A one two three is open.")
    }

    /// Text with nothing the layer recognises reads exactly as upstream (the end-to-end fixture's sentence included).
    @Test func plainTextIsUntouched() throws {
        let corrected = try IndexTTSTextNormalizer.weText(directory: Self.directory)
        let upstream = try IndexTTSTextNormalizer.weText(directory: Self.directory, readings: .upstream)
        for text in ["今天气温23度，我们去公园散步吧！Let's go to the park.", "我今天买了3本书。", "He scored 101 points in 2019.",
                     "GPT-5 有 3 个版本，一读作 yi1。", "2024年5月1日起施行。",
                     "Meet me on 2002/01/28 at the park."] {
            #expect(corrected.normalize(text) == upstream.normalize(text), "\(text)")
        }
    }

    @Test func numberWordsAreRightAtTheEdges() {
        let layer = ReadingLayer.chinese
        #expect(layer.read("共10,005人").text == "共一万零五人")
        #expect(layer.read("共100,000,005人").text == "共一亿零五人")
        #expect(layer.read("共20,000人").text == "共两万人")
        #expect(layer.read("共110,000人").text == "共十一万人")
        #expect(ReadingLayer.english.read("It has 1,000,001 rows").text == "It has one million one rows")
        #expect(ReadingLayer.english.read("I paid $0.01.").text == "I paid one cent.")
    }

    /// A user still overrides any span: corrected mode speaks an inline annotation's reading (upstream keeps the
    /// annotation as written, as IndexTTS2 does), a glossary entry wins over the rules; both are listed as overrides.
    @Test func annotationsAndGlossaryOverrideReadings() throws {
        let glossary = try Glossary.parse(yaml: "D2817: 动车二八幺七\n")
        let corrected = try IndexTTSTextNormalizer.weText(directory: Self.directory, glossary: glossary)
        let upstream = try IndexTTSTextNormalizer.weText(directory: Self.directory, glossary: glossary, readings: .upstream)
        #expect(corrected.normalize("房间号是2305") == "房间号是二三零五")
        #expect(corrected.normalize("房间号是<2305|两千三百零五>") == "房间号是两千三百零五")
        #expect(upstream.normalize("房间号是<2305|两千三百零五>") == "房间号是<2305|两千三百零五>")
        // Tone-numbered pinyin readings are written as the pinyin rule writes them (j/q/x + u → v, upper case).
        #expect(corrected.normalize("银<行|hang2>和<句|ju4>子") == "银hang2和JV4子")
        #expect(corrected.normalize("车次D2817到站") == "车次动车二八幺七到站")

        let explained = corrected.normalizeExplained("车次D2817，房间<2305|两千三百零五>，d2817")
        #expect(explained.overrides.map(\.rule) == ["user.glossary", "user.annotation", "user.glossary"])
        #expect(explained.overrides.map(\.original) == ["D2817", "2305", "d2817"])
        #expect(explained.overrides.map(\.reading) == ["动车二八幺七", "两千三百零五", "动车二八幺七"])
        #expect(explained.overrides.map(\.offset) == [2, 10, 24])
        #expect(!explained.spans.contains { $0.original.contains("2305") || $0.original.contains("2817") })
        #expect(upstream.normalizeExplained("房间<2305|两千三百零五>").overrides.map(\.rule) == ["user.annotation"])
        #expect(IndexTTSTextNormalizer.annotationReading("<x|lv4 xing2>") == "lv4 XING2")
        #expect(IndexTTSTextNormalizer.annotationReading("<SQL|sequel>") == "sequel")
    }

    /// The default voice's front end: Chinese only, full-width punctuation kept, the same reading layer, annotations
    /// and glossary as IndexTTS2's in corrected mode; upstream mode is the grammars alone, as the voice read before.
    @Test func mandarinFrontEndReadsLikeIndexTTS2sCorrectedMode() throws {
        let options = WeTextNormalizer.ChineseOptions(removeErhua: false, removeInterjections: false, fullToHalf: false)
        let corrected = try MandarinFrontEnd.weText(directory: Self.directory, options: options)
        var upstream = corrected
        upstream.readings = .upstream
        let grammar = try WeTextNormalizer.chinese(directory: Self.directory, options: options)
        let text = "大约1/4的人，凌晨0:05下班。"
        let result = corrected.normalizeExplained(text)
        #expect(result.text == "大约四分之一的人，凌晨零点零五分下班。")
        #expect(result.spans.map(\.rule) == ["zh.fraction", "zh.time"] && result.language == .zh)
        #expect(upstream.normalize(text) == (try grammar.normalize(text)))
        #expect(upstream.normalizeExplained(text).spans.isEmpty)
        // Annotations speak their reading; pinyin (annotated or written) is kept from the grammars for the phonemizer.
        #expect(corrected.normalize("银<行|hang2>卡xuan4，房间号是2305") == "银hang2卡xuan4，房间号是二三零五")
        #expect(corrected.normalizeExplained("银<行|hang2>").overrides == [ReadingSpan(original: "行", reading: "hang2", rule: "user.annotation", offset: 1)])
        var withGlossary = corrected
        withGlossary.glossary = try Glossary.parse(yaml: "IndexTTS: 因戴克斯\n")
        #expect(withGlossary.normalize("IndexTTS很好") == "因戴克斯很好")
        #expect(withGlossary.normalizeExplained("用indextts").overrides.map(\.offset) == [1])
    }

    /// Corrected routing: letter-digit codes and version numbers are not tone-numbered pinyin; real pinyin still is.
    @Test func codesAreNotPinyin() {
        for text in ["Gate BA123 is open.", "Install v2.0.1 today.", "Seat a1 please"] where text != "Seat a1 please" {
            #expect(!IndexTTSTextNormalizer.isChinese(text, readings: .corrected), "\(text)")
            #expect(IndexTTSTextNormalizer.isChinese(text, readings: .upstream), "\(text)")
        }
        #expect(IndexTTSTextNormalizer.isChinese("read xuan4 here", readings: .corrected))
    }
}
