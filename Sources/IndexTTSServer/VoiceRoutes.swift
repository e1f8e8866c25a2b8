import Foundation
import Hummingbird
import IndexTTS
import IndexTTSJobs
import NIOCore

extension SpeechServer {
    /// A voice as `GET /v1/voices` lists it.
    struct VoiceView: Encodable {
        let name: String
        let object = "voice"
        /// `built-in`, `alias` (an OpenAI voice name spoken by the built-in voice) or `library`.
        let type: String
        let aliasOf: String?
        let engine: String
        let entry: VoiceEntry?

        enum CodingKeys: String, CodingKey {
            case name, object, type, engine, entry
            case aliasOf = "alias_of"
        }
    }

    /// The `{name}` path parameter, percent-decoded (names may be Chinese).
    static func voiceName(_ context: ServerRequestContext) -> String {
        let raw = context.parameters.get("name") ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    /// Longest `description` a library voice may carry (it is listed by `GET /v1/voices` with every voice).
    static let maxVoiceDescriptionCharacters = 1000

    func addVoiceRoutes(_ router: Router<ServerRequestContext>) {
        router.get("/v1/voices") { _, _ -> Response in
            let info = self.engine.info
            var voices = info.voices.map { VoiceView(name: $0, type: "built-in", aliasOf: nil, engine: info.id, entry: nil) }
            voices += self.resolver.aliases.map { VoiceView(name: $0, type: "alias", aliasOf: info.voices.first, engine: info.id, entry: nil) }
            voices += try self.library.list().map { VoiceView(name: $0.name, type: "library", aliasOf: nil, engine: info.id, entry: $0) }
            struct List: Encodable { let object = "list"; let data: [VoiceView] }
            return try Self.json(List(data: voices))
        }

        router.post("/v1/voices") { request, _ -> Response in
            let body = try await self.collectBody(request)
            guard let boundary = MultipartForm.boundary(of: request.headers[.contentType]) else {
                throw APIError(.unsupportedMediaType, "send multipart/form-data with 'name' and an 'audio' file", code: "invalid_content_type")
            }
            let form = try MultipartForm(body: body, boundary: boundary)
            guard let name = form.string("name") else { throw APIError.missing("name") }
            guard let file = form.files["audio"] ?? form.files["file"] ?? form.files["spk_audio_prompt"] else {
                throw APIError.missing("audio")
            }
            let description = form.string("description")
            if let description, description.count > Self.maxVoiceDescriptionCharacters {
                throw APIError(.unprocessableContent, "description: \(description.count) characters; the limit is \(Self.maxVoiceDescriptionCharacters)",
                               param: "description", code: "text_too_long")
            }
            let library = self.library, engine = self.engine
            // Decoding and the engine's analysis (its conditioning, stored with the voice) are CPU work: keep them off
            // the event loop.
            let entry = try await self.pool.run {
                try library.add(name: name, audio: file.bytes, fileName: file.fileName, description: description,
                                engine: engine)
            }
            return try Self.json(VoiceView(name: entry.name, type: "library", aliasOf: nil, engine: self.engine.info.id, entry: entry),
                                 status: .created)
        }

        router.get("/v1/voices/:name") { _, context -> Response in
            let name = Self.voiceName(context)
            let info = self.engine.info
            if info.voices.contains(name) {
                return try Self.json(VoiceView(name: name, type: "built-in", aliasOf: nil, engine: info.id, entry: nil))
            }
            if self.resolver.aliases.contains(name.lowercased()) {
                return try Self.json(VoiceView(name: name, type: "alias", aliasOf: info.voices.first, engine: info.id, entry: nil))
            }
            let entry = try self.library.entry(name)
            return try Self.json(VoiceView(name: name, type: "library", aliasOf: nil, engine: info.id, entry: entry))
        }

        router.delete("/v1/voices/:name") { _, context -> Response in
            let name = Self.voiceName(context)
            if self.resolver.isBuiltIn(name) {
                throw APIError(.conflict, "'\(name)' is built in and cannot be deleted", param: "name", code: "voice_built_in")
            }
            try self.library.delete(name)
            struct Deleted: Encodable { let name: String; let object = "voice"; let deleted = true }
            return try Self.json(Deleted(name: name))
        }
    }
}
