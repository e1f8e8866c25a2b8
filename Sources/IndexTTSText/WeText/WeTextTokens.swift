/// The tagged form WeTextProcessing's taggers write — `date { year: "二零零二年" month: "一月" } char { value: "，" }` —
/// parsed into tokens and written back with each class's fields in the verbalizer's order (WeTextProcessing's
/// `TokenParser.reorder`): a class with a fixed order keeps only the fields that order names, in that order, unless
/// the token carries `preserve_order: "true"`; other classes keep their fields as tagged. Field values stay escaped
/// (`\"`, `\\`) exactly as the tagger wrote them.
public struct WeTextToken: Equatable, Sendable {
    public var name: String
    /// Fields in tagged order. A repeated key appears once per occurrence, every occurrence with the last value — what
    /// upstream's `Token` (an order list plus a dict) writes back.
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

    /// Parses a tagger's output, leniently in the same ways upstream's parser is (it never rejects input). Works on
    /// UTF-8 bytes: every character of the syntax is ASCII, and no byte of a multi-byte character is.
    public static func parse(_ text: String) -> [WeTextToken] {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>) -> [WeTextToken] {
        var tokens: [WeTextToken] = []
        forEach(bytes: bytes) { name, fields in tokens.append(WeTextToken(name: name, fields: fields)) }
        return tokens
    }

    /// Calls `body` with each token's name and fields (a buffer reused from token to token), without building tokens.
    static func forEach(bytes: UnsafeBufferPointer<UInt8>, _ body: (String, [(key: String, value: String)]) -> Void) {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), close = UInt8(ascii: "}")
        var i = 0
        let n = bytes.count
        var fields: [(key: String, value: String)] = []
        func skipSpaces() -> Bool {
            while i < n && bytes[i] == space { i += 1 }
            return i < n
        }
        func key() -> String {
            let start = i
            while i < n, case let b = bytes[i], b == UInt8(ascii: "_") || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) { i += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }
        // Upstream consumes each expected character only when it is the next one.
        func expect(_ chars: StaticString) {
            for k in 0..<chars.utf8CodeUnitCount where i < n && bytes[i] == chars.utf8Start[k] { i += 1 }
        }
        func value() -> String {
            let start = i
            while i < n && bytes[i] != quote {
                let escaped = bytes[i] == backslash
                i += 1
                if escaped && i < n { i += 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }
        while skipSpaces() {
            let before = i
            let name = key()
            fields.removeAll(keepingCapacity: true)
            expect(" { ")
            while skipSpaces() {
                if bytes[i] == close { i += 1; break }
                let fieldStart = i
                let k = key()
                expect(": \"")
                let v = value()
                if i < n && bytes[i] == quote { i += 1 }
                for index in fields.indices where fields[index].key == k { fields[index].value = v }
                fields.append((key: k, value: v))
                if i == fieldStart { i += 1 }  // malformed input: always make progress
            }
            body(name, fields)
            if i == before { i += 1 }
        }
    }

    /// Upstream's `TokenParser.reorder`: parse, reorder each token, join with single spaces.
    public static func reorder(_ tagged: String, _ order: Order) -> String {
        parse(tagged).map { $0.reordered(order).serialized }.joined(separator: " ")
    }
}
