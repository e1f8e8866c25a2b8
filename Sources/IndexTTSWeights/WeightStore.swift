import IndexTTSTensor

/// Checkpoint container formats the store reads.
public enum CheckpointFormat: String, Sendable, Codable {
    case safetensors
    /// `torch.save` ZIP checkpoints (`.pth`, `.pt`, `.bin`).
    case pytorch
    case tflite
    /// ONNX initializers (``ONNXModel``); never detected by ``detect(_:)``, since a protobuf file has no magic bytes.
    case onnx

    /// Recognises a format by its leading bytes, independent of the file extension.
    public static func detect(_ file: MappedFile) throws -> CheckpointFormat {
        guard file.size >= 8 else { throw WeightsError.unknownFormat(path: file.path) }
        let head = try file.data(at: 0, count: 8)
        if head[0...3] == [0x50, 0x4B, 0x03, 0x04] || head[0...3] == [0x50, 0x4B, 0x05, 0x06] { return .pytorch }
        if head[4...7] == Array("TFL3".utf8)[...] { return .tflite }
        // safetensors: a plausible header length followed by a JSON object (the reader then checks the sizes, so a
        // truncated file is reported as corrupt rather than unknown).
        let headerLength = try file.read(UInt64.self, at: 0)
        if file.size > 8, headerLength > 1, headerLength <= UInt64(SafeTensorsReader.maximumHeaderSize),
           try file.read(UInt8.self, at: 8) == UInt8(ascii: "{") {
            return .safetensors
        }
        if head[0] == 0x80 && head[1] <= 5 { return .pytorch }  // legacy pickle: the reader explains
        throw WeightsError.unknownFormat(path: file.path)
    }
}

/// All tensors of one checkpoint file, by verbatim key. Opening maps the file and parses only its index; tensors
/// convert to fp32 when requested.
public struct WeightStore: Sendable {
    /// Where the tensors came from (shown in errors).
    public let source: String
    public let format: CheckpointFormat
    /// Entries in file order.
    public let entries: [TensorEntry]
    private let index: [String: Int]
    /// The TFLite graph description, for TFLite files.
    public let tfliteModel: TFLiteModel?
    /// Free-form metadata (safetensors `__metadata__`).
    public let metadata: [String: String]

    public init(source: String, format: CheckpointFormat, entries: [TensorEntry], tfliteModel: TFLiteModel? = nil,
                metadata: [String: String] = [:]) {
        self.source = source
        self.format = format
        self.entries = entries
        self.tfliteModel = tfliteModel
        self.metadata = metadata
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() { index[entry.name] = i }
        self.index = index
    }

    /// Opens a safetensors, PyTorch ZIP or TFLite file, detected from its content.
    public static func open(path: String) throws -> WeightStore {
        let file = try MappedFile(path: path)
        switch try CheckpointFormat.detect(file) {
        case .safetensors:
            let (entries, metadata) = try SafeTensorsReader.read(file)
            return WeightStore(source: path, format: .safetensors, entries: entries, metadata: metadata)
        case .pytorch:
            return WeightStore(source: path, format: .pytorch, entries: try PyTorchCheckpointReader.read(file).entries)
        case .tflite:
            let (entries, model) = try TFLiteReader.read(file)
            return WeightStore(source: path, format: .tflite, entries: entries, tfliteModel: model)
        case .onnx:
            return try ONNXModel.read(path: path).initializers
        }
    }

    /// Opens `path`, builds from it with `body`, then releases the file's resident pages
    /// (``releaseResidentPages()``): the model keeps borrowed fp32 tensors (faulted in again when first used) and its
    /// own converted copies, and nothing that loading only read (weight-norm halves before fusing, fp16 before
    /// widening) stays counted against the process.
    public static func load<T>(path: String, _ body: (WeightStore) throws -> T) throws -> T {
        let store = try open(path: path)
        defer { store.releaseResidentPages() }
        return try body(store)
    }

    /// Keys in file order.
    public var keys: [String] { entries.map(\.name) }

    /// True if the store has `key`.
    public func contains(_ key: String) -> Bool { index[key] != nil }

    /// The entry for `key`.
    public func entry(_ key: String) throws -> TensorEntry {
        guard let i = index[key] else { throw WeightsError.missingTensor(key: key, source: source) }
        return entries[i]
    }

    /// The tensor for `key` as fp32.
    public func tensor(_ key: String) throws -> Tensor { try entry(key).load() }

    /// Drops the resident pages of the file(s) behind this store from the process (``MappedFile/releaseResidentPages()``):
    /// what loading touched but did not keep (weight-norm halves, converted fp16, checked values) stops counting;
    /// borrowed tensors fault their pages back in when used.
    public func releaseResidentPages() {
        var seen = Set<ObjectIdentifier>()
        for entry in entries where seen.insert(ObjectIdentifier(entry.file)).inserted {
            entry.file.releaseResidentPages()
        }
    }

    /// The entries under `prefix` (for example `"net.cfm."`), with the prefix removed from their keys.
    public func scoped(_ prefix: String) -> WeightStore {
        let selected = entries.compactMap { entry -> TensorEntry? in
            guard entry.name.hasPrefix(prefix) else { return nil }
            return entry.renamed(String(entry.name.dropFirst(prefix.count)))
        }
        return WeightStore(source: "\(source) [\(prefix)]", format: format, entries: selected, tfliteModel: tfliteModel,
                           metadata: metadata)
    }
}

