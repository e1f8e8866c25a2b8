import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSTensor
import IndexTTSText
import IndexTTSTestSupport
import Testing

/// The one request path from stored parameters to an engine: sampling and `use_random` reach the engine's request,
/// library voices carry the engine's stored conditioning (written once, re-analysed when stale, never failing a
/// request), and engines without built-in voices map names onto the library only.
struct EngineRequestPathTests {
    static func library(reserved: Set<String> = []) -> VoiceLibrary {
        VoiceLibrary(root: FileManager.default.temporaryDirectory.appendingPathComponent("voices-\(UUID().uuidString)"),
                     reserved: reserved)
    }

    static let sampling = SamplingParameters(doSample: false, topP: 0.5, topK: 7, temperature: 0.6, numBeams: 2,
                                             repetitionPenalty: 3, lengthPenalty: 0.5, maxMelTokens: 24, diffusionSteps: 4,
                                             inferenceCfgRate: 0.3, maxTextTokensPerSegment: 40, intervalSilence: 120)

    @Test func samplingAndUseRandomReachTheRequest() throws {
        let engine = RecordingEngine()
        let resolver = RequestResolver(library: Self.library(), engine: engine)
        let p = SpeechParameters(text: "一。", emotionVector: [1, 0, 0, 0, 0, 0, 0, 0], sampling: Self.sampling, useRandom: true)
        let request = try resolver.resolve(p)
        #expect(request.sampling == Self.sampling && request.emotionUseRandom)
        let plain = try resolver.resolve(SpeechParameters(text: "一。"))
        #expect(plain.sampling.isEmpty && !plain.emotionUseRandom)
    }

    /// `readings` travels from stored parameters (JSON `"readings": "upstream"`) to the engine's request.
    @Test func readingsReachTheRequest() throws {
        let resolver = RequestResolver(library: Self.library(), engine: RecordingEngine())
        var p = SpeechParameters(text: "大约1/4的人。")
        #expect(try resolver.resolve(p).readings == nil)
        p.readings = .upstream
        let json = try JSONEncoder().encode(p)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["readings"] as? String == "upstream")
        let decoded = try JSONDecoder().decode(SpeechParameters.self, from: json)
        #expect(try resolver.resolve(decoded).readings == .upstream)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SpeechParameters.self, from: Data(#"{"text": "x", "readings": "fancy"}"#.utf8))
        }
    }

    /// `lang` (IndexTTS-2.5) travels from stored parameters (JSON `"lang"`) and batch lines to the engine's request,
    /// and a malformed code is refused before anything runs.
    @Test func languageReachesTheRequest() throws {
        let resolver = RequestResolver(library: Self.library(), engine: RecordingEngine())
        var p = SpeechParameters(text: "¿Dónde está?")
        #expect(try resolver.resolve(p).language == nil)
        p.language = "es"
        let json = try JSONEncoder().encode(p)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["lang"] as? String == "es")
        let decoded = try JSONDecoder().decode(SpeechParameters.self, from: json)
        #expect(try resolver.resolve(decoded).language == "es")
        try decoded.validate(maxCharacters: 100)
        var upper = p
        upper.language = "ES"  // upstream lower-cases the code; so does the engine
        try upper.validate(maxCharacters: 100)
        for bad in ["", "e s", "en_US", "español", String(repeating: "a", count: 17)] {
            var wrong = p
            wrong.language = bad
            #expect(throws: SynthesisError.self, "\(bad)") { try wrong.validate(maxCharacters: 100) }
        }
        let line = try JSONDecoder().decode(BatchLine.self, from: Data(#"{"text": "hi", "lang": "en"}"#.utf8))
        #expect(line.lang == "en")
    }

    /// Stored parameters survive the queue's JSON with every sampling field and `use_random`.
    @Test func storedParametersKeepEverySamplingField() throws {
        let p = SpeechParameters(text: "一。", sampling: Self.sampling, useRandom: true)
        let json = try JSONEncoder().encode(p)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let sampling = try #require(object["sampling"] as? [String: Any])
        #expect(Set(sampling.keys) == Set(SamplingParameters.CodingKeys.allCases.map(\.rawValue)) && object["use_random"] as? Bool == true)
        #expect(try JSONDecoder().decode(SpeechParameters.self, from: json) == p)
    }

    @Test func theWorkerHandsSamplingToTheEngine() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString)")
        let queue = try SQLiteJobQueue(path: root.appendingPathComponent("jobs.sqlite").path)
        let engine = RecordingEngine()
        let library = VoiceLibrary(root: root.appendingPathComponent("voices"), reserved: [])
        try library.add(name: "narrator", audio: try VoiceLibraryTests.clip(), fileName: "n.wav", engine: engine)
        let resolver = RequestResolver(library: library, engine: engine)
        let jobs = try await queue.submit([(SpeechParameters(text: "你好。", voice: "narrator", sampling: Self.sampling, useRandom: true), nil)])
        var c = JobWorkerConfiguration(outputDirectory: root.appendingPathComponent("outputs"), workerID: "w")
        c.pollInterval = 0.05
        let worker = JobWorker(queue: queue, engine: engine, resolver: resolver, pool: SynthesisPool(width: 1), configuration: c)
        let task = Task { await worker.run() }
        var job = try await queue.job(id: jobs[0].id)
        for _ in 0..<200 where !job.state.isFinal {
            try await Task.sleep(for: .milliseconds(50))
            job = try await queue.job(id: jobs[0].id)
        }
        task.cancel()
        await task.value
        #expect(job.state == .succeeded, "\(job.error ?? "")")
        let seen = try #require(engine.synthesized.first)
        #expect(seen.sampling == Self.sampling && seen.emotionUseRandom)
        // The library voice arrived with its clip and the conditioning stored when it was added (no new analysis).
        #expect(seen.referenceAudio?.sampleRate == 16_000 && engine.analysisCount == 1)
        #expect(seen.voiceConditioning?.matches(engine: "recorder", model: "recorder-1") == true)
    }

    @Test func addingAVoiceStoresTheEnginesConditioning() throws {
        let library = Self.library()
        let engine = ToneEngine()
        let entry = try library.add(name: "narrator", audio: try VoiceLibraryTests.clip(), fileName: "n.wav", engine: engine)
        #expect(entry.conditioning == ["tone"])
        let stored = try VoiceConditioning.read(path: try library.conditioningPath("narrator", engine: "tone"))
        let seconds = try stored.tensor("clip").scalars[0]
        #expect(stored.matches(engine: "tone", model: "tone-1") && abs(seconds - 2) < 1e-3)
        #expect(library.conditioning("narrator", engine: "tone", model: "tone-1") != nil)
        #expect(library.conditioning("narrator", engine: "tone", model: "tone-2") == nil)  // other weights: stale

        // An engine that cannot store conditioning: the voice is kept without one.
        let plain = try library.add(name: "plain", audio: try VoiceLibraryTests.clip(), fileName: "p.wav",
                                    engine: RecordingEngine(analyses: false))
        #expect(plain.conditioning == nil && library.contains("plain"))
        // An engine that cannot use the clip at all refuses it.
        #expect(throws: VoiceLibraryError.self) {
            try library.add(name: "silent", audio: try AudioEncoder.encode([Float](repeating: 0.001, count: 32_000), sampleRate: 16_000, format: .wav),
                            fileName: "s.wav", engine: ToneEngineRefusingQuietClips())
        }
        #expect(!library.contains("silent"))
    }

    /// The default voice's prosody measurement is its conditioning: stored as `conditioning-default.safetensors`,
    /// described in the entry (pitch ≈ 200 Hz for the 200 Hz test clip), and read back into requests.
    @Test func theDefaultVoiceStoresItsProsodyAsConditioning() throws {
        let engine = try DefaultVoiceEngine.load(cache: ModelCache(root: Fixtures.cache("")))
        let library = Self.library(reserved: RequestResolver.reservedNames(for: engine.info))
        let entry = try library.add(name: "narrator", audio: try VoiceLibraryTests.clip(), fileName: "n.wav", engine: engine)
        #expect(entry.conditioning == ["default"] && abs((entry.pitchHz ?? 0) - 200) < 10, "\(entry)")
        let resolver = RequestResolver(library: library, engine: engine)
        let request = try resolver.resolve(SpeechParameters(text: "你好。", voice: "narrator"))
        let conditioning = try #require(request.voiceConditioning)
        #expect(conditioning.matches(engine: "default", model: engine.modelFingerprint) && request.referenceProsody == nil)
        let log2Pitch = try conditioning.tensor("prosody").scalars[0]
        #expect(abs(pow(2, Double(log2Pitch)) - (entry.pitchHz ?? 0)) < 1e-3)
        // The engine uses it: the stored measurement steers the pitch as a fresh measurement of the clip would.
        let stored = try engine.controls(for: request)
        var fresh = request
        fresh.voiceConditioning = nil
        let measured = try engine.controls(for: fresh)
        #expect(abs(stored.pitchShift - measured.pitchShift) < 1e-3 && stored.pitchShift != 0)
    }

    /// Voices written before conditionings existed (pitch fields in voice.json) still resolve with their prosody;
    /// their first request analyses the clip and stores the conditioning; the next one reuses it.
    @Test func legacyAndStaleVoicesAreAnalysedOnceThenReused() throws {
        let library = Self.library()
        try library.add(name: "old", audio: try VoiceLibraryTests.clip(), fileName: "o.wav")
        let folder = library.root.appendingPathComponent("old")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("voice.json"))) as? [String: Any])
        json["pitch_hz"] = 200.0; json["pitch_spread_octaves"] = 0.1; json["syllables_per_second"] = 4.0
        json["loudness_db"] = -20.0; json["voiced_seconds"] = 1.5
        try JSONSerialization.data(withJSONObject: json).write(to: folder.appendingPathComponent("voice.json"))
        let engine = RecordingEngine()
        let resolver = RequestResolver(library: library, engine: engine)
        let p = SpeechParameters(text: "一。", voice: "old")
        let resolved = try resolver.resolve(p)
        #expect(resolved.referenceProsody?.syllablesPerSecond == 4 && resolved.voiceConditioning == nil)

        let first = try resolver.prepare(p, engine: engine)
        #expect(engine.analysisCount == 1 && first.voiceConditioning?.matches(engine: "recorder", model: "recorder-1") == true)
        #expect(try library.entry("old").conditioning == ["recorder"])
        let second = try resolver.prepare(p, engine: engine)
        #expect(engine.analysisCount == 1 && second.voiceConditioning != nil)

        // New weights: the stored conditioning is stale, analysed again and replaced.
        let retrained = RecordingEngine(modelFingerprint: "recorder-2")
        let third = try RequestResolver(library: library, engine: retrained).prepare(p, engine: retrained)
        #expect(retrained.analysisCount == 1 && third.voiceConditioning?.model == "recorder-2")
        #expect(library.conditioning("old", engine: "recorder", model: "recorder-2") != nil)

        // An engine that cannot analyse: the request goes on with the clip alone.
        let unable = RecordingEngine(id: "unable", analyses: false)
        let fourth = try RequestResolver(library: library, engine: unable).prepare(p, engine: unable)
        #expect(fourth.voiceConditioning == nil && fourth.referenceAudio != nil)
        // A clip given with the request is never analysed into the library.
        let withClip = try resolver.prepare(SpeechParameters(text: "一。", voice: "old",
                                                             referenceAudioPath: try library.referencePath("old")), engine: retrained)
        #expect(withClip.voiceConditioning == nil && retrained.analysisCount == 1)
    }

    @Test func withoutBuiltInVoicesNamesMapOntoTheLibraryOnly() throws {
        let engine = RecordingEngine()
        let library = Self.library(reserved: RequestResolver.reservedNames(for: engine.info))
        let resolver = RequestResolver(library: library, engine: engine)
        #expect(resolver.aliases.isEmpty)
        // An empty library: OpenAI names are refused, saying how to add a voice.
        do {
            _ = try resolver.resolve(SpeechParameters(text: "一。", voice: "alloy"))
            Issue.record("an OpenAI name resolved without built-in voices or a library voice")
        } catch SynthesisError.invalidParameter(let name, let reason) {
            #expect(name == "voice" && reason.contains("library is empty"))
        }
        // OpenAI's names are free for library voices here, and other names list the library.
        try library.add(name: "alloy", audio: try VoiceLibraryTests.clip(), fileName: "a.wav")
        try library.add(name: "narrator", audio: try VoiceLibraryTests.clip(), fileName: "n.wav")
        #expect(try resolver.resolve(SpeechParameters(text: "一。", voice: "alloy")).referenceAudio != nil)
        #expect(throws: SynthesisError.unknownVoice("nova", available: ["alloy", "narrator"])) {
            try resolver.resolve(SpeechParameters(text: "一。", voice: "nova"))
        }
        // With built-in voices the aliases stay.
        let tone = RequestResolver(library: library, engine: ToneEngine())
        #expect(try tone.resolve(SpeechParameters(text: "一。", voice: "nova")).voice == "tone")
        #expect(RequestResolver.reservedNames(for: ToneEngine().info).contains("nova"))
        #expect(!RequestResolver.reservedNames(for: engine.info).contains("nova"))
    }
}

/// The tone engine, but refusing clips it cannot hear (as the default voice refuses unvoiced ones).
struct ToneEngineRefusingQuietClips: SpeechEngine {
    let tone = ToneEngine()
    var info: EngineInfo { tone.info }
    var modelFingerprint: String { tone.modelFingerprint }
    func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
        guard (samples.map(abs).max() ?? 0) > 0.01 else {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "no speech")
        }
        return try tone.analyzeVoice(samples: samples, sampleRate: sampleRate)
    }
    func validate(_ request: SynthesisRequest) throws { try tone.validate(request) }
    func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
        try tone.synthesize(request, progress: progress)
    }
    func preview(_ text: String) -> TextPreview { tone.preview(text) }
}
