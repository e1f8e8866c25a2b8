import Foundation
import Yams

/// A user glossary: how terms are read, per language (IndexTTS2's `glossary.yaml`): `term: reading` (both
/// languages) or `term: {zh: …, en: …}` (a language without an entry keeps the term). Terms are replaced
/// case-insensitively, longest first (file order among equal lengths), each over the result of the previous.
public struct Glossary: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var term: String
        public var zh: String?
        public var en: String?

        public init(term: String, zh: String?, en: String?) {
            self.term = term
            self.zh = zh
            self.en = en
        }
    }

    public enum Language: Sendable { case zh, en }

    public var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

    public var isEmpty: Bool { entries.isEmpty }

    /// Reads a glossary file; throws ``TextError/invalidDictionary(path:reason:)`` naming the entry at fault.
    public static func load(path: String) throws -> Glossary {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw TextError.invalidDictionary(path: path, reason: "cannot be read as UTF-8")
        }
        return try parse(yaml: text, source: path)
    }

    public static func parse(yaml text: String, source: String = "glossary") throws -> Glossary {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw TextError.invalidDictionary(path: source, reason: "not valid YAML: \(error)")
        }
        guard let node else { return Glossary() }
        if let problem = YAMLLimits.problem(in: node) { throw TextError.invalidDictionary(path: source, reason: problem) }
        guard case .mapping(let mapping) = node else {
            throw TextError.invalidDictionary(path: source, reason: "the top level must map terms to readings")
        }
        var entries: [Entry] = []
        for (key, value) in mapping {
            guard let term = key.string, !term.isEmpty else {
                throw TextError.invalidDictionary(path: source, reason: "a term is not a string: \(key)")
            }
            switch value {
            case .scalar(let scalar):
                entries.append(Entry(term: term, zh: scalar.string, en: scalar.string))
            case .mapping(let readings):
                var zh: String?, en: String?
                for (language, reading) in readings {
                    guard let reading = reading.string else {
                        throw TextError.invalidDictionary(path: source, reason: "'\(term)': the \(language.string ?? "?") reading is not a string")
                    }
                    switch language.string {
                    case "zh": zh = reading
                    case "en": en = reading
                    default:
                        throw TextError.invalidDictionary(path: source, reason: "'\(term)': unknown language '\(language.string ?? "?")' (use zh and en)")
                    }
                }
                entries.append(Entry(term: term, zh: zh, en: en))
            default:
                throw TextError.invalidDictionary(path: source, reason: "'\(term)': give a reading or {zh: …, en: …}")
            }
        }
        return Glossary(entries: entries)
    }

    /// Applies every entry for `language`.
    public func apply(_ text: String, language: Language) -> String { applyExplained(text, language: language).text }

    /// Applies every entry for `language`, and says which terms matched (as written in the text) and what replaced
    /// them, in the order the entries were applied.
    public func applyExplained(_ text: String, language: Language) -> (text: String, replaced: [(term: String, reading: String)]) {
        var replaced: [(term: String, reading: String)] = []
        var result = text
        // Longest terms first; a stable sort keeps file order among equal lengths.
        let ordered = entries.enumerated().sorted { a, b in
            a.element.term.unicodeScalars.count != b.element.term.unicodeScalars.count
                ? a.element.term.unicodeScalars.count > b.element.term.unicodeScalars.count : a.offset < b.offset
        }.map(\.element)
        for entry in ordered {
            let reading = (language == .zh ? entry.zh : entry.en) ?? entry.term
            guard let regex = try? NSRegularExpression(pattern: NSRegularExpression.escapedPattern(for: entry.term),
                                                       options: [.caseInsensitive]) else { continue }
            let ns = result as NSString
            let found = regex.matches(in: result, range: NSRange(location: 0, length: ns.length))
            if found.isEmpty { continue }
            for match in found { replaced.append((ns.substring(with: match.range), reading)) }
            result = regex.stringByReplacingMatches(in: result, range: NSRange(result.startIndex..., in: result),
                                                    withTemplate: NSRegularExpression.escapedTemplate(for: reading))
        }
        return (result, replaced)
    }
}
