import Foundation

extension ModelError {
    /// A `DecodingError` from a configuration file, as ``invalidConfiguration(file:field:reason:)`` naming the
    /// dotted path of the offending field (`gpt.model_dim`, `upsample_rates.2`).
    static func configuration(_ error: DecodingError, file: String, prefix: String = "") -> ModelError {
        let context: DecodingError.Context?
        var path: [any CodingKey]
        var reason: String
        switch error {
        case .typeMismatch(let type, let c):
            (context, reason) = (c, "expected \(type)")
        case .valueNotFound(let type, let c):
            (context, reason) = (c, "missing \(type) value")
        case .keyNotFound(let key, let c):
            (context, reason) = (nil, "missing")
            path = c.codingPath + [key]
            return .invalidConfiguration(file: file, field: Self.dotted(path, prefix: prefix), reason: reason)
        case .dataCorrupted(let c):
            (context, reason) = (c, c.debugDescription)
        @unknown default:
            return .invalidConfiguration(file: file, field: "-", reason: "\(error)")
        }
        path = context?.codingPath ?? []
        return .invalidConfiguration(file: file, field: Self.dotted(path, prefix: prefix), reason: reason)
    }

    private static func dotted(_ path: [any CodingKey], prefix: String) -> String {
        let field = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        if field.isEmpty { return prefix.isEmpty ? "-" : prefix }
        return prefix.isEmpty ? field : prefix + "." + field
    }
}
