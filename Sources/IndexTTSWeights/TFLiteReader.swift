import IndexTTSTensor

/// The parts of a TFLite model (`schema.fbs`, file identifier `TFL3`) that a native port needs: every tensor with
/// its shape, type, buffer and quantisation, and the operator list of each subgraph.
public struct TFLiteModel: Sendable {
    public struct Tensor: Sendable {
        public let index: Int
        public let name: String
        public let shape: [Int]
        /// Stored element type (nil for types without an fp32 meaning, such as strings or resources).
        public let dtype: DType?
        public let typeCode: Int
        public let buffer: Int
        public let quantization: Quantization?
    }

    public struct Operator: Sendable {
        /// Builtin operator name (`CONV_2D`, …), `CUSTOM:<code>` or `BUILTIN_<n>` for codes this table lacks.
        public let name: String
        public let inputs: [Int]
        public let outputs: [Int]
    }

    public struct Subgraph: Sendable {
        public let name: String
        public let tensors: [Tensor]
        public let inputs: [Int]
        public let outputs: [Int]
        public let operators: [Operator]
    }

    public let version: Int
    public let description: String
    public let subgraphs: [Subgraph]
}

/// Reads TFLite flatbuffers. Constant tensors (those with buffer data) become ``TensorEntry`` values named by the
/// tensor name; int8/uint8 quantised weights dequantise to fp32 on load.
public enum TFLiteReader {
    /// TFLite `TensorType` codes to storage types.
    static let types: [Int: DType] = [
        0: .float32, 1: .float16, 2: .int32, 3: .uint8, 4: .int64, 6: .bool, 7: .int16, 9: .int8, 10: .float64,
        18: .bfloat16,
    ]

    /// Builtin operator names for the codes TTS graphs use (TFLite `BuiltinOperator`).
    static let operatorNames: [Int: String] = [
        0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 5: "DEPTH_TO_SPACE",
        6: "DEQUANTIZE", 7: "EMBEDDING_LOOKUP", 8: "FLOOR", 9: "FULLY_CONNECTED", 10: "HASHTABLE_LOOKUP",
        11: "L2_NORMALIZATION", 12: "L2_POOL_2D", 13: "LOCAL_RESPONSE_NORMALIZATION", 14: "LOGISTIC", 15: "LSH_PROJECTION",
        16: "LSTM", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 20: "RELU_N1_TO_1", 21: "RELU6", 22: "RESHAPE",
        23: "RESIZE_BILINEAR", 24: "RNN", 25: "SOFTMAX", 26: "SPACE_TO_DEPTH", 27: "SVDF", 28: "TANH",
        29: "CONCAT_EMBEDDINGS", 30: "SKIP_GRAM", 31: "CALL", 32: "CUSTOM", 33: "EMBEDDING_LOOKUP_SPARSE", 34: "PAD",
        35: "UNIDIRECTIONAL_SEQUENCE_RNN", 36: "GATHER", 37: "BATCH_TO_SPACE_ND", 38: "SPACE_TO_BATCH_ND",
        39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 42: "DIV", 43: "SQUEEZE", 44: "UNIDIRECTIONAL_SEQUENCE_LSTM",
        45: "STRIDED_SLICE", 46: "BIDIRECTIONAL_SEQUENCE_RNN", 47: "EXP", 48: "TOPK_V2", 49: "SPLIT", 50: "LOG_SOFTMAX",
        51: "DELEGATE", 52: "BIDIRECTIONAL_SEQUENCE_LSTM", 53: "CAST", 54: "PRELU", 55: "MAXIMUM", 56: "ARG_MAX",
        57: "MINIMUM", 58: "LESS", 59: "NEG", 60: "PADV2", 61: "GREATER", 62: "GREATER_EQUAL", 63: "LESS_EQUAL",
        64: "SELECT", 65: "SLICE", 66: "SIN", 67: "TRANSPOSE_CONV", 68: "SPARSE_TO_DENSE", 69: "TILE",
        70: "EXPAND_DIMS", 71: "EQUAL", 72: "NOT_EQUAL", 73: "LOG", 74: "SUM", 75: "SQRT", 76: "RSQRT", 77: "SHAPE",
        78: "POW", 79: "ARG_MIN", 80: "FAKE_QUANT", 81: "REDUCE_PROD", 82: "REDUCE_MAX", 83: "PACK", 84: "LOGICAL_OR",
        85: "ONE_HOT", 86: "LOGICAL_AND", 87: "LOGICAL_NOT", 88: "UNPACK", 89: "REDUCE_MIN", 90: "FLOOR_DIV",
        91: "REDUCE_ANY", 92: "SQUARE", 93: "ZEROS_LIKE", 94: "FILL", 95: "FLOOR_MOD", 96: "RANGE",
        97: "RESIZE_NEAREST_NEIGHBOR", 98: "LEAKY_RELU", 99: "SQUARED_DIFFERENCE", 100: "MIRROR_PAD", 101: "ABS",
        102: "SPLIT_V", 103: "UNIQUE", 104: "CEIL", 105: "REVERSE_V2", 106: "ADD_N", 107: "GATHER_ND", 108: "COS",
        109: "WHERE", 110: "RANK", 111: "ELU", 112: "REVERSE_SEQUENCE", 113: "MATRIX_DIAG", 114: "QUANTIZE",
        115: "MATRIX_SET_DIAG", 116: "ROUND", 117: "HARD_SWISH", 118: "IF", 119: "WHILE", 120: "NON_MAX_SUPPRESSION_V4",
        121: "NON_MAX_SUPPRESSION_V5", 122: "SCATTER_ND", 123: "SELECT_V2", 124: "DENSIFY", 125: "SEGMENT_SUM",
        126: "BATCH_MATMUL", 127: "PLACEHOLDER_FOR_GREATER_OP_CODES", 128: "CUMSUM", 129: "CALL_ONCE",
        130: "BROADCAST_TO", 131: "RFFT2D", 132: "CONV_3D", 133: "IMAG", 134: "REAL", 135: "COMPLEX_ABS",
        136: "HASHTABLE", 137: "HASHTABLE_FIND", 138: "HASHTABLE_IMPORT", 139: "HASHTABLE_SIZE", 140: "REDUCE_ALL",
        141: "CONV_3D_TRANSPOSE", 142: "VAR_HANDLE", 143: "READ_VARIABLE", 144: "ASSIGN_VARIABLE",
        145: "BROADCAST_ARGS", 146: "RANDOM_STANDARD_NORMAL", 147: "BUCKETIZE", 148: "RANDOM_UNIFORM",
        149: "MULTINOMIAL", 150: "GELU", 151: "DYNAMIC_UPDATE_SLICE", 152: "RELU_0_TO_1", 153: "UNSORTED_SEGMENT_PROD",
        154: "UNSORTED_SEGMENT_MAX", 155: "UNSORTED_SEGMENT_SUM", 156: "ATAN2", 157: "UNSORTED_SEGMENT_MIN", 158: "SIGN",
    ]

    public static func read(_ file: MappedFile) throws -> (entries: [TensorEntry], model: TFLiteModel) {
        let path = file.path
        guard file.size >= 8, try file.data(at: 4, count: 4) == Array("TFL3".utf8) else {
            throw WeightsError.corrupt(path: path, reason: "missing the TFL3 file identifier")
        }
        let model = try FlatBufferTable.root(of: file)
        let version = Int(try model.scalar(0, as: UInt32.self, default: 0))
        guard version == 3 else {
            throw WeightsError.unsupported(path: path, reason: "TFLite schema version \(version) (expected 3)")
        }
        let opcodes = try model.tables(1).map { code -> String in
            let deprecated = Int(try code.scalar(0, as: Int8.self, default: 0))
            let builtin = Int(try code.scalar(3, as: Int32.self, default: 0))
            let value = max(deprecated, builtin)
            if value == 32 { return "CUSTOM:" + (try code.string(1) ?? "") }
            return operatorNames[value] ?? "BUILTIN_\(value)"
        }
        let buffers = try model.tables(4)
        // Validate every buffer up front so that a truncated file is reported even where no tensor reads it.
        let bufferRanges = try buffers.map { try bufferRange($0, file: file) }
        var entries: [TensorEntry] = []
        var subgraphs: [TFLiteModel.Subgraph] = []
        var usedNames = Set<String>()
        for (subgraphIndex, subgraph) in try model.tables(2).enumerated() {
            var tensors: [TFLiteModel.Tensor] = []
            for (index, table) in try subgraph.tables(0).enumerated() {
                let shape = try table.scalars(0, as: Int32.self).map(Int.init)
                let typeCode = Int(try table.scalar(1, as: Int8.self, default: 0))
                let buffer = Int(try table.scalar(2, as: UInt32.self, default: 0))
                let name = try table.string(3) ?? "tensor_\(index)"
                var quantization: Quantization?
                if let q = try table.table(4) {
                    let scales = try q.floats(2)
                    if !scales.isEmpty {
                        quantization = Quantization(scales: scales, zeroPoints: try q.scalars(3, as: Int64.self),
                                                    axis: Int(try q.scalar(6, as: Int32.self, default: 0)))
                    }
                }
                let dtype = types[typeCode]
                let info = TFLiteModel.Tensor(index: index, name: name, shape: shape, dtype: dtype, typeCode: typeCode,
                                              buffer: buffer, quantization: quantization)
                tensors.append(info)
                guard buffer > 0 else { continue }
                guard buffer < buffers.count else {
                    throw WeightsError.corrupt(path: path, reason: "tensor '\(name)' refers to buffer \(buffer) of \(buffers.count)")
                }
                guard let (byteOffset, byteCount) = bufferRanges[buffer], byteCount > 0 else { continue }
                guard let dtype else {
                    throw WeightsError.unsupported(path: path, reason: "constant tensor '\(name)' has TFLite type \(typeCode)")
                }
                let count = checkedElementCount(shape, byteSize: dtype.byteSize) ?? -1
                guard count >= 0, count * dtype.byteSize == byteCount else {
                    throw WeightsError.corrupt(
                        path: path, reason: "tensor '\(name)' \(dtype.rawValue) \(shape) needs \(count * dtype.byteSize) bytes, buffer has \(byteCount)")
                }
                var key = subgraphIndex == 0 ? name : "subgraph\(subgraphIndex)/\(name)"
                if usedNames.contains(key) { key += "#\(index)" }
                usedNames.insert(key)
                let isQuantizedInteger = quantization != nil && !dtype.isFloatingPoint
                entries.append(try TensorEntry(
                    name: key, dtype: dtype, shape: shape, quantization: isQuantizedInteger ? quantization : nil,
                    file: file, storageByteOffset: byteOffset, storageElementCount: count))
            }
            let operators = try subgraph.tables(3).map { op -> TFLiteModel.Operator in
                let code = Int(try op.scalar(0, as: UInt32.self, default: 0))
                guard code < opcodes.count else {
                    throw WeightsError.corrupt(path: path, reason: "operator uses opcode \(code) of \(opcodes.count)")
                }
                return TFLiteModel.Operator(name: opcodes[code], inputs: try op.scalars(1, as: Int32.self).map(Int.init),
                                            outputs: try op.scalars(2, as: Int32.self).map(Int.init))
            }
            subgraphs.append(TFLiteModel.Subgraph(
                name: try subgraph.string(4) ?? "", tensors: tensors,
                inputs: try subgraph.scalars(1, as: Int32.self).map(Int.init),
                outputs: try subgraph.scalars(2, as: Int32.self).map(Int.init), operators: operators))
        }
        let info = TFLiteModel(version: version, description: try model.string(3) ?? "", subgraphs: subgraphs)
        return (entries, info)
    }

    /// Data location of a `Buffer`: inline `data` vector, or `offset`/`size` fields for models over 2 GB.
    private static func bufferRange(_ buffer: FlatBufferTable, file: MappedFile) throws -> (Int, Int)? {
        if let (count, start) = try buffer.vector(0, elementSize: 1), count > 0 { return (start, count) }
        let offset = Int(clamping: try buffer.scalar(1, as: UInt64.self, default: 0))
        let size = Int(clamping: try buffer.scalar(2, as: UInt64.self, default: 0))
        guard offset > 1, size > 0 else { return nil }
        _ = try file.pointer(at: offset, count: size)
        return (offset, size)
    }
}
