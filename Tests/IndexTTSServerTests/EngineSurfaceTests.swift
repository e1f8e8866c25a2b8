import Foundation
import HTTPTypes
import HummingbirdTesting
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSServer
import IndexTTSTestSupport
import Testing

/// Every HTTP surface hands the whole request to the engine: sampling fields and `use_random` (JSON, multipart and
/// jobs), library voices with their stored conditioning, OpenAI voice names mapped onto the library when the engine
/// has no built-in voices; `/healthz`, `/v1/models` and the WebUI say which engine speaks and why.
struct EngineSurfaceTests {
    static let sampling = SamplingParameters(doSample: false, topP: 0.5, topK: 7, temperature: 0.6, numBeams: 2,
                                             repetitionPenalty: 3, lengthPenalty: 0.5, maxMelTokens: 24, diffusionSteps: 4,
                                             inferenceCfgRate: 0.3, maxTextTokensPerSegment: 40, intervalSilence: 120)
    /// The same settings as form fields / JSON values, by upstream name.
    static let fields: [(String, String)] = [
        ("do_sample", "false"), ("top_p", "0.5"), ("top_k", "7"), ("temperature", "0.6"), ("num_beams", "2"),
        ("repetition_penalty", "3"), ("length_penalty", "0.5"), ("max_mel_tokens", "24"), ("diffusion_steps", "4"),
        ("inference_cfg_rate", "0.3"), ("max_text_tokens_per_segment", "40"), ("interval_silence", "120"),
    ]

    @Test func everySamplingFieldReachesTheEngine() async throws {
        #expect(Set(Self.fields.map(\.0)) == Set(SamplingParameters.CodingKeys.allCases.map(\.rawValue)))
        let engine = RecordingEngine()
        let rig = try TestServer(engine: engine)
        try await rig.run { client in
            // multipart/form-data with a clip
            let form = try await client.postMultipart("/v1/tts", fields: [("text", "一二。"), ("emo_vector", "1,0,0,0,0,0,0,0"),
                                                                         ("use_random", "true")] + Self.fields,
                                                      files: [("spk_audio_prompt", "ref.wav", try referenceClip())])
            #expect(form.status == .ok, "\(form.text)")
            #expect(form.header("X-IndexTTS-Ignored") == nil)  // this engine has a sampler
            // JSON with a library voice
            let added = try await client.postMultipart("/v1/voices", fields: [("name", "narrator")], files: [("audio", "n.wav", try referenceClip())])
            #expect(added.status == .created, "\(added.text)")
            let body: [String: Any] = [
                "text": "一二。", "voice": "narrator", "use_random": true, "do_sample": false, "top_p": 0.5, "top_k": 7,
                "temperature": 0.6, "num_beams": 2, "repetition_penalty": 3, "length_penalty": 0.5, "max_mel_tokens": 24,
                "diffusion_steps": 4, "inference_cfg_rate": 0.3, "max_text_tokens_per_segment": 40, "interval_silence": 120,
            ]
            let json = try await client.postJSON("/v1/tts", body)
            #expect(json.status == .ok, "\(json.text)")
            // A job, through the queue and the worker
            let job = try await client.postJSON("/v1/jobs", body).json()
            let id = try #require(job["id"] as? String)
            var state = ""
            for _ in 0..<200 {
                state = try await client.get("/v1/jobs/\(id)").json()["state"] as? String ?? ""
                if state == "succeeded" || state == "failed" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(state == "succeeded")
        }
        let seen = engine.synthesized
        #expect(seen.count == 3)
        for request in seen {
            #expect(request.sampling == Self.sampling && request.emotionUseRandom && request.referenceAudio?.sampleRate == 16_000)
        }
        // The library voice came with its stored conditioning (analysed once, when it was added).
        #expect(seen[1].voiceConditioning?.matches(engine: "recorder", model: "recorder-1") == true && seen[2].voiceConditioning != nil)
        #expect(seen[0].voiceConditioning == nil && engine.analysisCount == 1)
    }

    @Test func openAIVoicesMapOntoTheLibraryWithoutBuiltInVoices() async throws {
        let engine = RecordingEngine()
        let rig = try TestServer(engine: engine)
        try await rig.run { client in
            let empty = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "voice": "alloy", "response_format": "wav"])
            #expect(empty.status == .badRequest && empty.errorParam == "voice" && empty.text.contains("library is empty"), "\(empty.text)")
            // OpenAI's names are library names here: a voice saved as "alloy" answers to it.
            for name in ["alloy", "narrator"] {
                let added = try await client.postMultipart("/v1/voices", fields: [("name", name)], files: [("audio", "a.wav", try referenceClip())])
                #expect(added.status == .created, "\(added.text)")
            }
            let spoken = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "voice": "alloy", "response_format": "wav"])
            #expect(spoken.status == .ok, "\(spoken.text)")
            let unknown = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "voice": "nova"])
            #expect(unknown.status == .badRequest && unknown.text.contains("alloy, narrator"), "\(unknown.text)")
            let voices = try await client.get("/v1/voices").json()["data"] as? [[String: Any]] ?? []
            #expect(voices.map { $0["type"] as? String } == ["library", "library"])
        }
        #expect(engine.synthesized.count == 1 && engine.synthesized[0].referenceAudio != nil
                && engine.synthesized[0].voiceConditioning != nil)
    }

    @Test func healthModelsAndTheWebUISayWhichEngineSpeaks() async throws {
        let selection = EngineSelection(choice: .auto, engine: "tone", reason: "default voice: /x/checkpoints is absent",
                                        modelDirectory: "/x/checkpoints", modelDirectoryOrigin: .workingDirectory, cache: "/x/cache_hub")
        let rig = try TestServer(configure: { $0.engineSelection = selection })
        try await rig.run { client in
            let health = try await client.get("/healthz").json()
            let chosen = try #require(health["engine_selection"] as? [String: Any])
            #expect(chosen["reason"] as? String == selection.reason && chosen["engine"] as? String == "tone"
                    && chosen["choice"] as? String == "auto" && chosen["model_dir"] as? String == "/x/checkpoints")
            let models = try await client.get("/v1/models").json()["data"] as? [[String: Any]] ?? []
            #expect(!models.isEmpty && models.allSatisfy { $0["engine"] as? String == "tone" && $0["reason"] as? String == selection.reason })

            // The page shows the engine's name, id and reason, and offers every IndexTTS2 setting by its upstream
            // name when the engine is IndexTTS2.
            let html = try await client.get("/").text
            let js = try await client.get("/ui/app.js").text
            for id in ["engine-name", "engine-reason", "sampling-fields", "use-random", "clone-note"] {
                #expect(html.contains("id=\"\(id)\""), "\(id)")
            }
            #expect(js.contains("engine_selection") && js.contains("selection.reason") && js.contains("engine.id === \"indextts2\""))
            for key in SamplingParameters.CodingKeys.allCases.map(\.rawValue) {
                let id = key.replacingOccurrences(of: "_", with: "-")
                #expect(html.contains("id=\"\(id)\"") && js.contains("\(key): \"\(id)\""), "\(key)")
            }
            #expect(js.contains("form.append(\"use_random\""))
        }
    }

    /// The real IndexTTS2 engine (tiny e2e model) behind the server: a multipart request with a clip and IndexTTS2's
    /// settings speaks, and the settings reached the decoder (the applied controls echo them).
    @Test func indexTTS2SpeaksThroughTheNativeEndpoint() async throws {
        let engine = try IndexTTS2Engine.load(modelDirectory: Fixtures.path("e2e/model"), cache: ModelCache(root: Fixtures.cache("")))
        let rig = try TestServer(engine: engine)
        let clip = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("e2e/ref.wav"))))
        try await rig.run { client in
            let r = try await client.postMultipart("/v1/tts", fields: [("text", "你好"), ("max_mel_tokens", "24"), ("top_k", "1"),
                                                                      ("num_beams", "1"), ("diffusion_steps", "3"), ("format", "wav")],
                                                   files: [("spk_audio_prompt", "ref.wav", clip)])
            #expect(r.status == .ok, "\(r.text)")
            let controls = r.header("X-IndexTTS-Controls") ?? ""
            #expect(controls.contains("engine=indextts2") && controls.contains("top_k=1") && controls.contains("num_beams=1")
                    && controls.contains("diffusion_steps=3"), "\(controls)")
            let audio = try AudioDecoder.decode(bytes: r.bytes, name: "a.wav")
            #expect(audio.sampleRate == 22_050 && audio.duration > 0)
            // Without a clip or a library voice IndexTTS2 cannot speak: a clear error, not a crash.
            let bare = try await client.postJSON("/v1/tts", ["text": "你好"])
            #expect(bare.status == .badRequest, "\(bare.text)")
        }
    }

    /// The preview route with the default voice: the corrected reading with the rule of each span, `readings:
    /// upstream` (query or body) for the grammars alone, annotations listed as overrides and applied, a bad mode named.
    @Test func previewExplainsReadingsAndOverrides() async throws {
        let engine = try DefaultVoiceEngine.load(cache: ModelCache(root: Fixtures.cache("")))
        try await TestServer(engine: engine).run { client in
            let body = try await client.postJSON("/v1/text/preview", ["text": "大约1/4的人，房间<2305|二三零五>。"]).json()
            #expect(body["engine"] as? String == "default" && body["readings"] as? String == "corrected")
            #expect(body["normalized"] as? String == "大约四分之一的人，房间二三零五。")
            let spans = try #require(body["spans"] as? [[String: Any]])
            #expect(spans.map { $0["rule"] as? String } == ["zh.fraction"] && spans.first?["original"] as? String == "1/4"
                    && spans.first?["reading"] as? String == "四分之一" && spans.first?["offset"] as? Int == 2)
            let overrides = try #require(body["overrides"] as? [[String: Any]])
            #expect(overrides.map { $0["rule"] as? String } == ["user.annotation"] && overrides.first?["reading"] as? String == "二三零五")

            let upstream = try await client.postJSON("/v1/text/preview", ["text": "大约1/4的人", "readings": "upstream"]).json()
            #expect(upstream["readings"] as? String == "upstream" && (upstream["spans"] as? [Any])?.isEmpty == true)
            #expect((upstream["normalized"] as? String)?.hasPrefix("大四分之约一") == true)
            let query = try await client.get("/v1/text/preview?text=1%2F4&readings=upstream").json()
            #expect(query["readings"] as? String == "upstream")
            let bad = try await client.postJSON("/v1/text/preview", ["text": "一", "readings": "fancy"])
            #expect(bad.status == .badRequest && bad.errorParam == "readings", "\(bad.text)")
            #expect(try await client.get("/v1/text/preview?text=1&readings=x").errorParam == "readings")
        }
    }

    /// IndexTTS-2.5 through HTTP: the preview takes `lang` (query or JSON) and shows 2.5's prepared text; a malformed
    /// code is a 400 naming `lang`; the engine's name says which model speaks.
    @Test func indexTTS25PreviewTakesTheLanguage() async throws {
        let loaded = try IndexTTS2Engine.load(modelDirectory: Fixtures.path("e2e25/model"), cache: ModelCache(root: Fixtures.cache("")))
        #expect(loaded.info.name == "IndexTTS-2.5")
        try await TestServer(engine: loaded).run { client in
            let query = try await client.get("/v1/text/preview?text=%C2%BFD%C3%B3nde%3A&lang=ES").json()
            #expect(query["language"] as? String == "es" && query["normalized"] as? String == "¿DÓNDE,", "\(query)")
            let body = try await client.postJSON("/v1/text/preview", ["text": "Keep: 8:00", "lang": "en", "readings": "upstream"]).json()
            #expect(body["language"] as? String == "en" && (body["normalized"] as? String)?.hasPrefix("keep,") == true, "\(body)")
            let guessed = try await client.postJSON("/v1/text/preview", ["text": "今天"]).json()
            #expect(guessed["language"] as? String == "zh", "\(guessed)")
            #expect(try await client.get("/v1/text/preview?text=x&lang=en_US").errorParam == "lang")
            #expect(try await client.postJSON("/v1/text/preview", ["text": "x", "lang": "español"]).errorParam == "lang")
        }
    }

    /// The WebUI's emotion-text form (the fields app.js sends for IndexTTS2) as a job on the real IndexTTS2 engine
    /// (tiny e2e model; the tiny QwenEmotion fixture stands in for qwen0.6bemo4-merge): QwenEmotion reads the
    /// description, emo_alpha reaches the engine, and the job's applied controls say so.
    @Test func webUIEmotionTextJobReachesQwenEmotion() async throws {
        let loaded = try IndexTTS2Engine.load(modelDirectory: Fixtures.path("e2e/model"), cache: ModelCache(root: Fixtures.cache("")))
        let engine = IndexTTS2Engine(pipeline: loaded.pipeline, emotionTextFolder: Fixtures.path("qwen_emotion/qwen0.6bemo4-merge"))
        let clip = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("e2e/ref.wav"))))
        try await TestServer(engine: engine).run { client in
            let r = try await client.postMultipart("/v1/jobs", fields: [
                ("text", "你好"), ("speed", "1"), ("format", "wav"), ("emo_text", "语气非常开心"), ("emo_alpha", "0.5"),
                ("max_mel_tokens", "24"), ("top_k", "1"), ("num_beams", "1"), ("diffusion_steps", "3"),
            ], files: [("spk_audio_prompt", "ref.wav", clip)])
            #expect(r.status == .accepted, "\(r.text)")
            let id = try #require(try r.json()["id"] as? String)
            var job: [String: Any] = [:]
            for _ in 0..<1200 {
                job = try await client.get("/v1/jobs/\(id)").json()
                if let state = job["state"] as? String, state != "queued", state != "running" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(job["state"] as? String == "succeeded", "\(job)")
            let parameters = job["parameters"] as? [String: Any] ?? [:]
            #expect(parameters["emo_text"] as? String == "语气非常开心" && parameters["emo_alpha"] as? Double == 0.5)
            let controls = (job["result"] as? [String: Any])?["controls"] as? [String: String] ?? [:]
            #expect(controls["emo_text"] == "语气非常开心" && controls["emo_text_vector"]?.split(separator: ",").count == 8, "\(controls)")
            #expect(controls["warning"]?.contains("chat template") != true, "\(controls)")  // the fixture's template is Qwen3's
        }
    }
}

/// Windowed streaming options reach the engine from every HTTP surface: `stream_format` on `/v1/audio/speech`
/// turns upstream's windows on (or the `stream` object's), `/v1/tts` takes `stream` in JSON and flat form fields and
/// answers with chunked audio, `"stream": false` keeps whole segments.
struct StreamingSurfaceTests {
    @Test func streamingOptionsReachTheEngine() async throws {
        let engine = RecordingEngine()
        let rig = try TestServer(engine: engine)
        try await rig.run { client in
            let added = try await client.postMultipart("/v1/voices", fields: [("name", "narrator")], files: [("audio", "n.wav", try referenceClip())])
            #expect(added.status == .created, "\(added.text)")
            let sse = try await client.postJSON("/v1/audio/speech", ["input": "一二。", "voice": "narrator", "response_format": "pcm",
                                                                     "stream_format": "sse"])
            #expect(sse.status == .ok && sse.text.contains("speech.audio.delta"), "\(sse.text)")
            let custom = try await client.postJSON("/v1/audio/speech", ["input": "一二。", "voice": "narrator", "response_format": "wav",
                                                                        "stream_format": "audio",
                                                                        "stream": ["chunk_size": 50, "overlap_size": 4, "first_chunk_size": 20]])
            #expect(custom.status == .ok, "\(custom.text)")
            let whole = try await client.postJSON("/v1/audio/speech", ["input": "一二。", "voice": "narrator", "response_format": "wav"])
            #expect(whole.status == .ok)
            let bad = try await client.postJSON("/v1/audio/speech", ["input": "一二。", "voice": "narrator", "stream_format": "sse",
                                                                     "stream": ["chunk_size": 4, "overlap_size": 4]])
            #expect(bad.status == .badRequest && bad.text.contains("overlap_size"), "\(bad.text)")
            let native = try await client.postJSON("/v1/tts", ["text": "一二。", "voice": "narrator", "stream": true])
            #expect(native.status == .ok && native.header("Content-Type") == "audio/wav", "\(native.text)")
            let decoded = try AudioDecoder.decode(bytes: native.bytes, name: "s.wav")
            #expect(decoded.samples.count == 7_200)  // 3 characters × 0.1 s at 24 kHz
            let form = try await client.postMultipart("/v1/tts", fields: [("text", "一二。"), ("voice", "narrator"), ("stream_chunk_size", "30")])
            #expect(form.status == .ok, "\(form.text)")
            let off = try await client.postJSON("/v1/tts", ["text": "一二。", "voice": "narrator", "stream": false])
            #expect(off.status == .ok)
        }
        let seen = engine.synthesized.map(\.streaming)
        #expect(seen == [StreamingOptions(), StreamingOptions(chunkSize: 50, overlapSize: 4, firstChunkSize: 20), nil,
                         StreamingOptions(), StreamingOptions(chunkSize: 30), StreamingOptions(enabled: false)])
    }
}
