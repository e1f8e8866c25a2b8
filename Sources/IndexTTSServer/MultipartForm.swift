import Foundation
import Hummingbird
import MultipartKit
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
        let parser = MultipartParser(boundary: boundary)
        var headers: [(String, String)] = []
        var data: [UInt8] = []
        var parts: [(headers: [(String, String)], data: [UInt8])] = []
        parser.onHeader = { headers.append(($0, $1)) }
        parser.onBody = { buffer in data += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        parser.onPartComplete = {
            parts.append((headers, data))
            headers = []
            data = []
        }
        do { try parser.execute(body) } catch {
            throw APIError(.badRequest, "malformed multipart/form-data body: \(error)", code: "invalid_multipart")
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
