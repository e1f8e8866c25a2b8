/// Errors from the text front end.
public enum TextError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A tokenizer model could not be read or is not a model this encoder supports.
    case invalidModel(path: String, reason: String)
    case invalidArgument(String)
    /// A pronunciation dictionary file is missing or malformed.
    case invalidDictionary(path: String, reason: String)
    /// A text-normalisation grammar file (an OpenFst binary or one of its tables) is missing or malformed.
    case invalidGrammar(path: String, reason: String)
    /// A Hugging Face `tokenizer.json` is unreadable, malformed or uses a feature the byte-level BPE encoder lacks.
    case invalidTokenizer(path: String, reason: String)
    /// A grammar accepts no reading of the text at the named stage (`tagger`, `verbalizer`).
    case normalizationFailed(text: String, stage: String)
    /// The phonemiser program (espeak-ng) is not installed or not executable.
    case phonemizerUnavailable(reason: String)
    /// The phonemiser program failed (could not start, or exited with an error).
    case phonemizerFailed(reason: String)

    public var description: String {
        switch self {
        case .invalidModel(let path, let reason): return "\(path): not a usable SentencePiece model: \(reason)"
        case .invalidArgument(let what): return "invalid text argument: \(what)"
        case .invalidDictionary(let path, let reason): return "\(path): unusable pronunciation dictionary: \(reason)"
        case .invalidGrammar(let path, let reason): return "\(path): unusable text-normalisation grammar: \(reason)"
        case .invalidTokenizer(let path, let reason): return "\(path): unusable tokenizer: \(reason)"
        case .phonemizerUnavailable(let reason): return "no phonemiser: \(reason)"
        case .phonemizerFailed(let reason): return "the phonemiser failed: \(reason)"
        case .normalizationFailed(let text, let stage):
            return "the text-normalisation \(stage) has no reading for \"\(text.prefix(80))\(text.count > 80 ? "…" : "")\""
        }
    }
}
