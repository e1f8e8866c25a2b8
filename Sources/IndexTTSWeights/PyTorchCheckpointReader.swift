import Foundation
import IndexTTSTensor

/// Reads PyTorch checkpoints written by `torch.save` (the ZIP container used since PyTorch 1.6): `data.pkl` holds
/// the object tree, `data/<key>` the raw storages. Tensors are named by their path through nested containers,
/// joined with "." (`{"net": {"cfm": {"w": t}}}` gives `net.cfm.w`), so state-dict keys stay verbatim under any
/// wrapper such as `model`, `net` or `generator`. A file holding one bare tensor (`feat1.pt`) has the key `""`.
public enum PyTorchCheckpointReader {
    public static func read(_ file: MappedFile) throws -> (entries: [TensorEntry], root: PickleValue) {
        let path = file.path
        if file.size >= 2, try file.read(UInt8.self, at: 0) == 0x80 {
            throw WeightsError.unsupported(
                path: path, reason: "legacy (pre-1.6, non-ZIP) torch serialization; load it once in Python and re-save with torch.save")
        }
        let zip = try ZipDirectory(file)
        guard let pickleName = zip.order.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) else {
            if zip.order.contains(where: { $0.hasSuffix("constants.pkl") }) {
                throw WeightsError.unsupported(path: path, reason: "TorchScript archive; save the module's state_dict() instead")
            }
            throw WeightsError.corrupt(path: path, reason: "ZIP archive has no data.pkl (not a torch.save checkpoint)")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if let order = zip.members[prefix + "byteorder"] {
            let range = try zip.dataRange(of: order.name)
            let text = String(decoding: try file.data(at: range.offset, count: range.count), as: UTF8.self)
            guard text.trimmingCharacters(in: .whitespacesAndNewlines) == "little" else {
                throw WeightsError.unsupported(path: path, reason: "byte order '\(text)'")
            }
        }
        let pickleRange = try zip.dataRange(of: pickleName)
        let pickleBytes = UnsafeRawBufferPointer(start: try file.pointer(at: pickleRange.offset, count: pickleRange.count),
                                                 count: pickleRange.count)
        var unpickler = Unpickler(bytes: pickleBytes, path: path) { pid in
            try storage(from: pid, path: path)
        }
        let root = try unpickler.load()
        var entries: [TensorEntry] = []
        try collect(root, name: "", into: &entries, zip: zip, prefix: prefix)
        return (entries, root)
    }

    /// Maps `('storage', <type>, key, location, numel)` to a storage reference.
    static func storage(from pid: PickleValue, path: String) throws -> PickleValue {
        guard let parts = pid.elements, parts.count >= 5, parts[0].stringValue == "storage",
              let key = parts[2].stringValue, let count = parts[4].intValue else {
            throw WeightsError.corrupt(path: path, reason: "unrecognised persistent id in data.pkl")
        }
        guard case .global(_, let typeName) = parts[1] else {
            throw WeightsError.corrupt(path: path, reason: "storage '\(key)' has no type")
        }
        guard let dtype = storageTypes[typeName] else {
            throw WeightsError.unsupported(path: path, reason: "storage '\(key)' of type \(typeName)")
        }
        return .storage(StorageReference(key: key, dtype: dtype, elementCount: count))
    }

    /// Typed-storage class names (and dtype names, written by some versions) to element types.
    static let storageTypes: [String: DType] = [
        "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16, "DoubleStorage": .float64,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool,
        "float32": .float32, "float": .float32, "float16": .float16, "half": .float16, "bfloat16": .bfloat16,
        "float64": .float64, "double": .float64, "int64": .int64, "long": .int64, "int32": .int32, "int": .int32,
        "int16": .int16, "short": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool,
    ]

    private static func collect(_ value: PickleValue, name: String, into entries: inout [TensorEntry],
                                zip: ZipDirectory, prefix: String, depth: Int = 0) throws {
        // Real checkpoints nest a few levels; a deeper tree is hostile or broken.
        guard depth < 64 else {
            throw WeightsError.corrupt(path: zip.file.path, reason: "containers nested deeper than 64 levels at '\(name)'")
        }
        func child(_ key: String) -> String { name.isEmpty ? key : name + "." + key }
        switch value {
        case .dict(let dict):
            for (key, item) in dict.items {
                let label: String
                switch key {
                case .string(let s): label = s
                case .int(let i): label = String(i)
                default: continue
                }
                try collect(item, name: child(label), into: &entries, zip: zip, prefix: prefix, depth: depth + 1)
            }
        case .list, .tuple:
            for (i, item) in (value.elements ?? []).enumerated() {
                try collect(item, name: child(String(i)), into: &entries, zip: zip, prefix: prefix, depth: depth + 1)
            }
        case .tensor(let reference):
            let member = prefix + "data/" + reference.storage.key
            let range = try zip.dataRange(of: member)
            let size = reference.storage.dtype.byteSize
            let (needed, overflow) = reference.storage.elementCount.multipliedReportingOverflow(by: size)
            guard reference.storage.elementCount >= 0, !overflow, needed <= range.count else {
                throw WeightsError.corrupt(
                    path: zip.file.path,
                    reason: "storage '\(reference.storage.key)' holds \(range.count) bytes, not \(reference.storage.elementCount) elements of \(size) bytes")
            }
            entries.append(try TensorEntry(
                name: name, dtype: reference.storage.dtype, shape: reference.shape, strides: reference.strides,
                file: zip.file, storageByteOffset: range.offset, elementOffset: reference.offset,
                storageElementCount: reference.storage.elementCount))
        default:
            break
        }
    }
}
