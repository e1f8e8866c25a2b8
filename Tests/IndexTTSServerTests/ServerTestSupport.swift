import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IndexTTS
import IndexTTSJobs
import IndexTTSServer
import IndexTTSTestSupport
import NIOCore
import Testing

/// A live server on a free loopback port with the tone engine (or `engine`), a fresh data folder and SQLite queue.
struct TestServer {
    let server: SpeechServer
    let data: URL

    init(configure: (inout ServerConfiguration) -> Void = { _ in }, segmentDelay: Double = 0,
         engine: (any SpeechEngine)? = nil) throws {
        data = FileManager.default.temporaryDirectory.appendingPathComponent("server-\(UUID().uuidString)")
        var c = ServerConfiguration(dataDirectory: data)
        c.port = 0
        c.concurrency = 2
        configure(&c)
        let queue = try SQLiteJobQueue(path: data.appendingPathComponent("jobs.sqlite").path)
        server = try SpeechServer(configuration: c, engine: engine ?? ToneEngine(segmentDelay: segmentDelay), queue: queue)
    }

    func run<T: Sendable>(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> T) async throws -> T {
        try await server.makeApplication().test(.live) { client in try await body(client) }
    }
}

extension TestClientProtocol {
    func postJSON(_ uri: String, _ object: [String: Any], headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await execute(uri: uri, method: .post, headers: h, body: ByteBuffer(bytes: data))
    }

    func postMultipart(_ uri: String, fields: [(String, String)], files: [(name: String, fileName: String, bytes: [UInt8])] = [],
                       headers: HTTPFields = [:]) async throws -> TestResponse {
        let boundary = "----indextts-test-\(UUID().uuidString)"
        var body: [UInt8] = []
        func add(_ s: String) { body += Array(s.utf8) }
        for (name, value) in fields {
            add("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        for file in files {
            add("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.fileName)\"\r\n")
            add("Content-Type: application/octet-stream\r\n\r\n")
            body += file.bytes
            add("\r\n")
        }
        add("--\(boundary)--\r\n")
        var h = headers
        h[.contentType] = "multipart/form-data; boundary=\(boundary)"
        return try await execute(uri: uri, method: .post, headers: h, body: ByteBuffer(bytes: body))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension TestResponse {
    var bytes: [UInt8] { Array(body.readableBytesView) }
    var text: String { String(buffer: body) }
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], "body: \(text)")
    }
    /// The OpenAI error object, checked for shape.
    func apiError() throws -> [String: Any] {
        let error = try #require(try json()["error"] as? [String: Any], "not an error body: \(text)")
        #expect(error["message"] is String && error["type"] is String && error.keys.contains("param") && error.keys.contains("code"))
        return error
    }
    /// `error.param` / `error.code` of an OpenAI error body (nil, and a recorded issue, when the body is not one).
    var errorParam: String? { (try? apiError())?["param"] as? String }
    var errorCode: String? { (try? apiError())?["code"] as? String }
    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}
