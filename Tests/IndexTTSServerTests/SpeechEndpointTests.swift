import Foundation
import HummingbirdTesting
import IndexTTSAudio
import IndexTTSServer
import IndexTTSTestSupport
import Testing

/// `/v1/audio/speech` as OpenAI clients use it, on a live loopback server.
struct SpeechEndpointTests {
    @Test func everyResponseFormatIsValidAudioOfTheRightLength() async throws {
        try await TestServer().run { client in
            // "一二三四五。六七八九十。" → 2 segments, 10 characters → 1.0 s of tones.
            for format in ["mp3", "opus", "aac", "flac", "wav", "pcm"] {
                let r = try await client.postJSON("/v1/audio/speech", ["model": "tts-1", "input": "一二三四五。六七八九十。",
                                                                     "voice": "alloy", "response_format": format])
                #expect(r.status == .ok, "\(format): \(r.text)")
                #expect(r.headers[.contentType] == AudioFormat(rawValue: format)!.mimeType)
                #expect(r.header("X-IndexTTS-Segments") == "2" && r.header("X-IndexTTS-RTF") != nil)
                if format == "pcm" {
                    #expect(r.bytes.count == 24_000 * 2)
                } else {
                    let audio = try AudioDecoder.decode(bytes: r.bytes, name: "x.\(format)")
                    // Lossy codecs add priming/padding; the length is still close.
                    // Lossy codecs add priming/padding (AAC: 1024 samples of priming plus the last frame's padding).
                    #expect(abs(audio.duration - 1.0) < (format == "wav" || format == "flac" ? 1e-3 : 0.1), "\(format): \(audio.duration) s")
                }
            }
            let ogg = try await client.postJSON("/v1/audio/speech", ["model": "tts-1", "input": "一。", "voice": "alloy", "response_format": "ogg"])
            #expect(ogg.status == .badRequest && ogg.errorParam == "response_format")
        }
    }

    @Test func instructionsNameTheEmotionAndTheAppliedControlsComeBack() async throws {
        try await TestServer().run { client in
            let happy = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "voice": "tone", "instructions": "happy",
                                                                     "response_format": "wav"])
            #expect(happy.header("X-IndexTTS-Controls") == "frequency=330")
            let plain = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "response_format": "wav", "speed": 2])
            #expect(plain.header("X-IndexTTS-Controls") == "frequency=220")
            #expect(abs(try AudioDecoder.decode(bytes: plain.bytes, name: "a.wav").duration - 0.1) < 1e-3)
            let voiceObject = try await client.postJSON("/v1/audio/speech", ["input": "你好。", "voice": ["id": "tone"], "response_format": "wav"])
            #expect(voiceObject.status == .ok)
        }
    }

    @Test func badRequestsGetOpenAIErrorsNamingTheField() async throws {
        try await TestServer(configure: { $0.maxBodyBytes = 64 * 1024 }).run { client in
            let cases: [([String: Any], Int, String?)] = [
                (["input": ""], 400, "input"),
                (["input": "   \n"], 400, "input"),
                (["voice": "alloy"], 400, "input"),
                (["input": 42], 400, "input"),
                (["input": "你好。", "voice": "nobody"], 400, "voice"),
                (["input": "你好。", "speed": 10], 400, "speed"),
                (["input": "你好。", "speed": "fast"], 400, "speed"),
                (["input": "你好。", "response_format": "ogg"], 400, "response_format"),
                (["input": "你好。", "stream_format": "chunks"], 400, "stream_format"),
                (["input": "你好。", "model": "gpt-9"], 400, "model"),
                (["input": "你好。", "instructions": "excited"], 200, nil),
                (["input": "你好。", "lang": "zh"], 200, nil),  // our extension (IndexTTS-2.5), as on /v1/tts
                (["input": "你好。", "lang": "zh_CN"], 400, "lang"),
                (["input": String(repeating: "好", count: 4097)], 422, "input"),
            ]
            for (body, status, param) in cases {
                let r = try await client.postJSON("/v1/audio/speech", body)
                #expect(Int(r.status.code) == status, "\(body): \(r.status) \(r.text.prefix(200))")
                if status != 200 { #expect(r.errorParam == param, "\(body)") }
            }
            let notJSON = try await client.execute(uri: "/v1/audio/speech", method: .post, headers: [.contentType: "application/json"],
                                                   body: .init(string: "{nope"))
            #expect(notJSON.status == .badRequest && notJSON.errorCode == "invalid_json")
            let huge = try await client.postJSON("/v1/audio/speech", ["input": String(repeating: "a", count: 70_000)])
            #expect(huge.status == .contentTooLarge && huge.errorCode == "body_too_large")
            let missing = try await client.get("/v1/nothing-here")
            #expect(missing.status == .notFound)
            _ = try missing.apiError()
        }
    }

    @Test func sseStreamsDeltasInOrderThenDone() async throws {
        try await TestServer().run { client in
            let r = try await client.postJSON("/v1/audio/speech", ["input": "一二。三四五。六。", "response_format": "pcm", "stream_format": "sse"])
            #expect(r.status == .ok && r.headers[.contentType] == "text/event-stream")
            let events = try r.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { chunk -> [String: Any] in
                #expect(chunk.hasPrefix("data: "))
                return try #require(try JSONSerialization.jsonObject(with: Data(chunk.dropFirst(6).utf8)) as? [String: Any])
            }
            let types = events.map { $0["type"] as? String ?? "" }
            #expect(types.last == "speech.audio.done" && types.dropLast().allSatisfy { $0 == "speech.audio.delta" })
            // One delta per segment, in order: 2, 3 and 1 characters of 0.1 s each.
            let chunks = events.dropLast().map { Data(base64Encoded: $0["audio"] as! String)! }
            #expect(chunks.map(\.count) == [2, 3, 1].map { $0 * 2_400 * 2 })
            let usage = try #require(events.last?["usage"] as? [String: Int])
            #expect(usage["input_tokens"] == 9 && usage["output_tokens"] == 30 && usage["total_tokens"] == 39)
        }
    }

    @Test func audioStreamingSendsAPlayableFile() async throws {
        try await TestServer().run { client in
            for format in ["wav", "mp3", "pcm"] {
                let r = try await client.postJSON("/v1/audio/speech", ["input": "一二。三四五。", "response_format": format, "stream_format": "audio"])
                #expect(r.status == .ok)
                if format == "pcm" {
                    #expect(r.bytes.count == 12_000 * 2)
                } else {
                    let audio = try AudioDecoder.decode(bytes: r.bytes, name: "s.\(format)")
                    #expect(abs(audio.duration - 0.5) < (format == "wav" ? 1e-3 : 0.08), "\(format) \(audio.duration)")
                }
            }
        }
    }

    @Test func modelsAreListed() async throws {
        try await TestServer().run { client in
            let models = try await client.get("/v1/models").json()
            let ids = (models["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.contains("tts-1") && ids.contains("tone"))
        }
    }
}
