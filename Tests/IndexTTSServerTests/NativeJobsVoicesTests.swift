import Foundation
import HTTPTypes
import HummingbirdTesting
import IndexTTSAudio
import IndexTTSServer
import IndexTTSTestSupport
import IndexTTSTensor
import Testing

/// A 2 s voiced clip (harmonic tone with gaps) as WAV bytes, usable as a reference or a library voice.
func referenceClip(seconds: Double = 2) throws -> [UInt8] {
    let rate = 16_000
    let samples = (0..<Int(seconds * Double(rate))).map { i -> Float in
        let t = Double(i) / Double(rate)
        let gate = sin(2 * Double.pi * 4 * t) > -0.3 ? 1.0 : 0.0
        return Float(gate * (0.3 * sin(2 * Double.pi * 200 * t) + 0.15 * sin(2 * Double.pi * 400 * t)))
    }
    return try AudioEncoder.encode(samples, sampleRate: rate, format: .wav)
}

/// The native API, jobs, voices and operations endpoints on a live loopback server.
struct NativeJobsVoicesTests {
    @Test func nativeTTSTakesUploadsAndIndexTTS2Parameters() async throws {
        let rig = try TestServer()
        try await rig.run { client in
            let r = try await client.postMultipart("/v1/tts", fields: [("text", "一二三。"), ("emotion", "happy"), ("emo_alpha", "0.5"),
                                                                      ("format", "flac"), ("seed", "7"), ("top_p", "0.8")],
                                                   files: [("spk_audio_prompt", "ref.wav", try referenceClip())])
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.headers[.contentType] == "audio/flac" && r.header("X-IndexTTS-Controls") == "frequency=330")
            #expect(r.header("X-IndexTTS-Ignored")?.contains("sampling") == true)
            #expect(abs(try AudioDecoder.decode(bytes: r.bytes, name: "a.flac").duration - 0.3) < 1e-3)
            // Uploads of a direct request (under uploads/direct/) are removed once it is answered.
            let uploads = rig.data.appendingPathComponent("uploads")
            #expect(try FileManager.default.contentsOfDirectory(atPath: uploads.path) == ["direct"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: uploads.appendingPathComponent("direct").path).isEmpty)

            let json = try await client.postJSON("/v1/tts", ["text": "一二。", "emo_vector": [0, 0, 1, 0, 0, 0, 0, 0], "format": "wav"])
            #expect(json.status == .ok)
            let bad: [([String: Any], String)] = [
                (["text": "一。", "emo_vector": [1, 2]], "emo_vector"),
                (["text": "一。", "emo_alpha": 3], "emo_alpha"),
                (["text": "一。", "emotion": "furious"], "emotion"),
                (["text": "一。", "spk_audio_prompt": "/etc/passwd"], "spk_audio_prompt"),
                (["text": "一。", "format": "m4a"], "format"),
                (["text": "一。", "top_p": 2], "top_p"),
                (["text": ["一。", "二。"]], "text"),
                (["voice": "tone"], "text"),
            ]
            for (body, param) in bad {
                let e = try await client.postJSON("/v1/tts", body)
                #expect(e.status == .badRequest && e.errorParam == param, "\(body): \(e.text)")
            }
            let corrupt = try await client.postMultipart("/v1/tts", fields: [("text", "一。")],
                                                         files: [("spk_audio_prompt", "ref.wav", Array("RIFF-broken".utf8))])
            #expect(corrupt.status == .badRequest && corrupt.errorCode == "invalid_audio")
            let long = try await client.postJSON("/v1/tts", ["text": String(repeating: "长", count: 20_001)])
            #expect(long.status == .unprocessableContent)
        }
    }

    @Test func previewShowsSegments() async throws {
        try await TestServer().run { client in
            let r = try await client.get("/v1/text/preview?text=%E4%BD%A0%E5%A5%BD%E3%80%82%E5%86%8D%E8%A7%81%E3%80%82")
            let body = try r.json()
            #expect(body["engine"] as? String == "tone" && (body["segments"] as? [[String: Any]])?.count == 2)
            let post = try await client.postJSON("/v1/text/preview", ["text": "一。二。三。"])
            #expect((try post.json()["segments"] as? [[String: Any]])?.count == 3)
            #expect(try await client.get("/v1/text/preview").status == .badRequest)
        }
    }

    @Test func jobsAreQueuedRunAndServed() async throws {
        let rig = try TestServer()
        try await rig.run { client in
            let list = try await client.postJSON("/v1/jobs", ["text": ["一二。", "三四五。"], "format": "wav", "emotion": "sad"])
            #expect(list.status == .accepted)
            let ids = try #require((try list.json()["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
            #expect(ids.count == 2)
            var states: [String] = []
            for _ in 0..<200 {
                states = try await ids.asyncMap { try await client.get("/v1/jobs/\($0)").json()["state"] as? String ?? "" }
                if states.allSatisfy({ $0 == "succeeded" }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(states == ["succeeded", "succeeded"])
            let job = try await client.get("/v1/jobs/\(ids[1])").json()
            #expect((job["progress"] as? [String: Any])?["fraction"] as? Double == 1)
            #expect((job["output_file"] as? String)?.hasSuffix("_\(ids[1]).wav") == true && job["audio_url"] as? String == "/v1/jobs/\(ids[1])/audio")
            let audio = try await client.get("/v1/jobs/\(ids[1])/audio")
            #expect(audio.status == .ok && audio.header("X-IndexTTS-Controls") == "frequency=165")
            #expect(abs(try AudioDecoder.decode(bytes: audio.bytes, name: "a.wav").duration - 0.3) < 1e-3)
            let outputs = try FileManager.default.contentsOfDirectory(atPath: rig.data.appendingPathComponent("outputs").path)
            #expect(outputs.count == 2)

            let single = try await client.postJSON("/v1/jobs", ["text": "六。"], headers: [HTTPField.Name("Idempotency-Key")!: "k1"])
            let again = try await client.postJSON("/v1/jobs", ["text": "六。"], headers: [HTTPField.Name("Idempotency-Key")!: "k1"])
            let firstID = try single.json()["id"] as? String, secondID = try again.json()["id"] as? String
            #expect(firstID != nil && firstID == secondID)
            let page = try await client.get("/v1/jobs?limit=2&offset=0").json()
            #expect(page["total"] as? Int == 3 && (page["data"] as? [Any])?.count == 2 && page["has_more"] as? Bool == true)
            #expect(try await client.get("/v1/jobs/job_nope").status == .notFound)
            #expect(try await client.get("/v1/jobs?limit=0").status == .badRequest)
            #expect(try await client.get("/v1/jobs?state=sleeping").status == .badRequest)
            #expect(try await client.postJSON("/v1/jobs", ["text": "一。", "voice": "ghost"]).status == .badRequest)
        }
    }

    @Test func runningJobsCanBeCancelledAndUnfinishedAudioIsRefused() async throws {
        try await TestServer(segmentDelay: 0.2).run { client in
            let job = try await client.postJSON("/v1/jobs", ["text": String(repeating: "一句。", count: 40)]).json()
            let id = try #require(job["id"] as? String)
            let early = try await client.get("/v1/jobs/\(id)/audio")
            #expect(early.status == .conflict && early.errorCode == "job_not_finished")
            for _ in 0..<100 {
                if try await client.get("/v1/jobs/\(id)").json()["state"] as? String == "running" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let cancelled = try await client.execute(uri: "/v1/jobs/\(id)", method: .delete)
            #expect(cancelled.status == .ok)
            var state = ""
            for _ in 0..<100 {
                state = try await client.get("/v1/jobs/\(id)").json()["state"] as? String ?? ""
                if state == "cancelled" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(state == "cancelled")
        }
    }

    @Test func voicesAreAddedUsedListedAndDeleted() async throws {
        let rig = try TestServer()
        try await rig.run { client in
            let created = try await client.postMultipart("/v1/voices", fields: [("name", "narrator"), ("description", "test voice")],
                                                         files: [("audio", "n.wav", try referenceClip())])
            #expect(created.status == .created, "\(created.text)")
            // The engine analysed the clip once; its conditioning is stored with the voice.
            let entry = try #require(try created.json()["entry"] as? [String: Any])
            #expect(entry["conditioning"] as? [String] == ["tone"], "\(entry)")
            #expect(FileManager.default.fileExists(atPath: rig.data.appendingPathComponent("voices/narrator/conditioning-tone.safetensors").path))
            let listed = try await client.get("/v1/voices").json()
            let voices = (listed["data"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0["type"] as? String ?? "") }
            #expect(voices.contains { $0 == ("narrator", "library") } && voices.contains { $0 == ("tone", "built-in") }
                    && voices.contains { $0 == ("alloy", "alias") })
            let spoken = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "voice": "narrator", "response_format": "wav"])
            #expect(spoken.status == .ok)
            let dup = try await client.postMultipart("/v1/voices", fields: [("name", "narrator")], files: [("audio", "n.wav", try referenceClip())])
            #expect(dup.status == .conflict)
            for name in ["../etc", ".hidden", "a%2Fb"] {
                let r = try await client.postMultipart("/v1/voices", fields: [("name", name)], files: [("audio", "n.wav", try referenceClip())])
                #expect(r.status == .badRequest && r.errorParam == "name", "\(name)")
            }
            let noAudio = try await client.postMultipart("/v1/voices", fields: [("name", "x")])
            #expect(noAudio.status == .badRequest && noAudio.errorParam == "audio")
            let noise = try await client.postMultipart("/v1/voices", fields: [("name", "x")], files: [("audio", "n.wav", Array("junk".utf8))])
            #expect(noise.status == .badRequest)
            #expect(try await client.get("/v1/voices/narrator").status == .ok)
            #expect(try await client.execute(uri: "/v1/voices/tone", method: .delete).status == .conflict)
            #expect(try await client.execute(uri: "/v1/voices/narrator", method: .delete).status == .ok)
            #expect(try await client.get("/v1/voices/narrator").status == .notFound)
            let voicesDir = try FileManager.default.contentsOfDirectory(atPath: rig.data.appendingPathComponent("voices").path)
            #expect(voicesDir.isEmpty)
        }
    }

    @Test func operationsEndpointsAuthAndTheOpenAPIDocument() async throws {
        try await TestServer(configure: { $0.apiKey = "s3cret" }).run { client in
            #expect(try await client.get("/healthz").status == .ok)
            let denied = try await client.postJSON("/v1/audio/speech", ["input": "你好。"])
            #expect(denied.status == .unauthorized && denied.errorCode == "invalid_api_key")
            let wrong = try await client.get("/v1/voices", headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            let auth: HTTPFields = [.authorization: "Bearer s3cret"]
            let ok = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "response_format": "wav"], headers: auth)
            #expect(ok.status == .ok)
            let metrics = try await client.get("/metrics", headers: auth).text
            #expect(metrics.contains(#"indextts_http_requests_total{method="POST",route="/v1/audio/speech",status="200"} 1"#))
            #expect(metrics.contains(#"indextts_http_requests_total{method="POST",route="/v1/audio/speech",status="401"} 1"#))
            #expect(metrics.contains(#"indextts_syntheses_total{source="direct",outcome="succeeded"} 1"#))
            #expect(metrics.contains("indextts_queue_jobs{state=\"queued\"} 0") && metrics.contains("indextts_synthesis_rtf_count 1"))
            #expect(metrics.contains("indextts_compute_info{cpu=") && metrics.contains("blas_core=\"\(ComputeEnvironment.current().blasCore)\""))
            #expect(metrics.contains("fp32_gemm_engine=\"\(Float32GEMMEngine.current.rawValue)\""))
            #expect(metrics.contains("indextts_blas_threads ") && metrics.contains("indextts_kernel_threads "))
            let document = try await client.get("/openapi.json", headers: auth).json()
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let served: [(String, String)] = [
                ("/v1/audio/speech", "post"), ("/v1/models", "get"), ("/v1/tts", "post"), ("/v1/text/preview", "get"),
                ("/v1/text/preview", "post"), ("/v1/jobs", "post"), ("/v1/jobs", "get"), ("/v1/jobs/{id}", "get"),
                ("/v1/jobs/{id}", "delete"), ("/v1/jobs/{id}/audio", "get"), ("/v1/voices", "get"), ("/v1/voices", "post"),
                ("/v1/voices/{name}", "get"), ("/v1/voices/{name}", "delete"), ("/healthz", "get"), ("/metrics", "get"),
                ("/openapi.json", "get"),
            ]
            for (path, method) in served {
                #expect(paths[path]?[method] != nil, "\(method) \(path) is not documented")
                // And the route exists: anything but the router's 404 (bodies are incomplete on purpose).
                let uri = path.replacingOccurrences(of: "{id}", with: "job_x").replacingOccurrences(of: "{name}", with: "x")
                let r = try await client.execute(uri: uri, method: .init(method.uppercased())!, headers: auth)
                #expect(r.status != .notFound || r.errorCode != nil, "\(method) \(path) → \(r.status)")
            }
            #expect(paths.count == Set(served.map(\.0)).count)
        }
    }
}
