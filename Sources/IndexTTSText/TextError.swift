/// Errors from the text front end.
public enum TextError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A tokenizer model could not be read or is not a model this encoder supports.
    case invalidModel(path: String, reason: String)
    case invalidArgument(String)
    /// A pronunciation dictionary file is missing or malformed.
    case invalidDictionary(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidModel(let path, let reason): return "\(path): not a usable SentencePiece model: \(reason)"
        case .invalidArgument(let what): return "invalid text argument: \(what)"
        case .invalidDictionary(let path, let reason): return "\(path): unusable pronunciation dictionary: \(reason)"
        }
    }
}
