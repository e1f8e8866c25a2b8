import Foundation
import HTTPTypes
import Hummingbird
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSText
import NIOCore

/// JSON form of the native endpoints (`/v1/tts`, `/v1/jobs`): IndexTTS2's parameter names. Clips can only be
/// uploaded with multipart/form-data or taken from the voice library — a JSON body never names server paths.
struct NativeSpeechJSON: Decodable {
    var texts: [String]
    var isList = false
    var voice: String?
    var emotion: String?
    var emoVector: [Double]?
    var emoText: String?
    var emoAlpha: Double?
    var speed: Double?
    var seed: UInt64?
    var format: String?
    var useRandom: Bool?
    var readings: ReadingMode?
    var lang: String?
    var sampling: SamplingParameters
    var stream: StreamingOptions?

    enum CodingKeys: String, CodingKey {
        case text, voice, emotion, speed, seed, format, stream
        case useRandom = "use_random"
        case readings, lang
        case emoVector = "emo_vector"
        case emoText = "emo_text"
        case emoAlpha = "emo_alpha"
        case spkAudioPrompt = "spk_audio_prompt"
        case emoAudioPrompt = "emo_audio_prompt"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let one = try? c.decode(String.self, forKey: .text) {
            texts = [one]
        } else {
            texts = try c.decode([String].self, forKey: .text)
            isList = true
        }
        for key in [CodingKeys.spkAudioPrompt, .emoAudioPrompt] where c.contains(key) {
            throw APIError(.badRequest, "\(key.rawValue): upload the clip with multipart/form-data or add it to the voice library; JSON bodies cannot name files",
                           param: key.rawValue, code: "invalid_value")
        }
        voice = try c.decodeIfPresent(String.self, forKey: .voice)
        emotion = try c.decodeIfPresent(String.self, forKey: .emotion)
        emoVector = try c.decodeIfPresent([Double].self, forKey: .emoVector)
        emoText = try c.decodeIfPresent(String.self, forKey: .emoText)
        emoAlpha = try c.decodeIfPresent(Double.self, forKey: .emoAlpha)
        speed = try c.decodeIfPresent(Double.self, forKey: .speed)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        format = try c.decodeIfPresent(String.self, forKey: .format)
        useRandom = try c.decodeIfPresent(Bool.self, forKey: .useRandom)
        if let mode = try c.decodeIfPresent(String.self, forKey: .readings) {
            guard let parsed = ReadingMode(rawValue: mode) else {
                throw APIError(.badRequest, "readings: one of \(ReadingMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(mode)'",
                               param: "readings", code: "invalid_value")
            }
            readings = parsed
        }
        lang = try c.decodeIfPresent(String.self, forKey: .lang)
        sampling = try SamplingParameters(from: decoder)
        stream = try c.decodeIfPresent(StreamingOptions.self, forKey: .stream)
    }
}

/// Parameters parsed from a native request, and the uploads saved for them.
struct ParsedSpeech {
    var texts: [String]
    /// The first text's request, resolved (voice looked up, clips decoded) while validating.
    var firstRequest: SynthesisRequest?
    /// The client sent a list (answered with a list even when it holds one text).
    var isList = false
    var template: SpeechParameters
    var uploads: [String]
    /// A direct request's uploads, locked while the request lives (a sweep at start-up removes those whose process
    /// died: ``StorageFiles/removeUnheldFiles(in:)``); they are removed when the last copy of this value goes.
    var held: [HeldFile] = []

    func parameters() -> [SpeechParameters] {
        texts.map { var p = template; p.text = $0; return p }
    }
}

extension SpeechServer {
    /// Reads a native request (multipart/form-data with optional clips, or JSON); validates every field.
    /// - Parameter direct: the clips serve this request only (`/v1/tts`), not queued jobs: they are kept under
    ///   `uploads/direct/`, locked while the request lives.
    func parseNativeSpeech(_ request: Request, allowList: Bool, direct: Bool) async throws -> ParsedSpeech {
        let body = try await collectBody(request)
        let native = try RequestParsing.nativeSpeech(body: body, contentType: request.headers[.contentType], allowList: allowList,
                                                     limits: RequestParsing.Limits(configuration))
        var parsed = ParsedSpeech(texts: native.texts, isList: native.isList, template: native.template, uploads: [])
        if let file = native.speakerClip {
            let (path, hold) = try saveUpload(file, field: "spk_audio_prompt", direct: direct)
            parsed.uploads.append(path)
            parsed.held += hold.map { [$0] } ?? []
            parsed.template.referenceAudioPath = path
        }
        if let file = native.emotionClip {
            do {
                let (path, hold) = try saveUpload(file, field: "emo_audio_prompt", direct: direct)
                parsed.uploads.append(path)
                parsed.held += hold.map { [$0] } ?? []
                parsed.template.emotionAudioPath = path
            } catch {
                removeUploads(parsed.uploads)
                throw error
            }
        }
        // Resolve once (voice, clips) and let the engine check its controls, so bad requests fail now.
        do {
            var probe = parsed.template
            probe.text = parsed.texts[0]
            let request = try resolver.resolve(probe)
            try engine.validate(request)
            parsed.firstRequest = request
        } catch {
            removeUploads(parsed.uploads)
            throw error
        }
        return parsed
    }

    static func format(_ name: String?) throws -> AudioFormat? {
        guard let name else { return nil }
        guard let f = AudioFormat(rawValue: name.lowercased()) else {
            throw APIError.invalid("format", "must be one of wav, mp3, opus, aac, flac, pcm; got '\(name)'")
        }
        return f
    }

    func removeUploads(_ paths: [String]) {
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }

    func addNativeRoutes(_ router: Router<ServerRequestContext>) {
        router.post("/v1/tts") { request, context -> Response in
            let parsed = try await self.parseNativeSpeech(request, allowList: false, direct: true)
            defer { self.removeUploads(parsed.uploads) }
            let parameters = parsed.parameters()[0]
            let request = try parsed.firstRequest ?? self.resolver.resolve(parameters)
            if parameters.stream?.enabled == true {
                // Each window's audio is sent as soon as it exists (chunked transfer encoding); the clips are decoded
                // into the request already, so the uploads can go when this handler returns.
                return try await self.streamAudio(request, format: parameters.format ?? .wav, parameters: parameters,
                                                  context: context)
            }
            let result = try await self.synthesizeWhileConnected(request, context: context, parameters: parameters)
            var response = try self.audioResponse(result, format: parameters.format ?? .wav)
            if !self.engine.info.clonesTimbre {
                var ignored: [String] = []
                if let sampling = parameters.sampling, !sampling.isEmpty { ignored.append("sampling") }
                if parameters.useRandom == true { ignored.append("use_random") }
                if !ignored.isEmpty {
                    response.headers[HTTPField.Name("X-IndexTTS-Ignored")!] = ignored.joined(separator: ", ") + " (this engine has no GPT sampler)"
                }
            }
            return response
        }

        router.get("/v1/text/preview") { request, _ -> Response in
            guard let text = request.uri.queryParameters.get("text"), !text.isEmpty else { throw APIError.missing("text") }
            return try self.preview(text, readings: try Self.readingMode(request.uri.queryParameters.get("readings")),
                                    language: try Self.language(request.uri.queryParameters.get("lang")))
        }
        router.post("/v1/text/preview") { request, _ -> Response in
            struct Body: Decodable { let text: String; let readings: String?; let lang: String? }
            let body = try await self.collectBody(request)
            let decoded: Body
            do { decoded = try JSONDecoder().decode(Body.self, from: Data(buffer: body)) } catch let e as DecodingError {
                throw APIError.from(e)
            }
            return try self.preview(decoded.text, readings: try Self.readingMode(decoded.readings), language: try Self.language(decoded.lang))
        }
    }

    /// A `readings` field: absent or empty is the engine's default; anything but a mode is a 400 naming the field.
    static func readingMode(_ value: String?) throws -> ReadingMode? {
        guard let value, !value.isEmpty else { return nil }
        guard let mode = ReadingMode(rawValue: value) else {
            throw APIError(.badRequest, "readings: one of \(ReadingMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(value)'",
                           param: "readings", code: "invalid_value")
        }
        return mode
    }

    /// A `lang` field: absent or empty lets the engine decide; anything but a language code is a 400 naming the field.
    static func language(_ value: String?) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        guard SynthesisRequest.isLanguageCode(value) else {
            throw APIError(.badRequest, "lang: a language code of letters (zh, en, ja, es, ar, …), got '\(value)'",
                           param: "lang", code: "invalid_value")
        }
        return value.lowercased()
    }

    /// How the engine will read `text` in `readings` mode (and, for IndexTTS-2.5, `language`): the normalised text,
    /// the reading layer's spans with the rule that read each, the user's overrides (annotations, glossary terms) and
    /// the segments.
    func preview(_ text: String, readings: ReadingMode?, language: String? = nil) throws -> Response {
        guard text.count <= configuration.maxTextCharacters else {
            throw APIError.from(SynthesisError.textTooLong(characters: text.count, limit: configuration.maxTextCharacters))
        }
        struct Output: Encodable {
            let engine: String
            let preview: TextPreview
            func encode(to encoder: any Encoder) throws {
                try preview.encode(to: encoder)
                var c = encoder.container(keyedBy: K.self)
                try c.encode(engine, forKey: .engine)
            }
            enum K: String, CodingKey { case engine }
        }
        return try Self.json(Output(engine: engine.info.id, preview: engine.preview(text, readings: readings, language: language)))
    }
}
