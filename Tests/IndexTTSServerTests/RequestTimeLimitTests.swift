import Foundation
import HummingbirdTesting
import IndexTTS
import IndexTTSJobs
import IndexTTSServer
import Testing

/// The per-request time limit (`--request-timeout`, `--job-timeout`): a synthesis over it is stopped through its
/// cancellation, its pool slot is freed, and the client gets 422 `request_timeout` (a job ends `failed`).
struct RequestTimeLimitTests {
    /// 40 sentences at 0.2 s each with the slow tone engine: 8 s if nothing stops it.
    static let longText = String(repeating: "一句。", count: 40)

    static func elapsed(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    @Test func directRequestsOverTheLimitStopAndFreeTheirSlot() async throws {
        let rig = try TestServer(configure: { $0.concurrency = 1; $0.requestTimeoutSeconds = 0.5 }, segmentDelay: 0.2)
        let server = rig.server
        try await rig.run { client in
            for (uri, body) in [("/v1/tts", ["text": Self.longText, "format": "wav"]),
                                ("/v1/audio/speech", ["model": "tts-1", "input": Self.longText, "voice": "alloy", "response_format": "wav"])] {
                let start = ContinuousClock.now
                let r = try await client.postJSON(uri, body)
                let seconds = Self.elapsed(since: start)
                #expect(r.status == .unprocessableContent, "\(uri): \(r.status) \(r.text)")
                #expect(r.errorCode == "request_timeout" && r.errorParam == "input", "\(uri): \(r.text)")
                #expect(try r.apiError()["message"] as? String == SynthesisError.timedOut(limitSeconds: 0.5).description)
                // Stopped at the next segment after 0.5 s, not after the 8 s the text would take.
                #expect(seconds < 3, "\(uri) answered after \(seconds) s")
                // The one slot is free again: nothing running, and a short request gets it at once.
                #expect(server.pool.load.running == 0 && server.pool.load.waiting == 0)
                let ok = try await client.postJSON("/v1/tts", ["text": "一。", "format": "wav"])
                #expect(ok.status == .ok)
            }
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"outcome="timed_out""#), "\(metrics)")
        }
    }

    @Test func requestsWithinTheLimitAndUnlimitedServersAreUntouched() async throws {
        // 5 segments at 0.1 s against a 30 s limit; and no limit at all (0 → nil).
        for limit in [30.0, 0] {
            let rig = try TestServer(configure: { $0.requestTimeoutSeconds = limit }, segmentDelay: 0.1)
            try await rig.run { client in
                let r = try await client.postJSON("/v1/tts", ["text": String(repeating: "一句。", count: 5), "format": "wav"])
                #expect(r.status == .ok, "limit \(limit): \(r.text)")
            }
        }
    }

    @Test func jobsOverTheirLimitEndFailedWithTheReasonAndAreNotRetried() async throws {
        let rig = try TestServer(configure: { $0.concurrency = 1; $0.jobTimeoutSeconds = 0.5 }, segmentDelay: 0.2)
        try await rig.run { client in
            let long = try await client.postJSON("/v1/jobs", ["text": Self.longText]).json()
            let id = try #require(long["id"] as? String)
            var job: [String: Any] = [:]
            for _ in 0..<200 {
                job = try await client.get("/v1/jobs/\(id)").json()
                if (job["state"] as? String).map({ ["succeeded", "failed", "cancelled"].contains($0) }) == true { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(job["state"] as? String == "failed", "\(job)")
            #expect(job["attempts"] as? Int == 1, "\(job)")
            #expect((job["error"] as? String)?.contains("longer than the limit of 0.5 s") == true, "\(job)")
            // The worker's slot is free: the next job runs and succeeds.
            let short = try await client.postJSON("/v1/jobs", ["text": "一。"]).json()
            let next = try #require(short["id"] as? String)
            var state = ""
            for _ in 0..<200 {
                state = try await client.get("/v1/jobs/\(next)").json()["state"] as? String ?? ""
                if state == "succeeded" || state == "failed" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(state == "succeeded")
        }
    }

    @Test func theDeadlineKeepsAnEarlierCancellationsMeaning() throws {
        // A request cancelled for another reason (client gone, job cancelled) stays `cancelled` even after the time.
        var request = SynthesisRequest(text: "一。")
        request.isCancelled = { true }
        let deadline = SynthesisTimeLimit(seconds: 0.001).arm(&request)
        Thread.sleep(forTimeInterval: 0.01)
        #expect(deadline.expired && request.isCancelled?() == true)
        #expect(throws: SynthesisError.cancelled) { try deadline.run { () throws -> Int in throw SynthesisError.cancelled } }

        // Over the limit alone: timedOut with the limit.
        var plain = SynthesisRequest(text: "一。")
        let own = SynthesisTimeLimit(seconds: 0.001).arm(&plain)
        Thread.sleep(forTimeInterval: 0.01)
        #expect(plain.isCancelled?() == true)
        #expect(throws: SynthesisError.timedOut(limitSeconds: 0.001)) { try own.run { () throws -> Int in throw SynthesisError.cancelled } }

        // No limit (nil, 0, negative): the request's cancellation is left as it was.
        for seconds in [nil, 0, -1] as [Double?] {
            var free = SynthesisRequest(text: "一。")
            let none = SynthesisTimeLimit(seconds: seconds).arm(&free)
            #expect(free.isCancelled == nil && !none.expired && none.seconds == nil)
        }
    }

    @Test func theErrorMapsTo422RequestTimeout() {
        let api = APIError.from(SynthesisError.timedOut(limitSeconds: 600))
        #expect(api.status == .unprocessableContent && api.code == "request_timeout" && api.param == "input")
        #expect(api.message.contains("600 s"))
    }
}
