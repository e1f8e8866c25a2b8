import ArgumentParser
import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure speed.", subcommands: [Ops.self, Audio.self, GPT.self])

    struct Ops: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute-core kernels: GEMM (ours vs OpenBLAS alone), decode-shaped GEMV bandwidth, memory bandwidth.",
            discussion: "Build with `swift build -c release` first; debug builds are not representative.")

        @Option(help: "Timed repetitions per probe (best is reported).")
        var repetitions = 11

        @Option(help: "Matrices in the decode sweep.")
        var layers = 24

        @Option(help: "Model width of the decode-shaped product (MLP width is 4×).")
        var width = 1280

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            var options = OpsBenchmark.Options()
            options.repetitions = repetitions
            options.layers = layers
            options.width = width
            let results = OpsBenchmark.run(options)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
                return
            }
            print("threads: \(Parallel.workerCount) (INDEXTTS_THREADS / OPENBLAS_NUM_THREADS override)")
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
            print("threads: \(Parallel.workerCount)")
            for r in try AudioBenchmark.run(seconds: seconds, repetitions: repetitions) {
                let name = r.name.padding(toLength: 48, withPad: " ", startingAt: 0)
                print("\(name) \(String(format: "%8.2f ms", r.seconds * 1e3))  \(String(format: "%8.0f", r.rate)) \(r.unit)")
            }
        }
    }

    struct GPT: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gpt",
            abstract: "UnifiedVoice GPT-2 core (random weights, IndexTTS2 size by default): prefill and cached decode.",
            discussion: "Writes the random weights (about 1.9 GB at full size) to a temporary file first.")

        @Option(help: "Layers.") var layers = 24
        @Option(help: "Model width.") var width = 1280
        @Option(help: "Attention heads.") var heads = 20
        @Option(help: "Prefill positions.") var prefill = 128
        @Option(help: "Decode steps.") var steps = 100
        @Option(help: "Beams decoded together in the second decode measurement (IndexTTS2 uses 3).") var beams = 3
        @Option(help: "Weight precision of the projections: f32 or f16.") var precision = "f32"

        func validate() throws {
            guard beams >= 1 else { throw ValidationError("--beams must be at least 1") }
            guard ["f32", "f16"].contains(precision) else { throw ValidationError("--precision must be f32 or f16") }
        }

        func run() throws {
            let configuration = GPT2Configuration(modelDimension: width, layers: layers, heads: heads)
            print("threads: \(Parallel.workerCount)")
            for r in try GPT2Benchmark.run(configuration: configuration, prefill: prefill, steps: steps, beams: beams,
                                           halfPrecision: precision == "f16") {
                print("\(r.name): \(String(format: "%.2f ms", r.seconds * 1e3)), \(String(format: "%.1f", r.rate)) \(r.unit); \(r.detail)")
            }
            print("peak resident memory: \(String(format: "%.0f", Double(peakResidentBytes()) / 1e6)) MB")
        }
    }
}

/// Peak resident set size of this process (getrusage; Linux reports kilobytes).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}
