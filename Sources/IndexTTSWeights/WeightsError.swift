/// Errors from reading checkpoint files and binding their tensors to modules. Every case names the file (or key)
/// and the reason, so that a user can tell a truncated download from a wrong file.
public enum WeightsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist or cannot be opened.
    case unreadable(path: String, reason: String)
    /// The file is of a known format but damaged (truncated, bad offsets, inconsistent sizes).
    case corrupt(path: String, reason: String)
    /// The file is valid but uses something this reader does not support (format version, compression, dtype).
    case unsupported(path: String, reason: String)
    /// The file's format could not be recognised.
    case unknownFormat(path: String)
    /// A requested tensor is not in the store.
    case missingTensor(key: String, source: String)
    /// A tensor has another shape than the module expects.
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    /// Loading a module found keys it needs missing, keys it does not know, or tensors of the wrong shape.
    case keyMismatch(module: String, missing: [String], unexpected: [String], wrongShapes: [String] = [])

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .corrupt(let path, let reason): return "\(path) is corrupt: \(reason)"
        case .unsupported(let path, let reason): return "\(path): unsupported: \(reason)"
        case .unknownFormat(let path):
            return "\(path): not a safetensors, PyTorch zip (.pth/.pt/.bin) or TFLite file"
        case .missingTensor(let key, let source): return "tensor '\(key)' not found in \(source)"
        case .shapeMismatch(let key, let expected, let actual):
            return "tensor '\(key)' has shape \(actual), expected \(expected)"
        case .keyMismatch(let module, let missing, let unexpected, let wrongShapes):
            var parts: [String] = []
            if !wrongShapes.isEmpty {
                parts.append("wrong shapes (\(wrongShapes.count)): \(wrongShapes.joined(separator: ", "))")
            }
            if !missing.isEmpty { parts.append("missing keys (\(missing.count)): \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty {
                parts.append("unexpected keys (\(unexpected.count)): \(unexpected.joined(separator: ", "))")
            }
            return "loading \(module): " + parts.joined(separator: "; ")
        }
    }
}
