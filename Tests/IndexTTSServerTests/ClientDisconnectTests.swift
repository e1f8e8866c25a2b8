import Foundation
import HummingbirdTesting
import IndexTTS
import IndexTTSJobs
import IndexTTSServer
import IndexTTSTestSupport
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client that goes away mid-synthesis stops the synthesis within one step, on every synthesising route, streamed
/// or not; a client that stays gets its whole answer on a connection that stays open.
struct ClientDisconnectTests {
    /// A slow engine that counts its steps: `steps` steps of `stepSeconds`, each checking the request's cancellation
    /// first (as IndexTTS2 checks after every GPT step) and reporting its audio as a chunk; with `failAfter`, the
    /// synthesis fails once that many steps have reported their audio.
    final class StepEngine: SpeechEngine, Sendable {
        let tone = ToneEngine()
        let steps: Int
        let stepSeconds: Double
        let failAfter: Int?
        private struct State { var steps = 0; var started = 0; var cancelled = 0; var completed = 0 }
        private let state = Mutex(State())

        init(steps: Int = 100, stepSeconds: Double = 0.05, failAfter: Int? = nil) {
            self.steps = steps
            self.stepSeconds = stepSeconds
            self.failAfter = failAfter
        }

        var info: EngineInfo { tone.info }
        var modelFingerprint: String { tone.modelFingerprint }
        func preview(_ text: String) -> TextPreview { tone.preview(text) }
        func validate(_ request: SynthesisRequest) throws { try tone.validate(request) }
        func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
            try tone.analyzeVoice(samples: samples, sampleRate: sampleRate)
        }

        /// Steps run so far, syntheses started, ended by cancellation, and completed.
        var counts: (steps: Int, started: Int, cancelled: Int, completed: Int) {
            state.withLock { ($0.steps, $0.started, $0.cancelled, $0.completed) }
        }

        func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
            state.withLock { $0.started += 1 }
            let chunk = [Float](repeating: 0.25, count: 2_400)
            for step in 0..<steps {
                if request.isCancelled?() == true {
                    state.withLock { $0.cancelled += 1 }
                    throw SynthesisError.cancelled
                }
                Thread.sleep(forTimeInterval: stepSeconds)
                state.withLock { $0.steps += 1 }
                progress(SynthesisProgress(completedSegments: step + 1, totalSegments: steps,
                                           audioSeconds: Double((step + 1) * chunk.count) / 24_000, chunk: chunk))
                if step + 1 == failAfter { throw SynthesisError.invalidParameter(name: "segment", reason: "generated no codes") }
            }
            state.withLock { $0.completed += 1 }
            let seconds = Double(steps) * stepSeconds
            return SynthesisResult(samples: [Float](repeating: 0.25, count: steps * chunk.count), sampleRate: 24_000,
                                   timings: [StageTiming(stage: "steps", seconds: seconds)], segments: steps,
                                   timeToFirstAudio: stepSeconds, totalSeconds: seconds, appliedControls: [:])
        }
    }

    /// A raw HTTP/1.1 client socket on loopback: what a browser tab or `curl` that is closed looks like to the server.
    final class RawClient: Sendable {
        let fd: Int32

        init(port: Int) throws {
            #if canImport(Glibc)
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            try #require(fd >= 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(result == 0, "connect: errno \(errno)")
        }

        /// Reads give up after `seconds` without data (a test that waits for the server to end the connection).
        func setReceiveTimeout(seconds: Int) {
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        func send(_ method: String, _ path: String, contentType: String, body: [UInt8]) {
            let head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\r\n"
            let bytes = Array(head.utf8) + body
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }

        /// Reads until `count` bytes have arrived (or the connection ends), blocking a Dispatch thread: a blocked
        /// thread of Swift's cooperative pool (two on a 2-core machine) could starve the server's handlers.
        func read(atLeast count: Int) async -> [UInt8] {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: self.readBlocking(atLeast: count)) }
            }
        }

        private func readBlocking(atLeast count: Int) -> [UInt8] {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while received.count < count {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            return received
        }

        func close() {
            #if canImport(Glibc)
            _ = Glibc.close(fd)
            #else
            _ = Darwin.close(fd)
            #endif
        }
    }

    /// Waits up to `seconds` for `condition`.
    static func eventually(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    /// Every synthesising route, whole file and streamed: (name, path, JSON body, streamed).
    static let routes: [(name: String, path: String, body: String, streamed: Bool)] = [
        ("speech, whole file", "/v1/audio/speech", #"{"input": "一。", "response_format": "wav"}"#, false),
        ("speech, stream_format audio", "/v1/audio/speech", #"{"input": "一。", "response_format": "pcm", "stream_format": "audio"}"#, true),
        ("speech, stream_format sse", "/v1/audio/speech", #"{"input": "一。", "response_format": "pcm", "stream_format": "sse"}"#, true),
        ("tts, whole file", "/v1/tts", #"{"text": "一。", "format": "wav"}"#, false),
        ("tts, stream", "/v1/tts", #"{"text": "一。", "format": "pcm", "stream": true}"#, true),
    ]

    @Test(arguments: 0..<routes.count)
    func aClientThatGoesAwayStopsItsSynthesisWithinOneStep(route: Int) async throws {
        let (name, path, body, streamed) = Self.routes[route]
        let engine = StepEngine()
        try await TestServer(engine: engine).run { client in
            let port = try #require(client.port)
            let raw = try RawClient(port: port)
            raw.send("POST", path, contentType: "application/json", body: Array(body.utf8))
            if streamed {
                // The response has started: headers and the first steps' audio have arrived.
                #expect(await raw.read(atLeast: 2_000).count >= 2_000, "\(name)")
            } else {
                #expect(try await Self.eventually(5) { engine.counts.steps >= 3 }, "\(name): the synthesis did not start")
            }
            raw.close()
            let atClose = engine.counts.steps
            #expect(try await Self.eventually(5) { engine.counts.cancelled == 1 }, "\(name): the synthesis was not cancelled")
            let counts = engine.counts
            // A step that had begun when the client left finishes; no other step runs.
            #expect(counts.steps <= atClose + 1, "\(name): \(counts.steps - atClose) steps after the client left")
            #expect(counts.completed == 0 && counts.steps < engine.steps, "\(name)")
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"indextts_syntheses_total{source="direct",outcome="cancelled"} 1"#), "\(name): \(metrics)")
        }
    }

    @Test func aClientThatStaysGetsEverythingOnAConnectionThatStaysOpen() async throws {
        let engine = StepEngine(steps: 5, stepSeconds: 0.01)
        try await TestServer(engine: engine).run { client in
            // One connection (the test client's), three syntheses in a row: the watch leaves keep-alive alone.
            for _ in 0..<3 {
                let whole = try await client.postJSON("/v1/audio/speech", ["input": "一。", "response_format": "pcm"])
                #expect(whole.status == .ok && whole.bytes.count == 5 * 2_400 * 2)
                let streamed = try await client.postJSON("/v1/tts", ["text": "一。", "format": "pcm", "stream": true])
                #expect(streamed.status == .ok && streamed.bytes.count == 5 * 2_400 * 2)
                #expect(streamed.header("X-IndexTTS-Sample-Rate") == "24000")
            }
            #expect(engine.counts.cancelled == 0 && engine.counts.completed == 6)
        }
    }

    /// What the server logged, by message.
    final class LogBox: @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var messages: [String] { lock.withLock { lines } }
    }

    struct CapturingLogHandler: LogHandler {
        let box: LogBox
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            box.append("\(level) \(message) \(metadata.map { "\($0)" } ?? "")")
        }
    }

    /// A streamed synthesis that fails after its headers ends the response early and is logged as the failure it is,
    /// not as a client that went away (the server closing that connection used to be reported as the client's doing).
    @Test func aStreamThatFailsIsLoggedAsAFailureNotAsAClientThatLeft() async throws {
        let box = LogBox()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("server-\(UUID().uuidString)")
        var c = ServerConfiguration(dataDirectory: data)
        c.port = 0
        let queue = try SQLiteJobQueue(path: data.appendingPathComponent("jobs.sqlite").path)
        let server = try SpeechServer(configuration: c, engine: StepEngine(steps: 2, stepSeconds: 0, failAfter: 1), queue: queue,
                                      logger: Logger(label: "test") { _ in CapturingLogHandler(box: box) })
        try await server.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let raw = try RawClient(port: port)
            raw.setReceiveTimeout(seconds: 20)
            raw.send("POST", "/v1/tts", contentType: "application/json",
                     body: Array(#"{"text": "一。二。", "format": "pcm", "stream": true}"#.utf8))
            let received = await raw.read(atLeast: 1_000_000)  // until the server ends the connection
            raw.close()
            // Headers, the first chunk's 4,800 bytes of pcm, and no terminating chunk: the body was cut off.
            let text = String(decoding: received, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200") && received.count > 4_800, "\(received.count) bytes")
            #expect(!text.hasSuffix("0\r\n\r\n"), "the failed stream ended like a complete one")
            let logged = { box.messages.contains { $0.contains("streamed request failed after its headers") } }
            #expect(try await Self.eventually(5) { logged() }, "\(box.messages)")
            try await Task.sleep(for: .milliseconds(300))  // the closed connection's events have been handled
            #expect(!box.messages.contains { $0.contains("client closed the connection") }, "\(box.messages)")
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"indextts_syntheses_total{source="direct",outcome="failed"} 1"#), "\(metrics)")
        }
    }
}
