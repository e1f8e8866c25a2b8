import Foundation
import IndexTTSTensor
import SwiftProtobuf

/// One operator of an ONNX graph: what it computes (`opType`), the value names it reads and writes, and its
/// attributes. Model loaders use nodes to find out what an initializer is for (the node it feeds names the module, for
/// example `/dec/resblocks.3/convs.1/Conv`) and to read hyper-parameters the exporter recorded (pads, dilations).
public struct ONNXNode: Sendable, Equatable {
    public let name: String
    public let opType: String
    public let inputs: [String]
    public let outputs: [String]
    public let attributes: [String: ONNXAttribute]

    public init(name: String, opType: String, inputs: [String], outputs: [String], attributes: [String: ONNXAttribute]) {
        self.name = name
        self.opType = opType
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// The integer list attribute `name` (`pads`, `dilations`, `strides`, …), nil when absent or of another type.
    public func ints(_ name: String) -> [Int]? {
        switch attributes[name] {
        case .ints(let values): return values.map { Int($0) }
        case .int(let value): return [Int(value)]
        default: return nil
        }
    }

    /// The integer attribute `name` (`group`, `axis`, …), nil when absent or of another type.
    public func int(_ name: String) -> Int? {
        if case .int(let value) = attributes[name] { return Int(value) }
        return nil
    }
}

/// An attribute value. Tensor- and graph-valued attributes (constants, control flow) are named only: inference
/// models this project reads keep their weights in initializers.
public enum ONNXAttribute: Sendable, Equatable {
    case float(Float)
    case int(Int64)
    case string(String)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    case tensor(name: String, dims: [Int64])
    case other(type: Int)
}

/// An ONNX model file (`.onnx`, protobuf `ModelProto`, read with swift-protobuf): its graph's nodes, inputs and
/// outputs, and its initializers as a ``WeightStore`` (format ``CheckpointFormat/onnx``), keyed by initializer name.
///
/// Initializers arrive as `raw_data` or as typed repeated fields; both are gathered, little-endian, into one aligned
/// in-memory buffer that the store's entries describe, so loading converts to fp32 like any checkpoint's tensors.
/// Only self-contained models are read: external data files are reported as unsupported, naming the tensor.
public struct ONNXModel: Sendable {
    public let path: String
    public let irVersion: Int64
    /// Version of the default (`ai.onnx`) operator set.
    public let opsetVersion: Int64
    public let producer: String
    /// Nodes in graph (topological) order.
    public let nodes: [ONNXNode]
    /// Names of the graph's inputs that are not initializers, and of its outputs.
    public let inputs: [String]
    public let outputs: [String]
    /// Initializers by name.
    public let initializers: WeightStore

    /// Reads and parses `path`.
    /// - Throws: ``WeightsError/unreadable(path:reason:)`` when the file cannot be read,
    ///   ``WeightsError/corrupt(path:reason:)`` when it is not a `ModelProto` or a tensor's data does not match its
    ///   shape (naming the tensor), ``WeightsError/unsupported(path:reason:)`` for external data or an element type
    ///   without an fp32 conversion (naming the tensor).
    public static func read(path: String) throws -> ONNXModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WeightsError.unreadable(path: path, reason: "cannot be read")
        }
        let proto: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 200
            proto = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw WeightsError.corrupt(path: path, reason: "not an ONNX ModelProto (\(error))")
        }
        return try ONNXModel(proto: proto, path: path)
    }

    init(proto: Onnx_ModelProto, path: String) throws {
        guard proto.hasGraph else { throw WeightsError.corrupt(path: path, reason: "the model has no graph") }
        self.path = path
        irVersion = proto.irVersion
        opsetVersion = proto.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" })?.version ?? 0
        producer = [proto.producerName, proto.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        let graph = proto.graph
        nodes = graph.node.map { node in
            var attributes: [String: ONNXAttribute] = [:]
            for attribute in node.attribute { attributes[attribute.name] = ONNXModel.value(of: attribute) }
            return ONNXNode(name: node.name, opType: node.opType, inputs: node.input, outputs: node.output,
                            attributes: attributes)
        }
        let initializerNames = Set(graph.initializer.map(\.name))
        inputs = graph.input.map(\.name).filter { !initializerNames.contains($0) }
        outputs = graph.output.map(\.name)
        initializers = try ONNXModel.store(graph.initializer, path: path)
    }

    /// The nodes that read the value `name`.
    public func consumers(of name: String) -> [ONNXNode] { nodes.filter { $0.inputs.contains(name) } }

    /// The node named `name`.
    public func node(named name: String) -> ONNXNode? { nodes.first { $0.name == name } }

    static func value(of attribute: Onnx_AttributeProto) -> ONNXAttribute {
        switch attribute.type {
        case .float: return .float(attribute.f)
        case .int: return .int(attribute.i)
        case .string: return .string(String(decoding: attribute.s, as: UTF8.self))
        case .floats: return .floats(attribute.floats)
        case .ints: return .ints(attribute.ints)
        case .strings: return .strings(attribute.strings.map { String(decoding: $0, as: UTF8.self) })
        case .tensor: return .tensor(name: attribute.t.name, dims: attribute.t.dims)
        default: return .other(type: attribute.type.rawValue)
        }
    }

    static func dtype(of tensor: Onnx_TensorProto, path: String) throws -> DType {
        switch Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)) {
        case .float: return .float32
        case .double: return .float64
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        case .int64: return .int64
        case .int32: return .int32
        case .int16: return .int16
        case .int8: return .int8
        case .uint8: return .uint8
        case .bool: return .bool
        default:
            throw WeightsError.unsupported(
                path: path, reason: "initializer '\(tensor.name)' has ONNX element type \(tensor.dataType)")
        }
    }

    /// The little-endian bytes of one initializer, from `raw_data` or its typed field.
    static func bytes(of tensor: Onnx_TensorProto, dtype: DType, count: Int, path: String) throws -> [UInt8] {
        if tensor.dataLocation == .external || !tensor.externalData.isEmpty {
            throw WeightsError.unsupported(
                path: path, reason: "initializer '\(tensor.name)' keeps its data in an external file")
        }
        if tensor.hasRawData { return [UInt8](tensor.rawData) }
        var out: [UInt8] = []
        out.reserveCapacity(count * dtype.byteSize)
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        switch dtype {
        case .float32: tensor.floatData.forEach { append($0.bitPattern) }
        case .float64: tensor.doubleData.forEach { append($0.bitPattern) }
        case .int64: tensor.int64Data.forEach { append($0) }
        case .int32: tensor.int32Data.forEach { append($0) }
        case .int16: tensor.int32Data.forEach { append(Int16(truncatingIfNeeded: $0)) }
        case .int8: tensor.int32Data.forEach { append(Int8(truncatingIfNeeded: $0)) }
        case .uint8, .bool: tensor.int32Data.forEach { append(UInt8(truncatingIfNeeded: $0)) }
        case .float16, .bfloat16: tensor.int32Data.forEach { append(UInt16(truncatingIfNeeded: $0)) }
        }
        return out
    }

    static func store(_ tensors: [Onnx_TensorProto], path: String) throws -> WeightStore {
        var blob: [UInt8] = []
        var layout: [(name: String, dtype: DType, shape: [Int], offset: Int, count: Int)] = []
        for tensor in tensors {
            let dtype = try dtype(of: tensor, path: path)
            guard tensor.dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else {
                throw WeightsError.corrupt(path: path, reason: "initializer '\(tensor.name)' has dims \(tensor.dims)")
            }
            let shape = tensor.dims.map { Int($0) }
            guard let count = checkedElementCount(shape, byteSize: dtype.byteSize) else {
                throw WeightsError.corrupt(path: path, reason: "initializer '\(tensor.name)' has dims \(shape)")
            }
            let bytes = try bytes(of: tensor, dtype: dtype, count: count, path: path)
            guard bytes.count == count * dtype.byteSize else {
                throw WeightsError.corrupt(
                    path: path,
                    reason: "initializer '\(tensor.name)' (\(dtype.rawValue) \(shape)) holds \(bytes.count) bytes, expected \(count * dtype.byteSize)")
            }
            // Keep every tensor 64-byte aligned so that fp32 data is borrowed, not copied, on load.
            let offset = (blob.count + 63) / 64 * 64
            blob.append(contentsOf: repeatElement(0, count: offset - blob.count))
            blob.append(contentsOf: bytes)
            layout.append((tensor.name, dtype, shape, offset, count))
        }
        let file = blob.withUnsafeBytes { MappedFile(path: path, copying: $0) }
        let entries = try layout.map { item in
            try TensorEntry(name: item.name, dtype: item.dtype, shape: item.shape, file: file,
                            storageByteOffset: item.offset, storageElementCount: item.count)
        }
        return WeightStore(source: path, format: .onnx, entries: entries)
    }
}
