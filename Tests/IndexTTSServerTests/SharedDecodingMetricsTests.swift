import Foundation
import IndexTTS
import IndexTTSServer
import IndexTTSTestSupport
import Synchronization
import Testing

/// `/metrics` exports an engine's shared decoding passes (``SpeechEngine/sharedDecoding``) as two counters that
/// follow the engine's cumulative counts from scrape to scrape; engines without shared decoding export neither.
struct SharedDecodingMetricsTests {
    /// The tone engine with decoding counts the test sets.
    final class CountingEngine: SpeechEngine {
        let base = ToneEngine()
        let counts = Mutex(SharedDecodingCounts(steps: 0, passes: 0))
        var info: EngineInfo { base.info }
        var modelFingerprint: String { base.modelFingerprint }
        var sharedDecoding: SharedDecodingCounts? { counts.withLock { $0 } }
        func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
            try base.synthesize(request, progress: progress)
        }
        func preview(_ text: String) -> TextPreview { base.preview(text) }
        func validate(_ request: SynthesisRequest) throws { try base.validate(request) }
        func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
            try base.analyzeVoice(samples: samples, sampleRate: sampleRate)
        }
    }

    @Test func countersFollowTheEngineCounts() async throws {
        let engine = CountingEngine()
        try await TestServer(engine: engine).run { client in
            engine.counts.withLock { $0 = SharedDecodingCounts(steps: 12, passes: 5) }
            var metrics = try await client.get("/metrics").text
            #expect(metrics.contains("indextts_decode_steps_total 12") && metrics.contains("indextts_decode_passes_total 5"))
            engine.counts.withLock { $0 = SharedDecodingCounts(steps: 30, passes: 11) }
            metrics = try await client.get("/metrics").text
            #expect(metrics.contains("indextts_decode_steps_total 30") && metrics.contains("indextts_decode_passes_total 11"))
        }
        try await TestServer().run { client in
            let metrics = try await client.get("/metrics").text
            #expect(!metrics.contains("indextts_decode_steps_total"))
        }
    }
}
