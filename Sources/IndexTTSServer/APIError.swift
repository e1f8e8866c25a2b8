import Foundation
import Hummingbird
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import NIOCore

/// An error as OpenAI's API reports it: `{"error": {"message", "type", "param", "code"}}` with a matching status.
public struct APIError: Error, HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type ?? (status.code >= 500 ? "server_error" : "invalid_request_error")
        self.param = param
        self.code = code
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String?

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)  // explicit nulls, as OpenAI sends them
                try c.encode(code, forKey: .code)
            }

            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let body = try JSONEncoder().encode(Body(error: .init(message: message, type: type, param: param, code: code)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    public static func missing(_ field: String) -> APIError {
        APIError(.badRequest, "'\(field)' is required", param: field, code: "missing_required_parameter")
    }

    public static func invalid(_ field: String, _ reason: String) -> APIError {
        APIError(.badRequest, "\(field): \(reason)", param: field, code: "invalid_value")
    }

    /// 507: the disk is full. A server condition (5xx), but a distinct one: the request was fine and nothing of it
    /// was kept, so the client may send it again once space is freed.
    public static func insufficientStorage(_ message: String) -> APIError {
        APIError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), message, code: "insufficient_storage")
    }

    /// Maps library errors onto statuses: bad requests are 4xx with the field named, storage trouble 5xx.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as SynthesisError:
            switch e {
            case .emptyText: return APIError(.badRequest, e.description, param: "input", code: "empty_input")
            case .textTooLong: return APIError(.unprocessableContent, e.description, param: "input", code: "text_too_long")
            case .unknownVoice: return APIError(.badRequest, e.description, param: "voice", code: "unknown_voice")
            case .invalidParameter(let name, _): return APIError(.badRequest, e.description, param: name, code: "invalid_value")
            case .unsupported: return APIError(.badRequest, e.description, code: "unsupported")
            case .modelsMissing: return APIError(.serviceUnavailable, e.description, code: "models_missing")
            case .cancelled: return APIError(.serviceUnavailable, e.description, code: "cancelled")
            // 422, not 408: 408 says the client was too slow to send its request, and clients (the OpenAI SDK among
            // them) retry 408 on their own, which would run a request that cannot finish in time again and again.
            // This request was read and understood but is too long to synthesise within the server's limit;
            // repeating it unchanged fails the same way.
            case .timedOut: return APIError(.unprocessableContent, e.description, param: "input", code: "request_timeout")
            }
        case let e as VoiceLibraryError:
            switch e {
            case .invalidName: return APIError(.badRequest, e.description, param: "name", code: "invalid_voice_name")
            case .notFound: return APIError(.notFound, e.description, param: "name", code: "voice_not_found")
            case .alreadyExists, .reservedName: return APIError(.conflict, e.description, param: "name", code: "voice_exists")
            case .invalidAudio: return APIError(.badRequest, e.description, param: "audio", code: "invalid_audio")
            case .storage: return APIError(.internalServerError, e.description)
            case .outOfSpace: return .insufficientStorage(e.description)
            }
        case let e as JobQueueError:
            switch e {
            case .notFound: return APIError(.notFound, e.description, param: "id", code: "job_not_found")
            case .storage, .invalidURL: return APIError(.serviceUnavailable, e.description, code: "queue_unavailable")
            }
        case let e as AudioError:
            return APIError(.badRequest, "audio: \(e.description)", code: "invalid_audio")
        case let e as DecodingError:
            return APIError(.badRequest, Self.describe(e), param: Self.path(of: e), code: "invalid_json")
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "the request body is larger than this server accepts", code: "body_too_large")
        case let e as HTTPError:
            return APIError(e.status, e.body ?? e.status.reasonPhrase)
        default:
            return APIError(.internalServerError, "internal error: \(error)")
        }
    }

    static func path(of error: DecodingError) -> String? {
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        @unknown default: return nil
        }
        let joined = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return joined.isEmpty ? nil : joined
    }

    static func describe(_ error: DecodingError) -> String {
        let field = path(of: error).map { "'\($0)'" } ?? "the body"
        switch error {
        case .typeMismatch(let type, _): return "\(field) has the wrong type (expected \(type))"
        case .valueNotFound(let type, _): return "\(field) is null (expected \(type))"
        case .keyNotFound: return "\(field) is required"
        case .dataCorrupted(let c): return "\(field): \(c.debugDescription)"
        @unknown default: return "invalid JSON"
        }
    }
}

/// Turns every error into OpenAI's error JSON, and logs server-side failures.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let api = APIError.from(error)
            if case SynthesisError.cancelled = error {
                // The client went away (``ClientWatch``): nobody is failed, nothing to alarm anyone about.
                context.logger.info("request cancelled", metadata: ["path": "\(request.uri.path)"])
            } else if api.status.code >= 500 {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return try api.response(from: request, context: context)
        }
    }
}
