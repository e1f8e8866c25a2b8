import Yams

/// Bounds on YAML read from files users point the program at (`config.yaml`, reading glossaries). libyaml already
/// refuses nesting deeper than 1000 levels; what remains is alias expansion: `&a [x, x]`, `&b [*a, *a]`, … describe
/// 2ⁿ nodes in a few lines ("billion laughs"), and every reader that turns the tree into values (`Yams.load`,
/// `YAMLDecoder`) expands them.
public enum YAMLLimits {
    /// Most nodes a document may expand to.
    public static let maximumNodes = 1_000_000

    /// Why `text` must not be read as YAML (nil when it may; syntax errors are left to the reader that follows).
    public static func problem(in text: String) -> String? {
        // Without an alias nothing expands: the node count is bounded by the text.
        guard text.utf8.contains(UInt8(ascii: "*")) else { return nil }
        guard let root = try? Yams.compose(yaml: text) else { return nil }
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
                    work.append(key)
                    work.append(value)
                }
            case .scalar, .alias: break
            }
        }
        return nil
    }
}
