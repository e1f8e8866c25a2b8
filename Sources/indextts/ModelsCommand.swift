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
            abstract: "Check an IndexTTS2 model folder: which files are present, readable or missing, and where to get them.")

        @Argument(help: "Model folder (the reference's checkpoints/, with hf_cache/ inside).")
        var directory: String = "checkpoints"

        func run() throws {
            let results = try ModelDirectory(root: URL(fileURLWithPath: directory)).check()
            var problems = 0
            for (component, status) in results {
                switch status {
                case .present(let path, let summary):
                    print("ok       \(component.name): \(path) (\(summary))")
                case .unreadable(let path, let reason):
                    problems += 1
                    print("BROKEN   \(component.name): \(path): \(reason)")
                case .missing:
                    problems += 1
                    print("missing  \(component.name): get it from \(component.source)")
                }
            }
            if problems > 0 {
                throw ValidationError("\(problems) of \(results.count) IndexTTS2 files missing or unreadable in \(directory)")
            }
        }
    }
}
