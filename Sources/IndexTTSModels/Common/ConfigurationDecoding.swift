import Foundation

extension ModelError {
    /// A `DecodingError` from a configuration file, as ``invalidConfiguration(file:field:reason:)`` naming the
    /// dotted path of the offending field (`gpt.model_dim`, `upsample_rates.2`).
    static func configuration(_ error: DecodingError, file: String) -> ModelError {
        let path: [any CodingKey], reason: String
        switch error {
        case .typeMismatch(let type, let c): (path, reason) = (c.codingPath, "expected \(type)")
        case .valueNotFound(let type, let c): (path, reason) = (c.codingPath, "missing \(type) value")
        case .keyNotFound(let key, let c): (path, reason) = (c.codingPath + [key], "missing")
        case .dataCorrupted(let c): (path, reason) = (c.codingPath, c.debugDescription)
        @unknown default: (path, reason) = ([], "\(error)")
        }
        let field = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return .invalidConfiguration(file: file, field: field.isEmpty ? "-" : field, reason: reason)
    }
}
