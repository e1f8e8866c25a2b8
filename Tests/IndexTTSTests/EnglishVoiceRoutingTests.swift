import Foundation
@testable import IndexTTS
import IndexTTSTestSupport
import Testing

/// Language routing of the default engine: the sentence classifier (no files needed) and, with the English voice in
/// cache_hub and espeak-ng installed, which voice reads what, explicit `voice`, controls and bad input.
struct LanguageRoutingTests {
    @Test func sentencesAreRoutedByScript() {
        let runs = LanguageRouting.runs("你好，世界。Hello world, this is a test. How are you? 我喜欢iPhone和NBA。123。")
        #expect(runs.map(\.language) == [.mandarin, .english, .mandarin])
        #expect(runs[1].text == "Hello world, this is a test. How are you?")
        #expect(runs[2].text == " 我喜欢iPhone和NBA。123。")
        #expect(LanguageRouting.runs("The price is 3.5 dollars.").map(\.language) == [.english])
        #expect(LanguageRouting.runs("2024. Hello there.").map(\.language) == [.english])
        #expect(LanguageRouting.runs("2024。").map(\.language) == [.mandarin])
        #expect(LanguageRouting.runs("Café au lait, s'il vous plaît.").map(\.language) == [.english])
        #expect(LanguageRouting.runs("").isEmpty)
    }
}

/// Whether the English voice can run here (its files in cache_hub and espeak-ng installed).
enum EnglishVoiceFiles {
    static let cache = ModelCache(root: Fixtures.cache(""))
    static var available: Bool { cache.missingEnglishVoiceFiles() == nil && EnglishVoice.espeakProblem() == nil }
}

@Suite(.serialized, .enabled(if: EnglishVoiceFiles.available,
                             "needs the English voice in cache_hub (scripts/fetch-default-voice.sh) and espeak-ng"))
struct EnglishVoiceEngineTests {
    static let engine = Result { try DefaultVoiceEngine.load(cache: EnglishVoiceFiles.cache) }

    @Test func bothVoicesAreListedWithTheirLicences() throws {
        let engine = try Self.engine.get()
        #expect(engine.english != nil)
        #expect(engine.info.voices == ["auto", "baker", "joe"])
        #expect(engine.info.licence.contains("Databaker") && engine.info.licence.contains("en_US-joe-medium"))
    }

    @Test func englishGoesToTheEnglishVoiceAndChineseStaysMandarin() throws {
        let engine = try Self.engine.get()
        let english = try engine.synthesize(SynthesisRequest(text: "Hello world."))
        #expect(english.appliedControls["voices"] == "joe")
        #expect(english.audioSeconds > 0.4 && english.audioSeconds < 3)
        #expect(english.sampleRate == engine.info.sampleRate)
        #expect(english.timings.contains { $0.stage == "english_vits" })
        let mixedWords = try engine.synthesize(SynthesisRequest(text: "我喜欢NBA。"))
        #expect(mixedWords.appliedControls["voices"] == "baker")
        let both = try engine.synthesize(SynthesisRequest(text: "你好。Good morning."))
        #expect(both.appliedControls["voices"] == "baker,joe")
    }

    @Test func voicePicksOneExplicitlyAndSpeedScalesLength() throws {
        let engine = try Self.engine.get()
        let forced = try engine.synthesize(SynthesisRequest(text: "你好。", voice: "joe"))
        #expect(forced.appliedControls["voices"] == "joe")
        let mandarin = try engine.synthesize(SynthesisRequest(text: "Hello.", voice: "baker"))
        #expect(mandarin.appliedControls["voices"] == "baker")
        let slow = try engine.synthesize(SynthesisRequest(text: "Good morning everyone.", voice: "auto", speed: 0.8))
        let fast = try engine.synthesize(SynthesisRequest(text: "Good morning everyone.", voice: "auto", speed: 1.25))
        #expect(slow.appliedControls["english_length_scale"] == "1.250")
        #expect(fast.audioSeconds < slow.audioSeconds * 0.85)
        let seeded1 = try engine.synthesize(SynthesisRequest(text: "Good morning everyone.", seed: 5))
        let seeded2 = try engine.synthesize(SynthesisRequest(text: "Good morning everyone.", seed: 5))
        #expect(seeded1.samples == seeded2.samples)
        #expect(throws: SynthesisError.unknownVoice("alice", available: ["auto", "baker", "joe"])) {
            try engine.synthesize(SynthesisRequest(text: "Hello.", voice: "alice"))
        }
    }

    @Test func badEnglishInputIsHandled() throws {
        let engine = try Self.engine.get()
        #expect(throws: SynthesisError.emptyText) { try engine.synthesize(SynthesisRequest(text: "... ,,, ...", voice: "joe")) }
        let emoji = try engine.synthesize(SynthesisRequest(text: "Thanks 😀!"))
        #expect(emoji.audioSeconds > 0.2)
        // A long unpunctuated paragraph is cut into passes of at most maxIdsPerPass ids (front end only: fast).
        let english = try #require(engine.english)
        let long = String(repeating: "the cat sat on the mat and ", count: 60)
        let passes = try english.idSequences(long)
        #expect(passes.count > 3 && passes.allSatisfy { $0.count <= english.maxIdsPerPass })
    }
}
