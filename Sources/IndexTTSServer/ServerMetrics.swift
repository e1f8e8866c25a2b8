import Foundation
import IndexTTSJobs
import Prometheus

/// The Prometheus series the server exports at `/metrics`. Each server owns its registry (no global bootstrap),
/// so several servers can live in one process (tests).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let synthesisSeconds: ValueHistogram
    let realTimeFactor: ValueHistogram
    let audioSeconds: Counter
    let running: Gauge
    let waiting: Gauge

    init() {
        synthesisSeconds = registry.makeValueHistogram(
            name: "indextts_synthesis_seconds", buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
            help: "Wall time of one synthesis")
        realTimeFactor = registry.makeValueHistogram(
            name: "indextts_synthesis_rtf", buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
            help: "Real-time factor of one synthesis (processing time / audio duration)")
        audioSeconds = registry.makeCounter(name: "indextts_audio_seconds_total", help: "Seconds of audio synthesised")
        running = registry.makeGauge(name: "indextts_syntheses_running", help: "Syntheses running now")
        waiting = registry.makeGauge(name: "indextts_syntheses_waiting", help: "Syntheses waiting for a slot")
    }

    func request(method: String, route: String, status: Int, seconds: Double) {
        registry.makeCounter(name: "indextts_http_requests_total",
                             labels: [("method", method), ("route", route), ("status", String(status))],
                             help: "HTTP requests by route and status").increment()
        registry.makeValueHistogram(name: "indextts_http_request_seconds", labels: [("route", route)],
                                    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
                                    help: "HTTP request duration").record(seconds)
    }

    func synthesis(source: String, outcome: String, seconds: Double? = nil, audio: Double? = nil) {
        registry.makeCounter(name: "indextts_syntheses_total", labels: [("source", source), ("outcome", outcome)],
                             help: "Syntheses by source (direct, job) and outcome").increment()
        if let seconds, let audio, audio > 0 {
            synthesisSeconds.record(seconds)
            realTimeFactor.record(seconds / audio)
            audioSeconds.increment(by: audio)
        }
    }

    func queue(_ counts: QueueCounts) {
        for state in JobState.allCases {
            registry.makeGauge(name: "indextts_queue_jobs", labels: [("state", state.rawValue)],
                               help: "Jobs in the queue by state").set(Double(counts[state]))
        }
    }
}
