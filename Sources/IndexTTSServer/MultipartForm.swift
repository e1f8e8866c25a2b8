import Foundation
import Hummingbird
import NIOCore

/// A parsed `multipart/form-data` body: text fields and uploaded files by field name.
struct MultipartForm: Sendable {
    struct File: Sendable {
        var fileName: String
        var contentType: String?
        var bytes: [UInt8]
    }

    var fields: [String: String] = [:]
    var files: [String: File] = [:]

    /// The multipart boundary of a `Content-Type` header, or nil when it is not multipart/form-data.
    static func boundary(of contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" { return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }

    /// An `application/x-www-form-urlencoded` body (fields only).
    init(urlEncoded body: ByteBuffer) {
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if let name = parts.first, !name.isEmpty { fields[name] = parts.count > 1 ? parts[1] : "" }
        }
    }

    /// The form of a request body: multipart/form-data or URL-encoded; nil for other content types.
    static func parse(body: ByteBuffer, contentType: String?) throws -> MultipartForm? {
        if let boundary = boundary(of: contentType) { return try MultipartForm(body: body, boundary: boundary) }
        if contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true { return MultipartForm(urlEncoded: body) }
        return nil
    }

    init(body: ByteBuffer, boundary: String) throws {
        let parts: [Part]
        do { parts = try Self.parts(of: Array(body.readableBytesView), boundary: Array(boundary.utf8)) } catch let reason as Malformed {
            throw APIError(.badRequest, "malformed multipart/form-data body: \(reason.reason)", code: "invalid_multipart")
        }
        for part in parts {
            guard let disposition = part.headers.first(where: { $0.0.lowercased() == "content-disposition" })?.1,
                  let name = Self.parameter("name", in: disposition) else { continue }
            if let fileName = Self.parameter("filename", in: disposition) {
                let type = part.headers.first { $0.0.lowercased() == "content-type" }?.1
                files[name] = File(fileName: fileName, contentType: type, bytes: part.data)
            } else {
                fields[name] = String(decoding: part.data, as: UTF8.self)
            }
        }
    }

    struct Part {
        var headers: [(String, String)]
        var data: [UInt8]
    }

    struct Malformed: Error {
        let reason: String
    }

    /// The parts of a `multipart/form-data` body (RFC 7578 / RFC 2046): a preamble, then `--boundary` lines each
    /// followed by header lines, an empty line and the content, up to `CRLF--boundary`; `--boundary--` ends it.
    /// Our own reader over the whole body (it is collected up to ``ServerConfiguration/maxBodyBytes`` first): the
    /// streaming parser used before trapped on any header-name byte ≥ 0x80 (found by the `multipart` fuzz harness).
    static func parts(of bytes: [UInt8], boundary: [UInt8]) throws -> [Part] {
        guard (1...70).contains(boundary.count) else { throw Malformed(reason: "the boundary must be 1 to 70 characters") }
        let delimiter = Array("--".utf8) + boundary
        let crlf: [UInt8] = [13, 10]
        guard var position = firstIndex(of: delimiter, in: bytes, from: 0) else {
            throw Malformed(reason: "no --boundary line")
        }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            if bytes[position...].starts(with: Array("--".utf8)) { return parts }  // the close delimiter
            // Transport padding (spaces, tabs) may follow a delimiter, then the line break.
            while position < bytes.count, bytes[position] == 32 || bytes[position] == 9 { position += 1 }
            guard bytes[position...].starts(with: crlf) else { throw Malformed(reason: "no line break after a boundary") }
            position += 2
            var headers: [(String, String)] = []
            while true {
                guard let end = firstIndex(of: crlf, in: bytes, from: position) else {
                    throw Malformed(reason: "a part's headers do not end")
                }
                if end == position { position += 2; break }
                let line = String(decoding: bytes[position..<end], as: UTF8.self)
                guard let colon = line.firstIndex(of: ":") else { throw Malformed(reason: "a header line without ':'") }
                headers.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                                String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
                guard headers.count <= 32 else { throw Malformed(reason: "more than 32 headers in a part") }
                position = end + 2
            }
            guard let next = firstIndex(of: crlf + delimiter, in: bytes, from: position) else {
                throw Malformed(reason: "a part is not closed by its boundary")
            }
            parts.append(Part(headers: headers, data: Array(bytes[position..<next])))
            position = next + 2
        }
    }

    /// First occurrence of `needle` in `bytes` at or after `start`.
    static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, needle.count <= bytes.count else { return nil }
        var i = start
        let last = bytes.count - needle.count
        while i <= last {
            if bytes[i] == first && bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func parameter(_ key: String, in header: String) -> String? {
        for item in header.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let pair = item.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].lowercased() == key {
                return String(pair[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    func string(_ name: String) -> String? {
        guard let v = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    func double(_ name: String) throws -> Double? {
        guard let s = string(name) else { return nil }
        guard let v = Double(s), v.isFinite else { throw APIError.invalid(name, "expected a number, got '\(s)'") }
        return v
    }

    func int(_ name: String) throws -> Int? {
        guard let s = string(name) else { return nil }
        guard let v = Int(s) else { throw APIError.invalid(name, "expected an integer, got '\(s)'") }
        return v
    }

    func bool(_ name: String) throws -> Bool? {
        guard let s = string(name)?.lowercased() else { return nil }
        switch s {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw APIError.invalid(name, "expected true or false, got '\(s)'")
        }
    }

    /// A list of numbers given as `0.1,0.2,…` or a JSON array.
    func doubles(_ name: String) throws -> [Double]? {
        guard let s = string(name) else { return nil }
        let inner = s.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        let values = inner.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw APIError.invalid(name, "expected comma-separated numbers, got '\(s)'")
        }
        return values.map { $0! }
    }
}
