import Foundation
import IndexTTSTensor
import IndexTTSTestSupport
@testable import IndexTTSWeights
import Testing

/// The ONNX reader on a hand-made graph (tools/fixtures/generate_piper.py, onnx helper): initializers stored as
/// raw_data, float_data, int64_data and fp16 raw bytes; node attributes; bad files give typed errors.
struct ONNXModelTests {
    static let path = Fixtures.path("piper/tiny.onnx")

    @Test func readsGraphAndInitializers() throws {
        let model = try ONNXModel.read(path: Self.path)
        #expect(model.irVersion == 8 && model.opsetVersion == 15 && model.producer == "generate_piper.py")
        #expect(model.inputs == ["x"] && model.outputs == ["y"])
        #expect(model.nodes.count == 1)
        let conv = try #require(model.node(named: "/flow/flows.0/enc/in_layers.0/Conv"))
        #expect(conv.opType == "Conv")
        #expect(conv.inputs == ["x", "onnx::Conv_1", "flow.flows.0.enc.in_layers.0.bias"])
        #expect(conv.ints("pads") == [1, 1] && conv.int("group") == 1 && conv.ints("kernel_shape") == [3])
        #expect(model.consumers(of: "onnx::Conv_1").map(\.name) == [conv.name])
        let store = model.initializers
        #expect(store.format == .onnx)
        #expect(try store.tensor("onnx::Conv_1").shape == [4, 2, 3])
        #expect(try store.tensor("onnx::Conv_1").scalars == (0..<24).map(Float.init))
        #expect(try store.tensor("flow.flows.0.enc.in_layers.0.bias").scalars == [0.5, -1, 2, 0.25])
        #expect(try store.entry("/flow/Constant_output_0").loadIntegers() == [7, -3])
        #expect(try store.tensor("half.weight").scalars == [1.5, -2])
    }

    @Test func rejectsFilesThatAreNotModels() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let garbage = dir.appendingPathComponent("garbage.onnx")
        try Data([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3]).write(to: garbage)
        #expect(throws: WeightsError.self) { try ONNXModel.read(path: garbage.path) }
        let truncated = dir.appendingPathComponent("truncated.onnx")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        try bytes.prefix(bytes.count - 40).write(to: truncated)
        do {
            _ = try ONNXModel.read(path: truncated.path)
            Issue.record("a truncated model was read")
        } catch let error as WeightsError {
            #expect(error.description.contains("truncated.onnx"))
        }
        #expect(throws: WeightsError.unreadable(path: dir.path + "/missing.onnx", reason: "cannot be read")) {
            try ONNXModel.read(path: dir.path + "/missing.onnx")
        }
    }

    @Test func namesTheTensorWhoseDataDoesNotMatchItsShape() throws {
        var tensor = Onnx_TensorProto()
        tensor.name = "enc.weight"
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = [2, 3]
        tensor.floatData = [1, 2, 3]
        #expect(throws: WeightsError.corrupt(path: "m.onnx", reason: "initializer 'enc.weight' (F32 [2, 3]) holds 12 bytes, expected 24")) {
            try ONNXModel.store([tensor], path: "m.onnx")
        }
        tensor.floatData = []
        tensor.dataLocation = .external
        #expect(throws: WeightsError.unsupported(path: "m.onnx", reason: "initializer 'enc.weight' keeps its data in an external file")) {
            try ONNXModel.store([tensor], path: "m.onnx")
        }
        tensor = Onnx_TensorProto()
        tensor.name = "enc.weight"
        tensor.dataType = 8  // STRING
        #expect(throws: WeightsError.unsupported(path: "m.onnx", reason: "initializer 'enc.weight' has ONNX element type 8")) {
            try ONNXModel.store([tensor], path: "m.onnx")
        }
    }
}
