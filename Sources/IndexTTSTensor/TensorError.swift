/// Errors thrown by tensor operations. Each names the operation and the offending shapes or arguments,
/// so that a mis-sized checkpoint or configuration is reported instead of crashing the process.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Operand shapes are incompatible for `operation`.
    case shapeMismatch(operation: String, message: String)
    /// An argument (axis, stride, padding, count…) is out of range for `operation`.
    case invalidArgument(operation: String, message: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let operation, let message):
            return "\(operation): shape mismatch: \(message)"
        case .invalidArgument(let operation, let message):
            return "\(operation): invalid argument: \(message)"
        }
    }
}
