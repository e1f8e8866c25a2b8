import ArgumentParser
import Foundation
import IndexTTSTensor
import IndexTTS
import IndexTTSWeights

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Inspect and check model files.", subcommands: [Inspect.self, Check.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every tensor of a checkpoint (safetensors, torch.save .pth/.pt/.bin, TFLite).",
            discussion: """
                For each tensor: key, stored dtype, shape, and a checksum of its fp32 values (the float64 sum, and \
                FNV-1a 64 over the little-endian fp32 bytes in row-major order), so a checkpoint can be compared \
                with its conversion to another format. Quantised TFLite tensors are checksummed after dequantisation.
                """)

        @Argument(help: "Checkpoint file.")
        var file: String

        @Flag(help: "Skip checksums (fast on multi-gigabyte files).")
        var noChecksums = false

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @Option(help: "Only tensors whose key starts with this prefix.")
        var prefix: String = ""

        func run() throws {
            let store = try WeightStore.open(path: file)
            let entries = store.entries.filter { $0.name.hasPrefix(prefix) }
            var rows: [TensorSummary] = []
            for entry in entries {
                var summary = TensorSummary(name: entry.name, dtype: entry.dtype.rawValue, shape: entry.shape,
                                            quantized: entry.quantization != nil)
                if !noChecksums {
                    let values = try entry.load()
                    (summary.sum, summary.fnv1a64) = values.withUnsafeBufferPointer(Self.checksum)
                }
                rows.append(summary)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let report = InspectReport(file: file, format: store.format.rawValue, tensors: rows,
                                           parameters: entries.reduce(0) { $0 + $1.elementCount })
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            let total = entries.reduce(0) { $0 + $1.elementCount }
            let bytes = entries.reduce(0) { $0 + $1.storedByteCount }
            print("\(file): \(store.format.rawValue), \(entries.count) tensors, \(total) parameters, \(bytes) bytes")
            if let model = store.tfliteModel {
                for (i, graph) in model.subgraphs.enumerated() {
                    print("subgraph \(i) '\(graph.name)': \(graph.tensors.count) tensors, \(graph.operators.count) operators")
                }
            }
            let nameWidth = min(max(rows.map(\.name.count).max() ?? 4, 4), 80)
            for row in rows {
                let name = row.name.isEmpty ? "<root tensor>" : row.name
                var line = name.padding(toLength: max(nameWidth, name.count), withPad: " ", startingAt: 0)
                line += "  " + (row.dtype + (row.quantized ? "(q)" : "")).padding(toLength: 8, withPad: " ", startingAt: 0)
                line += "  " + "\(row.shape)".padding(toLength: 20, withPad: " ", startingAt: 0)
                if let sum = row.sum, let hash = row.fnv1a64 {
                    line += "  sum=\(String(format: "%.6e", sum))  fnv1a64=\(hash)"
                }
                print(line)
            }
        }

        /// (Σ values in float64, FNV-1a 64 of the fp32 little-endian bytes as 16 hex digits).
        static func checksum(_ values: UnsafeBufferPointer<Float>) -> (Double?, String?) {
            var sum: Double = 0
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for v in values {
                sum += Double(v)
                var bits = v.bitPattern.littleEndian
                for _ in 0..<4 {
                    hash = (hash ^ UInt64(bits & 0xff)) &* 0x0000_0100_0000_01b3
                    bits >>= 8
                }
            }
            let hex = String(hash, radix: 16)
            return (sum, String(repeating: "0", count: 16 - hex.count) + hex)
        }
    }
}

struct TensorSummary: Codable {
    var name: String
    var dtype: String
    var shape: [Int]
    var quantized: Bool
    var sum: Double?
    var fnv1a64: String?
}

struct InspectReport: Codable {
    var file: String
    var format: String
    var tensors: [TensorSummary]
    var parameters: Int
}

extension ModelsCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an IndexTTS2 model folder: every file of the official layout (hf_cache/ included), whether it is present and readable, and where to get it.",
            discussion: """
                The same resolver the engine loads with (IndexTTS2ModelFolder): config.yaml and the files it names \
                (gpt.pth, s2mel.pth, bpe.model, wav2vec2bert_stats.pt, feat1.pt, feat2.pt), and under hf_cache/ (flat \
                or Hugging Face hub layout) w2v-bert-2.0 config.json + model.safetensors, the MaskGCT semantic codec, \
                campplus_cn_common.bin, bigvgan config.json + bigvgan_generator.pt; qwen0.6bemo4-merge/ is listed \
                but optional (only emotion text needs it). Exits non-zero when a required file is missing or broken.
                """)

        @Argument(help: "Model folder (the reference's checkpoints/, with hf_cache/ inside).")
        var directory: String = "checkpoints"

        @Option(help: "Hugging Face cache folder (default: DIRECTORY/hf_cache).")
        var hfCache: String?

        @Flag(help: "Print JSON.")
        var json = false

        struct Report: Encodable {
            struct File: Encodable {
                let name: String, path: String, status: String, detail: String, source: String, required: Bool
            }
            let folder: String
            /// `config.yaml`'s model generation, "2.0" or "2.5" (absent when `config.yaml` cannot be read).
            let version: String?
            let usable: Bool
            let fingerprint: String?
            let files: [File]
        }

        func run() throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("model folder \(directory) does not exist (get it from IndexTeam/IndexTTS-2 or IndexTeam/IndexTTS-2.5 on Hugging Face or ModelScope)")
            }
            let inspection = IndexTTS2ModelFolder.inspect(root: directory, hfCache: hfCache)
            let problems = inspection.problems
            let configUsable = inspection.files.first { $0.name == "config.yaml" }?.isUsable == true
            let generation = inspection.folder.generation
            let model = generation == .indexTTS25 ? "IndexTTS-2.5" : "IndexTTS2"
            func status(_ f: IndexTTS2ModelFolder.FileCheck) -> String {
                guard let problem = f.problem else { return "ok" }
                return problem == "missing" || problem.hasPrefix("missing") ? "missing" : "broken"
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let report = Report(folder: inspection.folder.root, version: configUsable ? generation.rawValue : nil,
                                    usable: problems.isEmpty,
                                    fingerprint: inspection.folder.fingerprint.isEmpty ? nil : inspection.folder.fingerprint,
                                    files: inspection.files.map {
                                        .init(name: $0.name, path: $0.path, status: status($0), detail: $0.problem ?? $0.summary,
                                              source: $0.source, required: $0.required)
                                    })
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                if configUsable { print("model: \(model) (config.yaml version \(generation.rawValue))") }
                for f in inspection.files {
                    let optional = f.required ? "" : " (optional)"
                    switch status(f) {
                    case "ok": print("ok       \(f.name): \(f.path) (\(f.summary))")
                    case "missing": print("missing  \(f.name)\(optional): \(f.path); get it from \(f.source)")
                    default: print("BROKEN   \(f.name)\(optional): \(f.path): \(f.problem ?? ""); get it again from \(f.source)")
                    }
                }
                if !inspection.folder.fingerprint.isEmpty { print("fingerprint: \(inspection.folder.fingerprint)") }
            }
            let required = inspection.files.filter(\.required).count
            if !problems.isEmpty {
                throw ValidationError("\(problems.count) of \(required) required \(model) files missing or broken in \(directory)")
            }
        }
    }
}
