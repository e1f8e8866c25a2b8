import Foundation
import HTTPTypes
import HummingbirdTesting
import IndexTTSAudio
import IndexTTSServer
import NIOCore
import Testing

/// Inputs the fuzz harnesses' resource limits refuse (docs/RELIABILITY.md) reach the live server as 4xx answers
/// with OpenAI error bodies, never as a crash or a 5xx, and the server keeps serving afterwards.
struct HostileInputTests {
    /// A 52-byte WAV claiming 4 GB of 48 kHz stereo samples.
    static var hugeHeaderWAV: [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        return Array("RIFF".utf8) + u32(0xFFFF_FFF0) + Array("WAVEfmt ".utf8) + u32(16) + u16(1) + u16(2) + u32(48_000)
            + u32(192_000) + u16(4) + u16(16) + Array("data".utf8) + u32(0xFFFF_FFF0) + [UInt8](repeating: 0, count: 8)
    }

    @Test func hostileBodiesAndUploadsAre4xx() async throws {
        let rig = try TestServer()
        try await rig.run { client in
            let huge = try await client.postMultipart("/v1/tts", fields: [("text", "一。")],
                                                      files: [("spk_audio_prompt", "huge.wav", Self.hugeHeaderWAV)])
            #expect(huge.status == .badRequest && huge.errorCode == "invalid_audio", "\(huge.text)")
            let voice = try await client.postMultipart("/v1/voices", fields: [("name", "huge")],
                                                       files: [("audio", "huge.wav", Self.hugeHeaderWAV)])
            #expect((400..<500).contains(voice.status.code), "\(voice.text)")

            var json = HTTPFields()
            json[.contentType] = "application/json"
            let deep = ByteBuffer(bytes: Array(#"{"input":"#.utf8) + [UInt8](repeating: UInt8(ascii: "["), count: 100_000))
            for uri in ["/v1/audio/speech", "/v1/tts", "/v1/jobs"] {
                let r = try await client.execute(uri: uri, method: .post, headers: json, body: deep)
                #expect(r.status == .badRequest, "\(uri): \(r.status) \(r.text)")
            }
            var form = HTTPFields()
            form[.contentType] = "multipart/form-data; boundary=x"
            let garbage = try await client.execute(uri: "/v1/jobs", method: .post, headers: form,
                                                   body: ByteBuffer(bytes: Array("--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--y--".utf8)))
            #expect((400..<500).contains(garbage.status.code), "\(garbage.status) \(garbage.text)")

            // Still serving.
            let ok = try await client.postJSON("/v1/tts", ["text": "一二。", "format": "wav"])
            #expect(ok.status == .ok)
        }
    }

    @Test func emotionTextAndVoiceDescriptionsHaveLengthLimits() async throws {
        let rig = try TestServer(configure: { $0.maxTextCharacters = 100 })
        try await rig.run { client in
            let long = String(repeating: "开心", count: 60)  // 120 characters
            let tts = try await client.postJSON("/v1/tts", ["text": "一。", "emo_text": long])
            #expect(tts.status == .badRequest && tts.errorParam == "emo_text", "\(tts.text)")
            let job = try await client.postJSON("/v1/jobs", ["text": "一。", "emo_text": long])
            #expect(job.status == .badRequest && job.errorParam == "emo_text", "\(job.text)")
            let speech = try await client.postJSON("/v1/audio/speech", ["input": "一。", "voice": "tone",
                                                                        "instructions": String(repeating: "x", count: 5000)])
            #expect(speech.status == .badRequest && speech.errorParam == "emo_text", "\(speech.text)")
            let voice = try await client.postMultipart("/v1/voices", fields: [("name", "wordy"), ("description", String(repeating: "d", count: 1001))],
                                                       files: [("audio", "clip.wav", try referenceClip())])
            #expect(voice.status == .unprocessableContent && voice.errorParam == "description", "\(voice.text)")
        }
    }
}
