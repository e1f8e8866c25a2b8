import Foundation
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Every reader against the contents PyTorch / safetensors / the flatbuffers builder wrote
/// (tools/fixtures/generate_readers.py → Tests/Fixtures/readers/expected.json).
struct ReaderParityTests {
    struct Expected: Decodable {
        struct Entry: Decodable {
            let dtype: String
            let shape: [Int]
            let values: [Double]
        }
        let files: [String: [String: Entry]]

        init(from decoder: any Decoder) throws {
            // "tiny.tflite#operators" holds a list of names, not entries; skip such keys.
            let container = try decoder.container(keyedBy: AnyKey.self)
            let filesContainer = try container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("files"))
            var files: [String: [String: Entry]] = [:]
            for key in filesContainer.allKeys where !key.stringValue.contains("#") {
                files[key.stringValue] = try filesContainer.decode([String: Entry].self, forKey: key)
            }
            self.files = files
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let expected = try! Fixtures.json("readers/expected.json", as: Expected.self)

    @Test(arguments: ["state_dict.pth", "nested.pth", "generator.pt", "bare_tensor.pt", "tensors.safetensors", "tiny.tflite"])
    func contentsMatchTheWriter(_ file: String) throws {
        let store = try WeightStore.open(path: Fixtures.path("readers/" + file))
        let entries = try #require(Self.expected.files[file])
        // Exactly the tensors the writer put there: nothing missing, nothing invented.
        #expect(Set(store.keys) == Set(entries.keys), "keys differ: \(Set(store.keys).symmetricDifference(entries.keys))")
        for (key, want) in entries {
            let entry = try store.entry(key)
            #expect(entry.dtype.rawValue == want.dtype, "\(key) dtype")
            #expect(entry.shape == want.shape, "\(key) shape")
            let values = try entry.load().scalars
            #expect(values.count == want.values.count, "\(key) count")
            for (i, (got, wanted)) in zip(values, want.values).enumerated() {
                // Stored values widen to fp32 exactly; dequantised TFLite values are computed in fp32 (≤ 1 ulp off).
                let bound = file.hasSuffix(".tflite") ? abs(wanted) * 1.2e-7 : 0
                if abs(Double(got) - Float(wanted).doubleValue) > bound {
                    Issue.record("\(file) \(key)[\(i)] = \(got), expected \(wanted)")
                    break
                }
            }
        }
    }

    @Test func formatsAreDetectedFromContent() throws {
        #expect(try WeightStore.open(path: Fixtures.path("readers/generator.pt")).format == .pytorch)
        #expect(try WeightStore.open(path: Fixtures.path("readers/tensors.safetensors")).format == .safetensors)
        #expect(try WeightStore.open(path: Fixtures.path("readers/tiny.tflite")).format == .tflite)
    }

    @Test func viewsShareOneStorageWithOffsetsAndStrides() throws {
        let store = try WeightStore.open(path: Fixtures.path("readers/state_dict.pth"))
        let big = try store.tensor("model.big")
        let rows = try store.tensor("model.big_rows_2_to_5")
        expectClose(rows, try big.sliced(axis: 0, range: 2..<5).contiguous(), tolerance: .init(rtol: 0, atol: 0), "rows")
        let transposed = try store.tensor("model.big_transposed")
        expectClose(transposed, try big.transposed(0, 1).contiguous(), tolerance: .init(rtol: 0, atol: 0), "transpose")
        #expect(try store.entry("model.big_transposed").strides == [1, 5])
    }

    @Test func integerTensorsLoadExactly() throws {
        let store = try WeightStore.open(path: Fixtures.path("readers/tensors.safetensors"))
        #expect(try store.entry("d.i64").loadIntegers() == [-5, 6, 7, 1 << 40])
        #expect(try store.entry("e.i32").loadIntegers() == [-7, 0, 9])
        #expect(store.metadata["note"] == "fixture")
        #expect(throws: WeightsError.self) { try store.entry("a.f32").loadIntegers() }
    }

    @Test func scopedStoreStripsThePrefix() throws {
        let store = try WeightStore.open(path: Fixtures.path("readers/nested.pth")).scoped("net.cfm.")
        #expect(Set(store.keys) == ["estimator.proj.weight", "estimator.proj.bias"])
        #expect(try store.tensor("estimator.proj.bias").shape == [4])
    }

    @Test func tfliteGraphIsDescribed() throws {
        let store = try WeightStore.open(path: Fixtures.path("readers/tiny.tflite"))
        let model = try #require(store.tfliteModel)
        #expect(model.description == "IndexTTS-Swift reader fixture")
        let graph = try #require(model.subgraphs.first)
        #expect(graph.name == "main")
        #expect(graph.operators.map(\.name) == ["FULLY_CONNECTED", "TANH"])
        #expect(graph.operators[0].inputs == [0, 1, 3])
        #expect(graph.inputs == [0] && graph.outputs == [5])
        #expect(graph.tensors.count == 6)
        let kernel = graph.tensors[1]
        #expect(kernel.quantization?.scales.count == 4)
        #expect(kernel.quantization?.axis == 0)
    }
}

private extension Float {
    var doubleValue: Double { Double(self) }
}

struct SafeTensorsWriterTests {
    @Test func writtenFilesReadBack() throws {
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("dump.safetensors").path
        let a = try Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, .infinity, -0.25])
        let b = try Tensor(shape: [], scalars: [7])
        try SafeTensorsWriter.write(["a": a, "b.scalar": b], metadata: ["what": "test"], to: path)
        let store = try WeightStore.open(path: path)
        #expect(store.keys.sorted() == ["a", "b.scalar"])
        #expect(try store.tensor("a").scalars == a.scalars)
        #expect(try store.tensor("b.scalar").shape == [])
        #expect(store.metadata["what"] == "test")
    }
}
