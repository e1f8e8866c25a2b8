import Yams

/// Bounds on YAML read from files users point the program at (`config.yaml`, reading glossaries). libyaml already
/// refuses nesting deeper than 1000 levels; what remains is alias expansion: `&a [x, x]`, `&b [*a, *a]`, … describe
/// 2ⁿ nodes in a few lines ("billion laughs"), and every reader that turns the tree into values (`Yams.load`,
/// `YAMLDecoder`) expands them.
public enum YAMLLimits {
    /// Most nodes a document may expand to.
    public static let maximumNodes = 1_000_000

    /// Why `text` must not be read as YAML (nil when it may; syntax errors are left to the reader that follows).
    /// Also refuses mapping keys that are not scalars (`? {a: 1}: b`): `Yams.load` force-unwraps every key as a
    /// string and traps on them (found by the `config-yaml` fuzz harness).
    public static func problem(in text: String) -> String? {
        guard let root = try? Yams.compose(yaml: text) else { return nil }
        return problem(in: root)
    }

    /// Why an already composed document must not be turned into values (nil when it may). Composing is bounded by
    /// the text (aliases share their node); walking the tree is what expands them, so this walk stops at the bound.
    public static func problem(in root: Node) -> String? {
        var work: [Node] = [root]
        var count = 0
        while let node = work.popLast() {
            count += 1
            if count > maximumNodes {
                return "aliases expand the document past \(maximumNodes) nodes"
            }
            switch node {
            case .sequence(let sequence): work.append(contentsOf: sequence)
            case .mapping(let mapping):
                for (key, value) in mapping {
                    guard case .scalar = key else { return "a mapping key is not a plain value\(key.mark.map { " (line \($0.line))" } ?? "")" }
                    work.append(key)
                    work.append(value)
                }
            case .scalar, .alias: break
            }
        }
        return nil
    }
}
