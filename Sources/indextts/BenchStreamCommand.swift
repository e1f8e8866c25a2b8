import ArgumentParser
import Dispatch
import Foundation
import IndexTTS
import IndexTTSModels
import IndexTTSTensor

extension BenchCommand {
    /// `indextts bench stream`: IndexTTS2 (or IndexTTS-2.5) windowed streaming on a model folder — time to first audio, the stream's
    /// real-time factor and whether it starves, for 1, 2, 4… concurrent requests, beside the same request unstreamed.
    struct Stream: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stream",
            abstract: "IndexTTS2 streaming: time to first audio, stream RTF and starvation for N concurrent requests, beside the unstreamed request.",
            discussion: """
                Every request speaks --text with the cached voice of --ref (analysed once, as a library voice), codes \
                forced to --codes (stop code masked until then, stop there), the same seed. First the request once \
                unstreamed; then, for each --concurrency N, N streamed requests started together on N threads. \
                Time to first audio counts from the start of the round; a window starves when it is delivered after \
                the audio before it has finished playing (playback starts at the first window and pauses while \
                starved; the longest stall is the longest pause). Throughput is \
                compared with N unstreamed requests one after another (N × the unstreamed time). Concurrent \
                requests share their GPT decoding passes (the round reports decoding steps per pass); \
                --compare-unbatched repeats each round with every request decoding alone.
                """)

        @Option(help: "IndexTTS2 model folder (upstream's checkpoints/ layout).") var modelDir: String
        @Option(help: "Speaker reference clip (IndexTTS2 uses its first 15 s).") var ref: String
        @Option(help: "Text to speak.") var text = E2E.defaultText
        @Option(help: "Semantic codes per segment, forced.") var codes = 100
        @Option(help: "Beams (upstream's default 3).") var numBeams = 3
        @Option(help: "CFM Euler steps (upstream's 25).") var diffusionSteps = 25
        @Option(help: "Codes per window (upstream 100).") var chunkSize = 100
        @Option(help: "Codes shared by consecutive windows (upstream 5).") var overlapSize = 5
        @Option(help: "Codes in the first window (default: --chunk-size).") var firstChunkSize: Int?
        @Option(help: "IndexTTS-2.5: codes past a window's end its codec decode reads first (default: the codec's context radius, 40).")
        var lookahead: Int?
        @Option(help: "Comma-separated numbers of concurrent streamed requests.") var concurrency = "1,2,4"
        @Flag(help: "Also run each round with every request's GPT decoding steps alone (no shared passes), to compare.")
        var compareUnbatched = false
        @Flag(help: "Also run each concurrency level with unstreamed requests (whole files), to compare.")
        var wholeRounds = false
        @Flag(help: "Then measure the seams: the stream against the same codes rendered whole from the same CFM noise (per-window mel distance, waveform SNR inside and outside the cross-fades).")
        var seams = false
        @Option(help: "Sampler and CFM noise seed.") var seed: UInt64 = 2024
        @Option(help: "Model cache folder with the text grammars (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?
        @Option(help: "IndexTTS2 arithmetic: fp32 (upstream's), bf16 (S2M products in bfloat16, GPT weights fp16) or auto.")
        var precision = "fp32"
        @Flag(help: "Print JSON instead of text.") var json = false

        var levels: [Int] { concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        var streaming: StreamingOptions {
            StreamingOptions(chunkSize: chunkSize, overlapSize: overlapSize, firstChunkSize: firstChunkSize, lookahead: lookahead)
        }

        func validate() throws {
            guard codes >= 1, numBeams >= 1, diffusionSteps >= 1 else {
                throw ValidationError("--codes, --num-beams and --diffusion-steps must be at least 1")
            }
            guard !levels.isEmpty, levels.allSatisfy({ (1...64).contains($0) }),
                  levels.count == concurrency.split(separator: ",").count else {
                throw ValidationError("--concurrency: comma-separated counts 1…64, got '\(concurrency)'")
            }
            do { try streaming.validate() } catch { throw ValidationError("\(error)") }
            guard FileManager.default.isReadableFile(atPath: ref) else { throw ValidationError("--ref \(ref): no such file") }
            guard ComputePrecision(choice: precision) != nil else {
                throw ValidationError("--precision must be fp32, bf16 or auto; got '\(precision)'")
            }
        }

        func run() throws {
            AllocatorTuning.apply()
            let loadStart = DispatchTime.now().uptimeNanoseconds
            let engine = try IndexTTS2Engine.load(modelDirectory: modelDir, cache: ModelCache(root: cache),
                                                  precision: ComputePrecision(choice: precision) ?? .float32)
            let loadSeconds = Self.since(loadStart)
            let clip = try IndexTTS2Clip.load(path: ref)
            let setup = IndexTTS2BenchSetup(machine: ComputeEnvironment.current(), modelDir: modelDir, ref: ref, text: text,
                                            codes: codes, numBeams: numBeams, diffusionSteps: diffusionSteps,
                                            loadSeconds: loadSeconds)
            var request = setup.request(clip: clip, seed: seed)
            request.voiceConditioning = try engine.analyzeVoice(samples: clip.samples, sampleRate: clip.sampleRate)
            var base = try engine.pipelineRequest(for: request)
            base.sampling.minMelTokens = codes

            // Unstreamed: once to fill the conditioning caches (the rounds find the voice's latents cached), then timed.
            var warm = base  // short: only the voice's conditioning matters
            (warm.sampling.maxMelTokens, warm.sampling.minMelTokens, warm.sampling.diffusionSteps) = (2, 2, 1)
            _ = try engine.pipeline.synthesize(warm)
            let wholeStart = DispatchTime.now().uptimeNanoseconds
            let whole = try engine.pipeline.synthesize(base)
            let wholeSeconds = Self.since(wholeStart)
            let wholeAudio = Double(whole.samples.count) / Double(whole.sampleRate)
            var streamed = base
            streamed.streaming = streaming
            var report = BenchReport(setup: setup, results: StreamResults(
                streaming: engine.pipeline.appliedStreaming(streaming).summary, precision: engine.pipeline.precision.rawValue,
                unstreamed: .init(seconds: wholeSeconds, audioSeconds: wholeAudio, realTimeFactor: wholeSeconds / wholeAudio,
                                  timings: whole.timings.map { .init(stage: $0.stage, seconds: $0.seconds) }),
                rounds: [], seams: nil, peakResidentBytes: 0))
            // Text: each part as soon as it is measured (a long run cut short keeps what it measured).
            if !json { report.printHeader() }
            for n in levels {
                for (batched, stream) in [(true, true), (false, true), (true, false), (false, false)]
                    where (batched || compareUnbatched) && (stream || wholeRounds) {
                    let pipeline = batched ? engine.pipeline : engine.pipeline.withoutDecodeBatching()
                    let round = try Self.round(pipeline: pipeline, request: stream ? streamed : base, concurrent: n,
                                               unstreamedSeconds: wholeSeconds)
                    report.results.rounds.append(round)
                    if !json { report.printRound(round) }
                }
            }
            if seams {
                let measured = try engine.pipeline.measureStreamSeams(streamed, codes: codes)
                report.results.seams = measured
                if !json { report.printSeams(measured) }
            }
            report.results.peakResidentBytes = ProcessMemory.current().peak
            if json {
                try report.printJSON()
            } else {
                print(String(format: "peak resident memory: %.0f MB", Double(report.results.peakResidentBytes) / 1e6))
            }
        }

        static func since(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

        /// What one streamed request saw: each delivery's time since the round started and its samples.
        final class Deliveries: @unchecked Sendable {
            // @unchecked: written by one synthesis thread, read after the round's group has finished.
            var times: [Double] = []
            var samples: [Int] = []
            var total = 0.0
            var windows = 0
            var timings: [StageTiming] = []
            var error: String? = nil
        }

        /// `n` streamed requests started together, each on its own thread.
        static func round(pipeline: IndexTTS2Pipeline, request: IndexTTS2Request, concurrent n: Int,
                          unstreamedSeconds: Double) throws -> StreamRound {
            let before = pipeline.decodeBatcher?.statistics
            let group = DispatchGroup()
            let results = (0..<n).map { _ in Deliveries() }
            let start = DispatchTime.now().uptimeNanoseconds
            for k in 0..<n {
                let box = results[k]
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    do {
                        let output = try pipeline.synthesize(request) { p in
                            box.times.append(since(start))
                            box.samples.append(p.chunk.count)
                        }
                        box.windows = output.streamWindows.count
                        box.timings = output.timings
                    } catch {
                        box.error = "\(error)"
                    }
                    box.total = since(start)
                }
            }
            group.wait()
            let wall = since(start)
            if let error = results.compactMap(\.error).first { throw ValidationError("streamed request failed: \(error)") }
            let rate = Double(IndexTTS2Pipeline.sampleRate)
            let requests = results.map { box -> StreamRound.Request in
                // A player that starts with the first delivery and, when the next piece is not there by the time the
                // audio before it has played, pauses until it arrives (a stall) and plays on from there.
                var played = 0, starved = 0
                var worst = 0.0
                var playedUntil = box.times.first ?? 0  // when the audio delivered so far has finished playing
                for (k, t) in box.times.enumerated() {
                    if k > 0, t > playedUntil {
                        starved += 1
                        worst = max(worst, t - playedUntil)
                        playedUntil = t
                    }
                    playedUntil += Double(box.samples[k]) / rate
                    played += box.samples[k]
                }
                let audio = Double(played) / rate
                return .init(timeToFirstAudio: box.times.first ?? box.total, seconds: box.total, audioSeconds: audio,
                             realTimeFactor: box.total / audio, windows: box.windows, starvedWindows: starved,
                             longestStall: worst)
            }
            let audio = requests.map(\.audioSeconds).reduce(0, +)
            let decoding = pipeline.decodeBatcher.map { batcher -> StreamRound.Decoding in
                let (now, then) = (batcher.statistics, before ?? .init())
                return .init(steps: now.steps - then.steps, passes: now.passes - then.passes)
            }
            var stages: [String: Double] = [:]
            for box in results { for t in box.timings { stages[t.stage, default: 0] += t.seconds / Double(n) } }
            let order = results.first?.timings.map(\.stage) ?? []
            return StreamRound(concurrent: n, streamed: request.streaming != nil, decoding: decoding,
                               meanStageSeconds: order.map { .init(stage: $0, seconds: stages[$0] ?? 0) },
                               wallSeconds: wall, requests: requests,
                               meanTimeToFirstAudio: requests.map(\.timeToFirstAudio).reduce(0, +) / Double(n),
                               audioSecondsPerWallSecond: audio / wall,
                               speedupOverSequentialUnstreamed: Double(n) * unstreamedSeconds / wall)
        }
    }
}

struct StreamRound: Encodable {
    struct Request: Encodable {
        let timeToFirstAudio: Double
        let seconds: Double
        let audioSeconds: Double
        let realTimeFactor: Double
        let windows: Int
        let starvedWindows: Int
        let longestStall: Double
    }
    /// GPT decoding steps and the passes over the weights that ran them (``DecodeStepBatcher``), this round.
    struct Decoding: Encodable {
        let steps: Int
        let passes: Int
    }
    let concurrent: Int
    /// Streamed windows (false: whole requests, delivered per segment).
    let streamed: Bool
    /// Shared decoding passes of the round (nil: every request decoded alone).
    let decoding: Decoding?
    /// Each stage's wall time averaged over the round's requests (stages overlap while streaming).
    let meanStageSeconds: [StreamResults.Whole.Stage]
    let wallSeconds: Double
    let requests: [Request]
    let meanTimeToFirstAudio: Double
    let audioSecondsPerWallSecond: Double
    /// N unstreamed requests one after another (N × the unstreamed time) over this round's wall time.
    let speedupOverSequentialUnstreamed: Double
}

/// What `bench stream` reports beside its ``IndexTTS2BenchSetup``.
struct StreamResults: Encodable {
    struct Whole: Encodable {
        struct Stage: Encodable { let stage: String; let seconds: Double }
        let seconds: Double
        let audioSeconds: Double
        let realTimeFactor: Double
        let timings: [Stage]
    }
    let streaming: String
    let precision: String
    let unstreamed: Whole
    var rounds: [StreamRound]
    var seams: IndexTTS2StreamSeams?
    var peakResidentBytes: Int
}

extension BenchReport<StreamResults> {
    func printHeader() {
        let unstreamed = results.unstreamed
        printMachine()
        print("model \(setup.modelDir); reference \(setup.ref); text \(setup.text)")
        print("codes forced to \(setup.codes), \(setup.numBeams) beams, \(setup.diffusionSteps) CFM steps, arithmetic \(results.precision); windows: \(results.streaming); load \(String(format: "%.2f", setup.loadSeconds)) s")
        print(String(format: "unstreamed: %.2f s for %.2f s of audio, RTF %.2f (time to first audio = the whole request)",
                     unstreamed.seconds, unstreamed.audioSeconds, unstreamed.realTimeFactor)
              + " — " + unstreamed.timings.map { String(format: "%@ %.2f s", $0.stage, $0.seconds) }.joined(separator: ", "))
        fflush(nil)
    }

    func printSeams(_ seams: IndexTTS2StreamSeams) {
        print("seams (stream against the same codes rendered whole from the same CFM noise; codes unchanged by streaming: \(seams.codesUnchanged)):")
        for w in seams.windows {
            print(String(format: "  window %d, codes %d..<%d: mel mean |Δ| %.4f", w.index, w.codes[0], w.codes[1], w.melDistance))
        }
        print(String(format: "  unrelated noise (two whole renderings): mel mean |Δ| %.4f, SNR %.2f dB", seams.unrelatedMelDistance, seams.snrUnrelated))
        print(String(format: "  waveform SNR outside the cross-fades %.2f dB (%d samples), inside %.2f dB (%d samples)",
                     seams.snrOutsideCrossFades, seams.samplesOutside, seams.snrInsideCrossFades, seams.samplesInside))
        if let snr = seams.snrLatentVersusHidden, let mel = seams.melLatentVersusHidden {
            print(String(format: "  unstreamed (latent pass) against the whole rendering from generation's hidden states: SNR %.2f dB, mel mean |Δ| %.4f",
                         snr, mel))
        }
        fflush(nil)
    }

    func printRound(_ round: StreamRound) {
        let decoding = round.decoding.map {
            String(format: "GPT steps shared: %d steps in %d passes (%.2f per pass)", $0.steps, $0.passes,
                   Double($0.steps) / Double(max(1, $0.passes)))
        } ?? "GPT steps alone (no shared passes)"
        print(String(format: "%@ ×%d: wall %.2f s, mean time to first audio %.2f s (%.0f%% of unstreamed), %.3f s of audio per s, %.2f× N unstreamed one after another; ",
                     round.streamed ? "streamed" : "whole", round.concurrent, round.wallSeconds, round.meanTimeToFirstAudio,
                     100 * round.meanTimeToFirstAudio / results.unstreamed.seconds, round.audioSecondsPerWallSecond,
                     round.speedupOverSequentialUnstreamed) + decoding)
        print("  mean per request: " + round.meanStageSeconds.map { String(format: "%@ %.2f s", $0.stage, $0.seconds) }.joined(separator: ", "))
        for (k, r) in round.requests.enumerated() {
            print(String(format: "  request %d: first audio %.2f s, done %.2f s, %.2f s of audio, stream RTF %.2f, %d windows, %d starved (longest stall %.2f s)",
                         k, r.timeToFirstAudio, r.seconds, r.audioSeconds, r.realTimeFactor, r.windows, r.starvedWindows,
                         r.longestStall))
        }
        fflush(nil)
    }
}
