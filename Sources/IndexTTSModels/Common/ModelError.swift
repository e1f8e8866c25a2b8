/// Errors of the model components: bad configuration files, unsupported variants and invalid inputs.
/// Checkpoint problems (missing keys, shapes) are ``IndexTTSWeights/WeightsError``s.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration file is unreadable or a field is missing or invalid.
    case invalidConfiguration(file: String, field: String, reason: String)
    /// The configuration names a variant this port does not implement.
    case unsupported(component: String, reason: String)
    /// An input has the wrong shape or an out-of-range value.
    case invalidInput(component: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let file, let field, let reason): return "\(file): field '\(field)': \(reason)"
        case .unsupported(let component, let reason): return "\(component): not supported: \(reason)"
        case .invalidInput(let component, let reason): return "\(component): invalid input: \(reason)"
        }
    }
}
