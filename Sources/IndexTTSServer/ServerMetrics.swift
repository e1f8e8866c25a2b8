import Foundation
import IndexTTS
import IndexTTSJobs
import IndexTTSTensor
import Prometheus
import Synchronization

/// The Prometheus series the server exports at `/metrics`. Each server owns its registry (no global bootstrap),
/// so several servers can live in one process (tests).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let synthesisSeconds: ValueHistogram
    let realTimeFactor: ValueHistogram
    let audioSeconds: Counter
    let running: Gauge
    let waiting: Gauge

    /// A series name with its help text (no unit suffix: the names carry theirs).
    static func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    init() {
        synthesisSeconds = registry.makeValueHistogram(
            descriptor: Self.metric("indextts_synthesis_seconds", "Wall time of one synthesis"),
            buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120])
        realTimeFactor = registry.makeValueHistogram(
            descriptor: Self.metric("indextts_synthesis_rtf", "Real-time factor of one synthesis (processing time / audio duration)"),
            buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2])
        audioSeconds = registry.makeCounter(descriptor: Self.metric("indextts_audio_seconds_total", "Seconds of audio synthesised"))
        running = registry.makeGauge(descriptor: Self.metric("indextts_syntheses_running", "Syntheses running now"))
        waiting = registry.makeGauge(descriptor: Self.metric("indextts_syntheses_waiting", "Syntheses waiting for a slot"))
        compute(ComputeEnvironment.current())
    }

    /// What the compute core runs on, as an info series (value 1) and thread gauges: a dashboard shows at a glance
    /// when a server runs generic BLAS kernels (`recommended_blas_core` non-empty).
    func compute(_ environment: ComputeEnvironment) {
        registry.makeGauge(
            descriptor: Self.metric("indextts_compute_info",
                                    "CPU, instruction sets, OpenBLAS kernels and the large fp32 products' library (value 1)"),
            labels: [("cpu", environment.cpu.brand), ("vector_class", environment.cpu.instructionSets.vectorClass),
                     ("instruction_sets", environment.cpu.instructionSets.nameList.joined(separator: " ")),
                     ("blas", "OpenBLAS \(environment.blasVersion)"), ("blas_core", environment.blasCore),
                     ("blas_core_choice", environment.blasCoreChoice),
                     ("recommended_blas_core", environment.recommendedBLASCore ?? ""),
                     ("fp32_gemm_engine", environment.float32GEMMEngine)]).set(1.0)
        registry.makeGauge(descriptor: Self.metric("indextts_blas_threads", "OpenBLAS threads"))
            .set(Double(environment.blasThreads))
        registry.makeGauge(descriptor: Self.metric("indextts_kernel_threads", "Threads of the engine's own kernels"))
            .set(Double(environment.kernelThreads))
    }

    func request(method: String, route: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Self.metric("indextts_http_requests_total", "HTTP requests by route and status"),
                             labels: [("method", method), ("route", route), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Self.metric("indextts_http_request_seconds", "HTTP request duration"),
                                    labels: [("route", route)], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30]).record(seconds)
    }

    func synthesis(source: String, outcome: String, seconds: Double? = nil, audio: Double? = nil) {
        registry.makeCounter(descriptor: Self.metric("indextts_syntheses_total", "Syntheses by source (direct, job) and outcome"),
                             labels: [("source", source), ("outcome", outcome)]).increment()
        if let seconds, let audio, audio > 0 {
            synthesisSeconds.record(seconds)
            realTimeFactor.record(seconds / audio)
            audioSeconds.increment(by: audio)
        }
    }

    /// The counts last exported by ``sharedDecoding(_:)``.
    private let exportedDecoding = Mutex(SharedDecodingCounts(steps: 0, passes: 0))

    /// The engine's shared decoding passes (cumulative since load) as counters: advanced by what changed since the
    /// last scrape.
    func sharedDecoding(_ counts: SharedDecodingCounts) {
        let (steps, passes) = exportedDecoding.withLock { last -> (Int, Int) in
            defer { last = counts }
            return (max(0, counts.steps - last.steps), max(0, counts.passes - last.passes))
        }
        registry.makeCounter(descriptor: Self.metric("indextts_decode_steps_total",
                                                     "Decoding steps of the engine's autoregressive model (one per request and code)"))
            .increment(by: Int64(steps))
        registry.makeCounter(descriptor: Self.metric("indextts_decode_passes_total",
                                                     "Passes over the autoregressive model's weights that ran those steps (concurrent requests share passes)"))
            .increment(by: Int64(passes))
    }

    func queue(_ counts: QueueCounts) {
        for state in JobState.allCases {
            registry.makeGauge(descriptor: Self.metric("indextts_queue_jobs", "Jobs in the queue by state"),
                               labels: [("state", state.rawValue)]).set(Double(counts[state]))
        }
    }
}
