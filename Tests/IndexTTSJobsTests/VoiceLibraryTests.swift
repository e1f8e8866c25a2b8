import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import Testing

/// Voice names cannot escape the library folder; clips are checked, analysed and stored; lookups resolve.
struct VoiceLibraryTests {
    static func library() -> VoiceLibrary {
        VoiceLibrary(root: FileManager.default.temporaryDirectory.appendingPathComponent("voices-\(UUID().uuidString)"),
                     reserved: ["baker", "alloy"])
    }

    /// A 2 s voiced clip: a 200 Hz harmonic tone with syllable-like gaps, as WAV bytes.
    static func clip(seconds: Double = 2, rate: Int = 16_000) throws -> [UInt8] {
        let n = Int(seconds * Double(rate))
        let samples = (0..<n).map { i -> Float in
            let t = Double(i) / Double(rate)
            let gate = sin(2 * Double.pi * 4 * t) > -0.3 ? 1.0 : 0.0
            return Float(gate * (0.3 * sin(2 * Double.pi * 200 * t) + 0.15 * sin(2 * Double.pi * 400 * t)))
        }
        return try AudioEncoder.encode(samples, sampleRate: rate, format: .wav)
    }

    @Test(arguments: ["../x", "..", ".hidden", "a/b", "", String(repeating: "a", count: 65), "-lead", "a b", "x\0y"])
    func rejectsNamesThatCouldEscapeOrConfuse(name: String) throws {
        #expect(!VoiceLibrary.isValidName(name))
        #expect(throws: VoiceLibraryError.invalidName(name)) { try Self.library().add(name: name, audio: try Self.clip(), fileName: "a.wav") }
        #expect(throws: VoiceLibraryError.invalidName(name)) { try Self.library().delete(name) }
    }

    @Test func storesAnalysesListsAndDeletes() throws {
        let library = Self.library()
        #expect(VoiceLibrary.isValidName("张三") && VoiceLibrary.isValidName("narrator_2-b"))
        let entry = try library.add(name: "张三", audio: try Self.clip(), fileName: "ref.wav", description: "test")
        #expect(abs(entry.seconds - 2) < 1e-3 && entry.sampleRate == 16_000 && entry.conditioning == nil && entry.pitchHz == nil)
        #expect(try library.entry("张三") == entry && library.contains("张三"))
        #expect(try library.list().map(\.name) == ["张三"])
        let stored = try AudioDecoder.decode(path: try library.referencePath("张三"))
        #expect(stored.sampleRate == 16_000 && abs(stored.duration - 2) < 1e-3)
        #expect(throws: VoiceLibraryError.alreadyExists("张三")) { try library.add(name: "张三", audio: try Self.clip(), fileName: "a.wav") }
        #expect(throws: VoiceLibraryError.reservedName("Alloy")) { try library.add(name: "Alloy", audio: try Self.clip(), fileName: "a.wav") }
        try library.delete("张三")
        #expect(try library.list().isEmpty && !library.contains("张三"))
        #expect(throws: VoiceLibraryError.notFound("张三")) { try library.entry("张三") }
    }

    @Test func rejectsClipsThatAreNotUsableSpeech() throws {
        let library = Self.library()
        #expect(throws: VoiceLibraryError.self) { try library.add(name: "noise", audio: Array("not audio".utf8), fileName: "x.wav") }
        #expect(throws: VoiceLibraryError.self) { try library.add(name: "short", audio: try Self.clip(seconds: 0.5), fileName: "x.wav") }
        #expect(try library.list().isEmpty)
    }

    @Test func resolverMapsBuiltInsAliasesAndLibraryVoices() throws {
        let library = Self.library()
        try library.add(name: "narrator", audio: try Self.clip(), fileName: "n.wav")
        let info = EngineInfo(id: "default", name: "d", sampleRate: 24_000, voices: ["baker"], licence: "", clonesTimbre: false)
        let resolver = RequestResolver(library: library, engine: info)
        #expect(try resolver.resolve(SpeechParameters(text: "a", voice: "alloy")).voice == "baker")
        #expect(try resolver.resolve(SpeechParameters(text: "a", voice: "BAKER")).voice == "baker")
        let narrated = try resolver.resolve(SpeechParameters(text: "a", voice: "narrator"))
        #expect(narrated.referenceAudio?.sampleRate == 16_000 && narrated.referenceProsody == nil && narrated.voice == nil)
        #expect(throws: SynthesisError.self) { try resolver.resolve(SpeechParameters(text: "a", voice: "ghost")) }
        let vector = try resolver.resolve(SpeechParameters(text: "a", emotionVector: [1, 0, 0, 0, 0, 0, 0, 0], emotionWeight: 0.5))
        #expect(vector.emotion == .vector([0.5, 0, 0, 0, 0, 0, 0, 0]))
    }
}
