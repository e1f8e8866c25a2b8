import Foundation
import IndexTTSJobs
import IndexTTSServer
import IndexTTSTestSupport
import Testing

/// Clips uploaded with a direct request (`/v1/tts`) live in `uploads/direct/`, locked while the request lives, and go
/// when it ends; those of a process killed mid-request (nobody holds their lock) are removed at the next start-up,
/// while a live owner's (here: a lock this test holds) stay.
struct DirectUploadSweepTests {
    /// What the set-up made, for the test's body.
    final class Files: @unchecked Sendable {
        var held: HeldFile?
        var direct = URL(fileURLWithPath: "/")
    }

    @Test func deadRequestsClipsGoLiveOnesStay() async throws {
        let files = Files()
        try await TestServer(configure: { c in
            files.direct = c.directUploadsDirectory
            try? FileManager.default.createDirectory(at: files.direct, withIntermediateDirectories: true)
            try? StorageFiles.writeAtomically(Array("left by a killed process".utf8), to: files.direct.appendingPathComponent("orphan.wav"))
            files.held = try? StorageFiles.writeAtomicallyHoldingLock(Array("in use".utf8), to: files.direct.appendingPathComponent("live.wav"))
        }).run { client in
            #expect(files.held != nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: files.direct.path) == ["live.wav"])
            let response = try await client.postMultipart("/v1/tts", fields: [("text", "你好。")],
                                                          files: [("spk_audio_prompt", "ref.wav", try referenceClip())])
            #expect(response.status == .ok)
            // The request's own clip was under direct/ and went with it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: files.direct.path) == ["live.wav"])
            files.held = nil
            #expect(try FileManager.default.contentsOfDirectory(atPath: files.direct.path).isEmpty)
        }
    }
}
