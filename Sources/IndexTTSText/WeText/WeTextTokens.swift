/// The tagged form WeTextProcessing's taggers write — `date { year: "二零零二年" month: "一月" } char { value: "，" }` —
/// parsed into tokens and written back with each class's fields in the verbalizer's order (WeTextProcessing's
/// `TokenParser.reorder`): a class with a fixed order keeps only the fields that order names, in that order, unless
/// the token carries `preserve_order: "true"`; other classes keep their fields as tagged. Field values stay escaped
/// (`\"`, `\\`) exactly as the tagger wrote them.
public struct WeTextToken: Equatable, Sendable {
    public var name: String
    /// Fields in tagged order (a repeated key keeps its first position and its last value, as upstream's dict does).
    public var fields: [(key: String, value: String)]

    public static func == (lhs: WeTextToken, rhs: WeTextToken) -> Bool {
        lhs.name == rhs.name && lhs.fields.map(\.key) == rhs.fields.map(\.key) && lhs.fields.map(\.value) == rhs.fields.map(\.value)
    }

    public func value(_ key: String) -> String? { fields.first { $0.key == key }?.value }

    /// Field orders of the Chinese and English normalisers (upstream's `TN_ORDERS`, `EN_TN_ORDERS`).
    public enum Order: Sendable {
        case chinese, english

        var classes: [String: [String]] {
            switch self {
            case .chinese:
                return ["date": ["year", "month", "day"], "fraction": ["denominator", "numerator"],
                        "measure": ["denominator", "numerator", "value"], "money": ["value", "currency"],
                        "time": ["noon", "hour", "minute", "second"]]
            case .english:
                return ["date": ["preserve_order", "text", "day", "month", "year"],
                        "money": ["integer_part", "fractional_part", "quantity", "currency_maj"]]
            }
        }
    }

    /// The token with its fields in `order`'s sequence for its class.
    public func reordered(_ order: Order) -> WeTextToken {
        guard let keys = order.classes[name], value("preserve_order") != "true" else { return self }
        return WeTextToken(name: name, fields: keys.compactMap { key in value(key).map { (key: key, value: $0) } })
    }

    /// `name { key: "value" … }`.
    public var serialized: String {
        var out = name + " {"
        for field in fields { out += " \(field.key): \"\(field.value)\"" }
        return out + " }"
    }

    /// Parses a tagger's output, leniently in the same ways upstream's parser is (it never rejects input).
    public static func parse(_ text: String) -> [WeTextToken] {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        var tokens: [WeTextToken] = []
        func skipSpaces() -> Bool {
            while i < scalars.count && scalars[i] == " " { i += 1 }
            return i < scalars.count
        }
        func isKeyScalar(_ s: Unicode.Scalar) -> Bool { s == "_" || (s.isASCII && s.properties.isAlphabetic) }
        func key() -> String {
            var out = String.UnicodeScalarView()
            while i < scalars.count && isKeyScalar(scalars[i]) { out.append(scalars[i]); i += 1 }
            return String(out)
        }
        // Upstream consumes each expected character only when it is the next one.
        func expect(_ chars: String) { for c in chars.unicodeScalars where i < scalars.count && scalars[i] == c { i += 1 } }
        func value() -> String {
            var out = String.UnicodeScalarView()
            while i < scalars.count && scalars[i] != "\"" {
                let escaped = scalars[i] == "\\"
                out.append(scalars[i]); i += 1
                if escaped && i < scalars.count { out.append(scalars[i]); i += 1 }
            }
            return String(out)
        }
        while skipSpaces() {
            let before = i
            var token = WeTextToken(name: key(), fields: [])
            expect(" { ")
            while skipSpaces() {
                if scalars[i] == "}" { i += 1; break }
                let fieldStart = i
                let k = key()
                expect(": \"")
                let v = value()
                if i < scalars.count && scalars[i] == "\"" { i += 1 }
                if let existing = token.fields.firstIndex(where: { $0.key == k }) {
                    token.fields[existing].value = v
                } else {
                    token.fields.append((key: k, value: v))
                }
                if i == fieldStart { i += 1 }  // malformed input: always make progress
            }
            tokens.append(token)
            if i == before { i += 1 }
        }
        return tokens
    }

    /// Upstream's `TokenParser.reorder`: parse, reorder each token, join with single spaces.
    public static func reorder(_ tagged: String, _ order: Order) -> String {
        parse(tagged).map { $0.reordered(order).serialized }.joined(separator: " ")
    }
}
