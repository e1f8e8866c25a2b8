import ArgumentParser
import Dispatch
import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure speed.", subcommands: [Ops.self, Audio.self, GPT.self, Voice.self, English.self, Text.self, Vocoder.self, S2M.self, Conditioning.self, Emotion.self, E2E.self, Stream.self])

    struct Ops: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute-core kernels: GEMM (ours vs OpenBLAS alone), decode-shaped GEMV bandwidth, memory bandwidth, attention (fp32; bf16 where native).",
            discussion: "Build with `swift build -c release` first; debug builds are not representative.")

        @Option(help: "Timed repetitions per probe (best is reported).")
        var repetitions = 11

        @Option(help: "Matrices in the decode sweep.")
        var layers = 24

        @Option(help: "Model width of the decode-shaped product (MLP width is 4×).")
        var width = 1280

        @Flag(help: "Only the attention probes (S2M shape: 2×8 heads, 1,291 frames, width 64): fp32 on our kernel and on BLAS products; bf16 on its kernel and oneDNN where the CPU has bf16 products.")
        var attentionOnly = false

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            AllocatorTuning.apply()
            var options = OpsBenchmark.Options()
            options.repetitions = repetitions
            options.layers = layers
            options.width = width
            let results = attentionOnly ? OpsBenchmark.attention(repetitions: repetitions) : OpsBenchmark.run(options)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted]
                struct Report: Encodable { let machine: ComputeEnvironment; let results: [OpsBenchmark.Measurement] }
                print(String(decoding: try encoder.encode(Report(machine: .current(), results: results)), as: UTF8.self))
                return
            }
            printMachine()  // INDEXTTS_THREADS / OPENBLAS_NUM_THREADS override the thread counts
            for r in results {
                let name = r.name.padding(toLength: 58, withPad: " ", startingAt: 0)
                print("\(name) \(String(format: "%9.3f ms", r.seconds * 1e3))  \(String(format: "%8.1f", r.rate)) \(r.unit)")
            }
            if let copy = results.first(where: { $0.name.hasPrefix("copy") }),
               let read = results.first(where: { $0.name.hasPrefix("read") }),
               let sweep = results.first(where: { $0.name.hasPrefix("gemv sweep over") }) {
                print(String(format: "decode sweep: %.0f%% of copy bandwidth, %.0f%% of read bandwidth",
                             100 * sweep.rate / copy.rate, 100 * sweep.rate / read.rate))
            }
            let gemm = results.filter { $0.name.hasPrefix("gemm") }
            for pair in stride(from: 0, to: gemm.count - 1, by: 2) {
                print(String(format: "%@: ours / OpenBLAS alone = %.0f%%", gemm[pair].name, 100 * gemm[pair].rate / gemm[pair + 1].rate))
            }
        }
    }

    struct Audio: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reference-clip front end on 15 s of audio: mel, fbank, w2v-BERT features, resampling.",
            discussion: "For one core: INDEXTTS_THREADS=1 OPENBLAS_NUM_THREADS=1 indextts bench audio")

        @Option(help: "Seconds of audio.") var seconds: Double = 15
        @Option(help: "Timed repetitions per probe (best is reported).") var repetitions = 11

        func run() throws {
            AllocatorTuning.apply()
            printMachine()
            for r in try AudioBenchmark.run(seconds: seconds, repetitions: repetitions) {
                let name = r.name.padding(toLength: 48, withPad: " ", startingAt: 0)
                print("\(name) \(String(format: "%8.2f ms", r.seconds * 1e3))  \(String(format: "%8.0f", r.rate)) \(r.unit)")
            }
        }
    }

    struct GPT: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gpt",
            abstract: "UnifiedVoice GPT-2 core (random weights, IndexTTS2 size by default): prefill, cached decode, and the latent pass whole and after the cached prompt.",
            discussion: "Writes the random weights (about 1.9 GB at full size) to a temporary file first.")

        @Option(help: "Layers.") var layers = 24
        @Option(help: "Model width.") var width = 1280
        @Option(help: "Attention heads.") var heads = 20
        @Option(help: "Prefill positions.") var prefill = 128
        @Option(help: "Decode steps.") var steps = 100
        @Option(help: "Beams decoded together in the second decode measurement (IndexTTS2 uses 3).") var beams = 3
        @Option(help: "Concurrent requests whose beams share one pass in the last measurement (DecodeStepBatcher).")
        var requests = 4
        @Option(help: "Codes of the latent pass measured after the prefill's prompt (whole, and after the cached prompt).")
        var latentCodes = 250
        @Option(help: "Weight precision of the projections: f32 or f16.") var precision = "f32"

        func validate() throws {
            guard beams >= 1, requests >= 1, latentCodes >= 1, prefill >= 1 else {
                throw ValidationError("--beams, --requests, --latent-codes and --prefill must be at least 1")
            }
            guard ["f32", "f16"].contains(precision) else { throw ValidationError("--precision must be f32 or f16") }
        }

        func run() throws {
            AllocatorTuning.apply()
            let configuration = GPT2Configuration(modelDimension: width, layers: layers, heads: heads)
            printMachine()
            for r in try GPT2Benchmark.run(configuration: configuration, prefill: prefill, steps: steps, beams: beams,
                                           requests: requests, latentCodes: latentCodes, halfPrecision: precision == "f16") {
                print("\(r.name): \(String(format: "%.2f ms", r.seconds * 1e3)), \(String(format: "%.1f", r.rate)) \(r.unit); \(r.detail)")
            }
            print("peak resident memory: \(String(format: "%.0f", Double(peakResidentBytes()) / 1e6)) MB")
        }
    }
}

extension BenchCommand {
    /// `indextts bench voice`: the default voice over a text corpus, per stage, as real-time factor.
    struct Voice: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "voice",
            abstract: "Default voice speed: synthesise every line of a text file (neutral prosody) and report the real-time factor.")
        @Option(help: "UTF-8 text, one sentence per line.") var textFile = "tools/fixtures/corpus/zh_g2p.txt"
        @Option(help: "Lines to use (from the top).") var lines = 30
        @Option(help: "Model cache folder (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?

        static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

        func run() throws {
            AllocatorTuning.apply()
            guard let data = FileManager.default.contents(atPath: textFile), let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("cannot read \(textFile)")
            }
            let sentences = Array(text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.prefix(lines))
            let loadStart = Date()
            let engine = try DefaultVoiceEngine.load(cache: ModelCache(root: cache))
            let load = Date().timeIntervalSince(loadStart)
            _ = try engine.synthesize(SynthesisRequest(text: "预热一下。"))  // warm-up
            // Networks over each whole line, as the reference runtime runs them.
            var frontend = 0.0, acoustic = 0.0, vocoder = 0.0, audio = 0.0
            for sentence in sentences {
                let r = try engine.synthesizeUnsplit(sentence)
                frontend += r.timings[0].seconds
                acoustic += r.timings[1].seconds
                vocoder += r.timings[2].seconds
                audio += Double(r.samples.count) / 24000
            }
            let total = frontend + acoustic + vocoder
            printMachine()
            print("\(sentences.count) sentences, \(Self.fixed(audio, 1)) s of audio; model load \(Self.fixed(load, 3)) s")
            print("networks on whole lines:")
            print("  frontend: \(Self.fixed(frontend, 3)) s (RTF \(Self.fixed(frontend / audio, 4)))")
            print("  acoustic: \(Self.fixed(acoustic, 3)) s (RTF \(Self.fixed(acoustic / audio, 4)))")
            print("  vocoder: \(Self.fixed(vocoder, 3)) s (RTF \(Self.fixed(vocoder / audio, 4)))")
            print("  total: \(Self.fixed(total, 3)) s, RTF \(Self.fixed(total / audio, 4))")
            // The engine end to end: punctuation pieces, pauses, numbers, progress.
            var engineSeconds = 0.0, engineAudio = 0.0, firstAudio = 0.0
            for sentence in sentences {
                let r = try engine.synthesize(SynthesisRequest(text: sentence))
                engineSeconds += r.totalSeconds
                engineAudio += r.audioSeconds
                firstAudio += r.timeToFirstAudio
            }
            let meanFirst = firstAudio / Double(sentences.count) * 1000
            print("engine end to end: \(Self.fixed(engineSeconds, 3)) s for \(Self.fixed(engineAudio, 1)) s of audio (with pauses), RTF \(Self.fixed(engineSeconds / engineAudio, 4)), mean time to first audio \(Self.fixed(meanFirst, 1)) ms")
            print("peak resident memory: \(Self.fixed(Double(peakResidentBytes()) / 1e6, 0)) MB")
        }
    }
}

/// Peak resident set size of this process (getrusage; Linux reports kilobytes).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}

extension BenchCommand {
    struct Text: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Text front end on a long chapter: IndexTTS2 normalisation, BPE tokenisation and segmentation.",
            discussion: "Without --text-file, a 10,000-character chapter is assembled from tools/fixtures/corpus/zh_g2p.txt.")

        @Option(help: "UTF-8 text (default: 10,000 characters of the G2P corpus).") var textFile: String?
        @Option(help: "SentencePiece model (IndexTTS2's bpe.model; default: the test fixture's CJK model).")
        var bpe = "Tests/Fixtures/text/bpe_cjk.model"
        @Option(help: "Characters to use.") var characters = 10_000
        @Option(help: "Timed repetitions (best is reported).") var repetitions = 5
        @Option(help: "Model cache folder holding the text grammars (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?
        @Option(help: "How numbers, symbols and abbreviations are read: corrected (default: the reading layer in front) or upstream (IndexTTS2 byte for byte).")
        var readings = ReadingMode.corrected.rawValue

        func validate() throws {
            guard ReadingMode(rawValue: readings) != nil else {
                throw ValidationError("--readings must be one of: \(ReadingMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard characters >= 1 else { throw ValidationError("--characters must be at least 1") }
        }

        func run() throws {
            AllocatorTuning.apply()
            printMachine()
            let mode = ReadingMode(rawValue: readings) ?? .corrected
            var text: String
            if let textFile {
                guard let data = FileManager.default.contents(atPath: textFile) else { throw ValidationError("cannot read \(textFile)") }
                text = String(decoding: data, as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: "tools/fixtures/corpus/zh_g2p.txt") else {
                    throw ValidationError("run from the repository root or pass --text-file")
                }
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
                text = ""
                var i = 0
                while text.count < characters { text += lines[i % lines.count] + "\n"; i += 1 }
            }
            text = String(text.prefix(characters))
            let tokenizer = try IndexTTSTokenizer(modelPath: bpe)
            var t = Date()
            let normalizer = try IndexTTSTextNormalizer.weText(directory: ModelCache(root: cache).textGrammars.path, readings: mode)
            print(String(format: "grammars loaded in %.0f ms", Date().timeIntervalSince(t) * 1e3))
            print("readings: \(mode.rawValue)")
            let segmenter = try TextSegmenter()
            var best = (normalize: Double.infinity, tokenize: Double.infinity, segment: Double.infinity)
            var tokens = 0, segments = 0
            for _ in 0..<max(1, repetitions) {
                t = Date()
                let normalized = normalizer.normalize(text)
                best.normalize = min(best.normalize, Date().timeIntervalSince(t))
                t = Date()
                let pieces = tokenizer.tokenize(normalized)
                best.tokenize = min(best.tokenize, Date().timeIntervalSince(t))
                t = Date()
                segments = segmenter.segments(pieces).count
                best.segment = min(best.segment, Date().timeIntervalSince(t))
                tokens = pieces.count
            }
            print("\(text.count) characters → \(tokens) tokens in \(segments) segments (best of \(repetitions))")
            print(String(format: "normalise: %.1f ms\ntokenise:  %.1f ms\nsegment:   %.1f ms\ntotal:     %.1f ms",
                         best.normalize * 1e3, best.tokenize * 1e3, best.segment * 1e3,
                         (best.normalize + best.tokenize + best.segment) * 1e3))
        }
    }

    struct Vocoder: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "BigVGAN v2 vocoder (random weights; the 22 kHz 80-band model's size by default or a config.json).",
            discussion: "Writes the random weights (about 450 MB at full size) to a temporary file first.")

        @Option(help: "Mel frames to vocode (86.13 per second at 22.05 kHz; default 2 s).") var frames = 172
        @Option(help: "Timed runs (best is reported).") var runs = 3
        @Option(help: "A BigVGAN config.json to size the model (default: nvidia/bigvgan_v2_22khz_80band_256x).") var config: String?
        @Flag(help: "Also time the model with every convolution direct (no Winograd), alternating in the same run, and print the largest waveform difference.")
        var compareDirect = false

        func validate() throws {
            guard frames >= 1 else { throw ValidationError("--frames must be at least 1") }
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        }

        func run() throws {
            AllocatorTuning.apply()
            let configuration = try config.map(BigVGANConfiguration.load(path:)) ?? BigVGANConfiguration()
            printMachine()
            let r = try BigVGANBenchmark.run(configuration: configuration, frames: frames, runs: runs,
                                             compareDirect: compareDirect)
            print(String(format: "BigVGAN %.1f M parameters, loaded in %.2f s", Double(r.parameters) / 1e6, r.loadSeconds))
            print("resblock convolutions: \(r.winogradConvolutions.winograd) of \(r.winogradConvolutions.total) as Winograd F(4, 4) "
                  + "(\(BigVGAN.defaultWinogradThreshold == .max ? "INDEXTTS_WINOGRAD=off" : "channels × kernel ≥ \(BigVGAN.defaultWinogradThreshold)"))")
            print(String(format: "%d frames → %d samples (%.2f s at %d Hz): %.3f s (best of %d), RTF %.3f",
                         r.frames, r.samples, Double(r.samples) / Double(r.sampleRate), r.sampleRate, r.seconds, runs,
                         r.realTimeFactor))
            if let direct = r.direct {
                print(String(format: "every convolution direct, same run (alternating): %.3f s (%.2fx); largest waveform difference %.2e (peak |sample| %.3f)",
                             direct.seconds, direct.seconds / r.seconds, direct.maximumDifference, direct.peak))
            }
            print("peak resident memory: \(String(format: "%.0f", Double(peakResidentBytes()) / 1e6)) MB"
                  + (compareDirect ? " (both models loaded)" : ""))
        }
    }

    struct Conditioning: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reference conditioning at IndexTTS2's sizes (random weights): w2v-BERT features, w2v-BERT 2.0 to layer 17, stats, MaskGCT codec.",
            discussion: "Writes the random weights (about 1.7 GB for 17 layers) to a temporary file first. The clip is synthetic unless --clip is given.")

        @Option(help: "Seconds of audio (IndexTTS2 cuts references to 15 s).") var seconds: Double = 15
        @Option(help: "A reference clip instead of synthetic audio (cut to --seconds).") var clip: String?
        @Option(help: "Timed runs (best is reported).") var runs = 3
        @Option(help: "w2v-BERT's arithmetic: fp32, bf16 or auto (the engine's --precision).") var precision = "fp32"

        func validate() throws {
            guard seconds > 0.1, seconds <= 60 else { throw ValidationError("--seconds must be in (0.1, 60]") }
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
            guard ComputePrecision(choice: precision) != nil else { throw ValidationError("--precision must be fp32, bf16 or auto") }
        }

        func run() throws {
            AllocatorTuning.apply()
            printMachine()
            var audio16k: [Float]
            if let clip {
                // As IndexTTS2: librosa-style load at 22.05 kHz, then torchaudio's sinc resampling to 16 kHz.
                let audio = try AudioDecoder.decode(path: clip, requireSound: true)
                let audio22k = try SoxrResampler.resample(audio.samples, from: audio.sampleRate, to: 22_050)
                audio16k = try SincResampler(from: 22_050, to: 16_000)(Array(audio22k.prefix(Int(seconds * 22_050))))
            } else {
                var state: UInt32 = 12_345
                audio16k = (0..<Int(seconds * 16_000)).map { i -> Float in
                    state = state &* 1_664_525 &+ 1_013_904_223
                    let noise = Float(state >> 8) / Float(1 << 24) - 0.5
                    return 0.3 * Float(sin(2 * Double.pi * 180 * Double(i) / 16_000)) + 0.05 * noise
                }
            }
            audio16k = Array(audio16k.prefix(Int(seconds * 16_000)))
            let extractor = try SeamlessM4TFeatureExtractor()
            let start = DispatchTime.now().uptimeNanoseconds
            let features = try extractor(audio16k)
            let featureSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let input = try features.inputFeatures.unsqueezed(0)
            let arithmetic = ComputePrecision(choice: precision) ?? .float32
            let r = try ConditioningBenchmark.run(features: input, attentionMask: [features.attentionMask], runs: runs,
                                                  precision: arithmetic)
            print(String(format: "w2v-BERT 2.0 (17 layers) %.1f M parameters, codec %.1f M, loaded in %.2f s, ",
                         Double(r.w2vParameters) / 1e6, Double(r.codecParameters) / 1e6, r.loadSeconds)
                  + "arithmetic \(arithmetic.rawValue)")
            print(String(format: "%.2f s of audio → %d frames (best of %d runs)", Double(audio16k.count) / 16_000, r.frames, runs))
            print(String(format: "  features (SeamlessM4T)      %8.3f s", featureSeconds))
            print(String(format: "  w2v-BERT to hidden_states[17] %6.3f s", r.w2vSeconds))
            print(String(format: "  stats normalisation         %8.3f s", r.normalizeSeconds))
            print(String(format: "  semantic codec quantize     %8.3f s", r.codecSeconds))
            print(String(format: "  total                       %8.3f s", featureSeconds + r.w2vSeconds + r.normalizeSeconds + r.codecSeconds))
            print("peak resident memory: \(String(format: "%.0f", Double(peakResidentBytes()) / 1e6)) MB")
        }
    }
}

/// The header of every benchmark report: CPU, instruction sets, OpenBLAS core and threads
/// (docs/BENCHMARKS.md keeps results per machine class).
func printMachine() {
    ComputeEnvironment.current().lines.forEach { print($0) }
}

extension BenchCommand {
    struct S2M: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "s2m",
            abstract: "IndexTTS2 semantic-to-mel (gpt_layer, length regulator, DiT + CFM) with random weights at full size.",
            discussion: "Default: a 10 s prompt (861 mel frames) and 250 codes (430 frames, 5 s): 1,291 frames, 25 steps, CFG 0.7. "
                + "Writes the random weights (about 0.3 GB) to a temporary file first. tools/bench/torch_s2m.py runs the reference.")

        @Option(help: "Prompt (reference) mel frames, 86.13 per second.") var promptFrames = 861
        @Option(help: "Semantic codes of the generated part (50 per second; frames = floor(1.72 x codes)).") var codes = 250
        @Option(help: "Euler steps.") var steps = 25
        @Option(help: "Classifier-free guidance rate (0: conditional branch only).") var cfgRate = 0.7
        @Option(help: "The s2mel section of a config.yaml to size the model (default: IndexTTS2's).") var config: String?
        @Option(help: "Estimator arithmetic: fp32, bf16 or auto.") var precision = "fp32"
        @Flag(help: "With --precision bf16: also run the same solve in fp32 and print both times and the mel difference.")
        var compareFp32 = false
        @Flag(help: "With fp32: also run the same solve on the model as loaded (the WaveNet's convolutions as im2col products instead of Winograd F(4, 5), SwiGLU's gate and up as two products), and print both times and the mel difference.")
        var compareDirect = false

        func validate() throws {
            guard ComputePrecision(choice: precision) != nil else { throw ValidationError("--precision must be fp32, bf16 or auto") }
            guard promptFrames >= 1, codes >= 1, steps >= 1 else { throw ValidationError("--prompt-frames, --codes and --steps must be at least 1") }
            guard cfgRate >= 0 else { throw ValidationError("--cfg-rate must not be negative") }
        }

        func run() throws {
            AllocatorTuning.apply()
            let configuration = try config.map { try S2MConfiguration.read(ConfigYAMLDocument(contentsOf: $0)) } ?? S2MConfiguration()
            printMachine()
            let arithmetic = ComputePrecision(choice: precision) ?? .float32
            let r = try S2MBenchmark.run(configuration: configuration, promptFrames: promptFrames, codes: codes, steps: steps,
                                         guidanceRate: cfgRate, precision: arithmetic, compareWithFloat32: compareFp32,
                                         compareDirect: compareDirect)
            print("estimator arithmetic: \(arithmetic.rawValue)")
            print("WaveNet head: \(r.winogradConvolutions.count) of \(r.winogradConvolutions.total) dilated convolutions as Winograd F(4, 5)"
                  + (r.winogradConvolutions.count == 0 ? " (im2col products\(Winograd.enabledByEnvironment ? "" : "; INDEXTTS_WINOGRAD=off"))" : ""))
            print("SwiGLU: gate and up as one product in \(r.stackedFeedForwards.count) of \(r.stackedFeedForwards.total) blocks")
            print(String(format: "S2M %.1f M parameters, loaded in %.2f s", Double(r.parameters) / 1e6, r.loadSeconds))
            let batch = cfgRate > 0 ? 2 : 1
            // Work as executed (the frames the CFM discards are not computed).
            let flops = Double(r.steps * batch) * (2 * Double(r.macsPerStep) + 2 * Double(r.attentionMacsPerStep))
            print(String(format: "%d prompt + %d generated frames (%d codes, %.2f s of audio), %d steps, batch %d",
                         r.promptFrames, r.generatedFrames, r.codes, r.audioSeconds, r.steps, batch))
            print(String(format: "conditions (gpt_layer + regulator x2): %.3f s", r.conditionSeconds))
            // Winograd's products are fewer than the direct convolutions' counted here: a rate over the same count.
            print(String(format: "CFM: %.2f s (%.3f s per step), %.0f GFLOP%@, %.1f GFLOP/s", r.flowSeconds,
                         r.flowSeconds / Double(r.steps), flops / 1e9,
                         r.winogradConvolutions.count > 0 ? " (counting the WaveNet's convolutions as direct)" : "",
                         flops / 1e9 / r.flowSeconds))
            print(String(format: "total: %.2f s, RTF %.2f", r.conditionSeconds + r.flowSeconds,
                         (r.conditionSeconds + r.flowSeconds) / r.audioSeconds))
            if let reference = r.reference {
                let (name, label) = arithmetic == .float32 ? ("model as loaded", "converted") : ("fp32", arithmetic.rawValue)
                print(String(format: "same solve, %@: %.2f s (%.3f s per step); %@ is %.2fx faster", name, reference.flowSeconds,
                             reference.flowSeconds / Double(r.steps), label, reference.flowSeconds / r.flowSeconds))
                print(String(format: "mel vs %@: relative RMS difference %.2e (%.1f dB), largest |difference| %.2e", name,
                             reference.relativeDifference, -20 * log10(max(reference.relativeDifference, 1e-12)),
                             reference.maximumDifference))
            }
            print("peak resident memory: \(String(format: "%.0f", Double(peakResidentBytes()) / 1e6)) MB")
        }
    }
}
