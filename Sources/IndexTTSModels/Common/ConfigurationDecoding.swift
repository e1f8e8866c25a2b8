import Foundation
import IndexTTSText
import Yams

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

/// A configuration read from one section of IndexTTS2's `config.yaml` (`gpt`, `s2mel`, `semantic_codec`, …): the
/// section is decoded, then validated; every problem is a ``ModelError`` naming the file and the dotted field.
public protocol ConfigYAMLSection: Decodable {
    /// The top-level key of the section.
    static var sectionName: String { get }
    /// Checks sizes and that the configuration selects a variant this port supports.
    func validate(source: String) throws
}

extension ConfigYAMLSection {
    /// Reads the section from the `config.yaml` at `path`.
    public static func load(configYAML path: String) throws -> Self {
        try ConfigYAMLDocument(contentsOf: path).section(Self.self)
    }

    /// Parses `config.yaml` text (`source` names it in errors) and validates the section.
    public static func parse(yaml text: String, source: String = "config.yaml") throws -> Self {
        try ConfigYAMLDocument(yaml: text, source: source).section(Self.self)
    }
}

/// IndexTTS2's `config.yaml`, composed once and checked against ``YAMLLimits``: its sections (``ConfigYAMLSection``)
/// and top-level values are read from the composed tree, so a model folder parses the file once, not once per
/// reader. Every problem is a ``ModelError/invalidConfiguration(file:field:reason:)`` naming `source`.
public struct ConfigYAMLDocument {
    /// The file (or name) the text came from, as errors name it.
    public let source: String
    /// The top-level mapping.
    public let root: Node

    /// Composes `text`: not YAML, a document past the expansion bound, or a top level that is not a mapping throws.
    public init(yaml text: String, source: String = "config.yaml") throws {
        self.source = source
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ModelError.invalidConfiguration(file: source, field: "-", reason: "not valid YAML: \(error)")
        }
        guard let node, case .mapping = node else {
            throw ModelError.invalidConfiguration(file: source, field: "-", reason: "not a mapping")
        }
        if let problem = YAMLLimits.problem(in: node) {
            throw ModelError.invalidConfiguration(file: source, field: "-", reason: problem)
        }
        root = node
    }

    /// Reads and composes the file at `path`.
    public init(contentsOf path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ModelError.invalidConfiguration(file: path, field: "-", reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(yaml: text, source: path)
    }

    /// The section `Section` names, decoded and validated.
    public func section<Section: ConfigYAMLSection>(_ type: Section.Type) throws -> Section {
        let configuration = try decodedSection(type)
        try configuration.validate(source: source)
        return configuration
    }

    /// The section `Section` names, decoded but not validated (for a reader that completes it from the rest of the
    /// document first, then validates).
    func decodedSection<Section: ConfigYAMLSection>(_ type: Section.Type) throws -> Section {
        let configuration: Section
        do {
            guard let section = try YAMLDecoder().decode(ConfigYAMLRoot<Section>.self, from: root).section else {
                throw ModelError.invalidConfiguration(file: source, field: Section.sectionName, reason: "missing section")
            }
            configuration = section
        } catch let error as DecodingError {
            throw ModelError.configuration(error, file: source)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError.invalidConfiguration(file: source, field: "-", reason: "not valid YAML: \(error)")
        }
        return configuration
    }

    /// The whole document as `Yams.load` gives it (plain values, merge keys `<<` applied): the top-level names
    /// (`gpt_checkpoint`, `dataset.bpe_model`, …) and the few sections read loosely (`emo_num`, `campplus`, the mel
    /// settings of `s2mel`). Nil only for a root that is not a plain mapping (a `!!set` or `!!omap`).
    public var values: [String: Any]? { root.any as? [String: Any] }
}

/// The whole `config.yaml`, of which only `Section`'s key is decoded.
private struct ConfigYAMLRoot<Section: ConfigYAMLSection>: Decodable {
    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    let section: Section?

    init(from decoder: any Decoder) throws {
        section = try decoder.container(keyedBy: Key.self).decodeIfPresent(Section.self, forKey: Key(stringValue: Section.sectionName))
    }
}

/// A configuration read from a model's own JSON file (`config.json` of BigVGAN, w2v-BERT): decoded, then validated;
/// every problem is a ``ModelError`` naming the file and the dotted field.
public protocol ConfigJSONFile: Decodable {
    /// Checks sizes and that the configuration selects a variant this port supports.
    func validate(source: String) throws
}

extension ConfigJSONFile {
    /// Reads the JSON file at `path`.
    public static func load(path: String) throws -> Self {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelError.invalidConfiguration(file: path, field: "-", reason: "cannot read: \(error.localizedDescription)")
        }
        return try parse(json: data, source: path)
    }

    /// Parses JSON bytes (`source` names the file in errors) and validates the result.
    public static func parse(json data: Data, source: String = "config.json") throws -> Self {
        let configuration: Self
        do {
            configuration = try JSONDecoder().decode(Self.self, from: data)
        } catch let error as DecodingError {
            throw ModelError.configuration(error, file: source)
        } catch {
            throw ModelError.invalidConfiguration(file: source, field: "-", reason: "not valid JSON: \(error)")
        }
        try configuration.validate(source: source)
        return configuration
    }
}
