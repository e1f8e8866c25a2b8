import ArgumentParser
import Dispatch
import Foundation
import IndexTTS
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText
import Synchronization

extension BenchCommand {
    /// `indextts bench e2e`: IndexTTS2 end to end on a model folder, as `tools/bench/torch_e2e.py` runs upstream's
    /// `infer()`: load time, per-stage times, RTF and peak resident memory, for a new voice and again for the same
    /// clip (a cached voice where the engine keeps one), with the code count forced so that both sides do equal work.
    struct E2E: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "e2e",
            abstract: "IndexTTS2 end to end on a model folder: load, per-stage times, RTF, peak memory (new voice, then the same voice again).",
            discussion: """
                Codes are forced to --codes (no stop code before that count, stop there), as tools/bench/torch_e2e.py \
                forces upstream (min_new_tokens = max_mel_tokens). Stage times come from the pipeline's stage marks \
                (time between consecutive stages, grouped). Peak memory is VmHWM of /proc/self/status. \
                tools/bench/compare_e2e.sh runs this and the reference in one go.
                """)

        static let defaultText = "今天气温23度，我们去公园散步吧！Let's go to the park."

        @Option(help: "IndexTTS2 model folder (upstream's checkpoints/ layout).") var modelDir: String
        @Option(help: "Speaker reference clip (IndexTTS2 uses its first 15 s).") var ref: String
        @Option(help: "Text to speak.") var text = Self.defaultText
        @Option(help: "Semantic codes per segment, forced (stop code suppressed until this count; stop there).") var codes = 250
        @Option(help: "Beams (upstream's default 3).") var numBeams = 3
        @Option(help: "CFM Euler steps (upstream's 25).") var diffusionSteps = 25
        @Option(help: "Requests with the same clip after the first (the cached-voice case).") var repeats = 1
        @Option(help: "Sampler and CFM noise seed.") var seed: UInt64 = 2024
        @Option(help: "Model cache folder with the text grammars (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?
        @Option(help: "IndexTTS2 arithmetic: fp32 (upstream's), bf16 (S2M products in bfloat16) or auto.") var precision = "fp32"
        @Flag(help: "Print JSON instead of text.") var json = false
        @Flag(help: "Only load: each component on its own, with its time and the resident memory it adds (anonymous and file-backed), then exit.")
        var loadBreakdown = false

        func validate() throws {
            guard codes >= 1 else { throw ValidationError("--codes must be at least 1, got \(codes)") }
            guard numBeams >= 1 else { throw ValidationError("--num-beams must be at least 1, got \(numBeams)") }
            guard diffusionSteps >= 1 else { throw ValidationError("--diffusion-steps must be at least 1, got \(diffusionSteps)") }
            guard repeats >= 0 else { throw ValidationError("--repeats must not be negative, got \(repeats)") }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--text is empty") }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: modelDir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--model-dir \(modelDir): no such folder")
            }
            guard FileManager.default.isReadableFile(atPath: ref) else { throw ValidationError("--ref \(ref): no such file") }
        }

        func run() throws {
            AllocatorTuning.apply()
            if loadBreakdown { return try Self.printLoadBreakdown(modelDir: modelDir, cache: cache) }
            let start = DispatchTime.now().uptimeNanoseconds
            guard let arithmetic = ComputePrecision(choice: precision) else {
                throw ValidationError("--precision must be fp32, bf16 or auto; got '\(precision)'")
            }
            let engine = try IndexTTS2Engine.load(modelDirectory: modelDir, cache: ModelCache(root: cache), precision: arithmetic)
            let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let afterLoad = ProcessMemory.current()
            let clip = try IndexTTS2Clip.load(path: ref)
            let setup = IndexTTS2BenchSetup(machine: ComputeEnvironment.current(), modelDir: modelDir, ref: ref, text: text,
                                            codes: codes, numBeams: numBeams, diffusionSteps: diffusionSteps,
                                            loadSeconds: loadSeconds)
            let request = setup.request(clip: clip, seed: seed)
            // The cached voice: what the voice library stores for a clip (``SpeechEngine/analyzeVoice``), where the
            // engine offers it; otherwise the same clip again, measured anew.
            // Analysed after the first request: the engine keeps recent clips' analyses, so analysing first would
            // make the "new voice" request a cached one.
            var cachedRequest = request
            var conditioningCached = false
            var runs: [E2ERun] = []
            for index in 0...repeats {
                if index == 1, let conditioning = try? engine.analyzeVoice(samples: clip.samples, sampleRate: clip.sampleRate) {
                    cachedRequest.voiceConditioning = conditioning
                    conditioningCached = true
                }
                var pipelineRequest = try engine.pipelineRequest(for: index == 0 ? request : cachedRequest)
                pipelineRequest.sampling.minMelTokens = codes
                let clock = StageClock()
                pipelineRequest.stageFinished = { name in clock.mark(name) }
                let t0 = DispatchTime.now().uptimeNanoseconds
                clock.start(at: t0)
                let output = try engine.pipeline.synthesize(pipelineRequest)
                let total = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                let audio = Double(output.samples.count) / Double(output.sampleRate)
                guard output.segments.allSatisfy({ $0.codes.count == codes }) else {
                    throw ValidationError("the pipeline generated \(output.segments.map(\.codes.count)) codes, not \(codes) per segment")
                }
                let voice = index == 0 ? "new" : conditioningCached ? "cached" : "same clip again (no conditioning cache in the engine yet)"
                runs.append(E2ERun(voice: voice, seconds: total, audioSeconds: audio,
                                   realTimeFactor: total / audio, segments: output.segments.count,
                                   codes: output.segments.map(\.codes.count),
                                   latentPositions: output.segments.map(\.latentPositions), stages: clock.stages(),
                                   peakResidentBytes: ProcessMemory.current().peak,
                                   residentAfterBytes: ProcessMemory.current().resident,
                                   anonymousAfterBytes: ProcessMemory.current().anonymous, fileAfterBytes: ProcessMemory.current().file))
            }
            let report = BenchReport(setup: setup, results: E2EResults(
                refSeconds: Double(clip.samples.count) / Double(clip.sampleRate),
                precision: engine.pipeline.precision.rawValue,
                residentAfterLoadBytes: afterLoad.resident, peakAfterLoadBytes: afterLoad.peak,
                anonymousAfterLoadBytes: afterLoad.anonymous, fileAfterLoadBytes: afterLoad.file,
                runs: runs, peakResidentBytes: ProcessMemory.current().peak))
            if json { try report.printJSON() } else { report.printText() }
        }
    }
}

extension BenchCommand.E2E {
    /// Loads the folder's components one at a time through the same loaders as ``IndexTTS2Pipeline/load(folder:textGrammars:)``,
    /// printing seconds and the growth of anonymous and file-backed resident memory for each.
    static func printLoadBreakdown(modelDir: String, cache: String?) throws {
        printMachine()
        var held: [Any] = []
        var before = ProcessMemory.current()
        func step(_ name: String, _ body: () throws -> Any) rethrows {
            let t0 = DispatchTime.now().uptimeNanoseconds
            held.append(try body())
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            let after = ProcessMemory.current()
            print(name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%7.3f s  anon %+7.0f MB  file %+7.0f MB", seconds,
                         Double(after.anonymous - before.anonymous) / 1e6, Double(after.file - before.file) / 1e6))
            before = after
        }
        var folder: IndexTTS2ModelFolder? = nil
        try step("resolve folder (opens every file)") { folder = try IndexTTS2ModelFolder.resolve(root: modelDir); return 0 }
        guard let folder else { return }
        try step("gpt.pth (UnifiedVoice)") { try UnifiedVoice.load(checkpoint: folder.gpt, configYAML: folder.config) }
        try step("s2mel.pth (S2M)") { try S2M.load(checkpoint: folder.s2mel, configYAML: folder.config) }
        try step("wav2vec2bert_stats.pt") { try W2VBertStatistics.load(path: folder.w2vStatistics) }
        try step("feat1.pt, feat2.pt") {
            try EmotionMatrices.load(emotionMatrix: folder.emotionMatrix, speakerMatrix: folder.speakerMatrix,
                                     groups: EmotionMatrices.indexTTS2Groups)
        }
        if folder.generation == .indexTTS25 {
            try step(IndexTTS2ModelFolder.tiktokenFile) { try TiktokenTokenizer.indexTTS25(path: folder.bpe) }
        } else {
            try step("bpe.model") { try IndexTTSTokenizer(modelPath: folder.bpe) }
        }
        try step("w2v-BERT 2.0 (17 layers)") { try W2VBert.load(directory: folder.w2vBert) }
        if folder.generation == .indexTTS25 {
            try step("codec.pth (EnhancedCodec)") { try EnhancedCodec.load(checkpoint: folder.semanticCodec, configYAML: folder.config) }
        } else {
            try step("semantic codec") { try SemanticCodec.load(checkpoint: folder.semanticCodec, configYAML: folder.config) }
        }
        try step("CAM++") { try CAMPPlus.load(checkpoint: folder.campplus) }
        try step("BigVGAN") { try BigVGAN.load(directory: folder.bigvgan) }
        try step("text grammars") { try IndexTTSTextNormalizer.weText(directory: ModelCache(root: cache).textGrammars.path) }
        let m = ProcessMemory.current()
        print(String(format: "resident after all: %.0f MB (anon %.0f MB, file %.0f MB), peak %.0f MB", Double(m.resident) / 1e6,
                     Double(m.anonymous) / 1e6, Double(m.file) / 1e6, Double(m.peak) / 1e6))
        withExtendedLifetime(held) {}
    }
}

/// One request of `bench e2e`.
struct E2ERun: Encodable {
    let voice: String
    let seconds: Double
    let audioSeconds: Double
    let realTimeFactor: Double
    let segments: Int
    let codes: [Int]
    /// Per segment, the positions its latent pass ran (the codes alone after generation's cached prompt).
    let latentPositions: [Int]
    let stages: [StageClock.Stage]
    let peakResidentBytes: Int
    /// Resident memory when the request returned (anonymous and file-backed parts).
    let residentAfterBytes: Int
    let anonymousAfterBytes: Int
    let fileAfterBytes: Int
}

/// What `bench e2e` reports beside its ``IndexTTS2BenchSetup``.
struct E2EResults: Encodable {
    let refSeconds: Double
    /// The engine's arithmetic (`fp32` or `bf16`).
    let precision: String
    let residentAfterLoadBytes: Int
    let peakAfterLoadBytes: Int
    let anonymousAfterLoadBytes: Int
    let fileAfterLoadBytes: Int
    let runs: [E2ERun]
    let peakResidentBytes: Int
}

extension BenchReport<E2EResults> {
    func printText() {
        func mb(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1e6) }
        printMachine()
        print("model \(setup.modelDir); reference \(setup.ref) (\(String(format: "%.2f", results.refSeconds)) s); text \(setup.text)")
        print("codes forced to \(setup.codes) per segment, \(setup.numBeams) beams, \(setup.diffusionSteps) CFM steps, arithmetic \(results.precision)")
        print("load: \(String(format: "%.2f", setup.loadSeconds)) s (resident \(mb(results.residentAfterLoadBytes)): anon \(mb(results.anonymousAfterLoadBytes)), "
              + "file \(mb(results.fileAfterLoadBytes)); peak \(mb(results.peakAfterLoadBytes)))")
        for run in results.runs {
            print("\(run.voice) voice: " + String(format: "%.2f s for %.2f s of audio, RTF %.2f", run.seconds, run.audioSeconds,
                                                  run.realTimeFactor)
                  + " (\(run.segments) segment\(run.segments == 1 ? "" : "s"), codes \(run.codes.map(String.init).joined(separator: ",")), "
                  + "latent pass \(run.latentPositions.map(String.init).joined(separator: ",")) positions), "
                  + "peak \(mb(run.peakResidentBytes))")
            print("  resident after: \(mb(run.residentAfterBytes)) (anon \(mb(run.anonymousAfterBytes)), file \(mb(run.fileAfterBytes)))")
            for stage in run.stages {
                print("  \(stage.name.padding(toLength: 50, withPad: " ", startingAt: 0)) \(String(format: "%8.3f s", stage.seconds))")
            }
        }
        print("peak resident memory: \(mb(results.peakResidentBytes))")
    }
}

/// Times the pipeline's stages from its stage marks (``IndexTTS2Request/stageFinished``): the time since the previous
/// mark is charged to the group of the mark that ends it, summed over segments.
final class StageClock: Sendable {
    struct Stage: Encodable {
        let name: String
        var seconds: Double
    }

    /// Mark (upstream's stage name) → the group its interval is charged to; stages are listed in this order.
    static let groups: [(group: String, marks: [String])] = [
        ("reference audio: resample 22.05 → 16 kHz", ["audio_16k"]),
        ("speaker w2v-BERT (features, 17 layers, stats)", ["spk_input_features", "spk_attention_mask", "spk_cond_emb"]),
        ("semantic codec quantize", ["S_ref"]),
        ("reference mel", ["ref_mel"]),
        ("CAM++ (fbank + network)", ["feat", "style"]),
        ("length regulator (prompt)", ["prompt_condition", "ref_target_lengths"]),
        ("emotion w2v-BERT (16 kHz load, features, layers)", ["emo_audio", "emo_input_features", "emo_attention_mask", "emo_cond_emb"]),
        ("emotion vectors, speaker latent, text", ["text_tokens", "emovec_merged", "emovec"]),
        ("GPT generate", ["codes_raw", "speech_conditioning_latent", "codes", "code_lens"]),
        ("GPT latent pass", ["latent"]),
        ("S2M conditions (gpt_layer + vq2emb, or 2.5's codec decode; regulator)", ["latent_proj", "S_infer_vq", "S_infer", "target_lengths", "cond",
                                                           "cat_condition", "cfm_noise"]),
        ("CFM", ["vc_target"]),
        ("BigVGAN", ["wav_bigvgan"]),
        ("output (clamp, join)", ["wav_segment", "wav"]),
    ]

    private struct State {
        var last: UInt64 = 0
        var seconds: [String: Double] = [:]
    }
    private let state = Mutex(State())

    func start(at time: UInt64) {
        state.withLock { $0.last = time }
    }

    func mark(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        let base = name.split(separator: "@").first.map(String.init) ?? name
        let group = Self.groups.first { $0.marks.contains(base) }?.group ?? "other"
        state.withLock {
            $0.seconds[group, default: 0] += Double(now - $0.last) / 1e9
            $0.last = now
        }
    }

    func stages() -> [Stage] {
        let seconds = state.withLock { $0.seconds }
        return (Self.groups.map(\.group) + ["other"]).compactMap { group in seconds[group].map { Stage(name: group, seconds: $0) } }
    }
}

/// This process's memory from /proc/self/status (VmRSS now, VmHWM the peak); zeros where /proc is absent.
struct ProcessMemory {
    var resident = 0
    var peak = 0
    /// `RssAnon` (heap: copies, activations) and `RssFile` (mapped checkpoint pages).
    var anonymous = 0
    var file = 0

    static func current() -> ProcessMemory {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return ProcessMemory(resident: 0, peak: peakResidentBytes())
        }
        return parse(status)
    }

    /// Reads `VmRSS:` and `VmHWM:` (kB) from the text of /proc/self/status.
    static func parse(_ status: String) -> ProcessMemory {
        var m = ProcessMemory()
        for line in status.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { continue }
            if fields[0] == "VmRSS:" { m.resident = kilobytes * 1024 }
            if fields[0] == "VmHWM:" { m.peak = kilobytes * 1024 }
            if fields[0] == "RssAnon:" { m.anonymous = kilobytes * 1024 }
            if fields[0] == "RssFile:" { m.file = kilobytes * 1024 }
        }
        return m
    }
}
