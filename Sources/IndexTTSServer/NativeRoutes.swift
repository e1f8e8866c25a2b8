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
    var sampling: SamplingParameters
    var stream: StreamingOptions?

    enum CodingKeys: String, CodingKey {
        case text, voice, emotion, speed, seed, format, stream
        case useRandom = "use_random"
        case readings
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

    func parameters() -> [SpeechParameters] {
        texts.map { var p = template; p.text = $0; return p }
    }
}

extension SpeechServer {
    /// Reads a native request (multipart/form-data with optional clips, or JSON); validates every field.
    func parseNativeSpeech(_ request: Request, allowList: Bool) async throws -> ParsedSpeech {
        let body = try await collectBody(request)
        let contentType = request.headers[.contentType]
        var parsed: ParsedSpeech
        if let form = try MultipartForm.parse(body: body, contentType: contentType) {
            var texts: [String] = []
            if let list = form.fields["texts"] {
                do { texts = try JSONDecoder().decode([String].self, from: Data(list.utf8)) } catch {
                    throw APIError.invalid("texts", "expected a JSON array of strings")
                }
            } else if let text = form.fields["text"] {
                texts = [text]
            }
            var p = SpeechParameters(text: "")
            p.voice = form.string("voice")
            p.emotion = form.string("emotion")
            p.emotionVector = try form.doubles("emo_vector")
            p.emotionText = form.string("emo_text")
            p.emotionWeight = try form.double("emo_alpha")
            p.speed = try form.double("speed")
            if let s = form.string("seed") {
                guard let seed = UInt64(s) else { throw APIError.invalid("seed", "expected a non-negative integer, got '\(s)'") }
                p.seed = seed
            }
            p.format = try Self.format(form.string("format"))
            p.sampling = SamplingParameters(doSample: try form.bool("do_sample"), topP: try form.double("top_p"),
                                            topK: try form.int("top_k"), temperature: try form.double("temperature"),
                                            numBeams: try form.int("num_beams"),
                                            repetitionPenalty: try form.double("repetition_penalty"),
                                            lengthPenalty: try form.double("length_penalty"),
                                            maxMelTokens: try form.int("max_mel_tokens"),
                                            diffusionSteps: try form.int("diffusion_steps"),
                                            inferenceCfgRate: try form.double("inference_cfg_rate"),
                                            maxTextTokensPerSegment: try form.int("max_text_tokens_per_segment"),
                                            intervalSilence: try form.int("interval_silence"))
            p.useRandom = try form.bool("use_random")
            if let mode = form.string("readings"), !mode.isEmpty {
                guard let parsed = ReadingMode(rawValue: mode) else {
                    throw APIError(.badRequest, "readings: one of \(ReadingMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(mode)'",
                                   param: "readings", code: "invalid_value")
                }
                p.readings = parsed
            }
            if p.sampling?.isEmpty == true { p.sampling = nil }
            // Windowed streaming: `stream` (true/false) and the window sizes as flat fields.
            let chunk = try form.int("stream_chunk_size"), overlap = try form.int("stream_overlap_size")
            let first = try form.int("stream_first_chunk_size")
            if let enabled = try form.bool("stream") ?? (chunk != nil || overlap != nil || first != nil ? true : nil) {
                p.stream = StreamingOptions(enabled: enabled, chunkSize: chunk ?? 100, overlapSize: overlap ?? 5,
                                            firstChunkSize: first)
            }
            parsed = ParsedSpeech(texts: texts, isList: form.fields["texts"] != nil, template: p, uploads: [])
            // Validate everything cheap before storing uploads.
            try validate(&parsed, allowList: allowList)
            if let file = form.files["spk_audio_prompt"] ?? form.files["reference_audio"] {
                let path = try saveUpload(file, field: "spk_audio_prompt")
                parsed.uploads.append(path)
                parsed.template.referenceAudioPath = path
            }
            if let file = form.files["emo_audio_prompt"] ?? form.files["emotion_audio"] {
                do {
                    let path = try saveUpload(file, field: "emo_audio_prompt")
                    parsed.uploads.append(path)
                    parsed.template.emotionAudioPath = path
                } catch {
                    removeUploads(parsed.uploads)
                    throw error
                }
            }
        } else {
            let json: NativeSpeechJSON
            do { json = try JSONDecoder().decode(NativeSpeechJSON.self, from: Data(buffer: body)) } catch let e as DecodingError {
                throw APIError.from(e)
            } catch let e as APIError {
                throw e
            } catch {
                throw APIError(.badRequest, "send multipart/form-data or a JSON object: \(error)", code: "invalid_json")
            }
            var p = SpeechParameters(text: "", voice: json.voice, emotion: json.emotion, emotionVector: json.emoVector,
                                     emotionText: json.emoText, emotionWeight: json.emoAlpha, speed: json.speed, seed: json.seed,
                                     format: try Self.format(json.format), sampling: json.sampling.isEmpty ? nil : json.sampling,
                                     useRandom: json.useRandom)
            p.readings = json.readings
            p.stream = json.stream
            p.text = ""
            parsed = ParsedSpeech(texts: json.texts, isList: json.isList, template: p, uploads: [])
            try validate(&parsed, allowList: allowList)
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

    func validate(_ parsed: inout ParsedSpeech, allowList: Bool) throws {
        guard !parsed.texts.isEmpty else { throw APIError.missing("text") }
        if parsed.texts.count > 1 && !allowList { throw APIError.invalid("text", "give one text here; submit lists to /v1/jobs") }
        if parsed.texts.count > configuration.maxJobsPerRequest {
            throw APIError(.contentTooLarge, "\(parsed.texts.count) texts in one request; the limit is \(configuration.maxJobsPerRequest)",
                           param: "text", code: "too_many_texts")
        }
        for (i, text) in parsed.texts.enumerated() {
            var p = parsed.template
            p.text = text
            do { try p.validate(maxCharacters: configuration.maxTextCharacters) } catch let e as SynthesisError {
                var api = APIError.from(e)
                if parsed.texts.count > 1 { api.message = "text[\(i)]: " + api.message }
                if api.param == "input" { api.param = parsed.texts.count > 1 ? "text[\(i)]" : "text" }
                throw api
            }
        }
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

    func addNativeRoutes(_ router: Router<BasicRequestContext>) {
        router.post("/v1/tts") { request, _ -> Response in
            let parsed = try await self.parseNativeSpeech(request, allowList: false)
            defer { self.removeUploads(parsed.uploads) }
            let parameters = parsed.parameters()[0]
            let request = try parsed.firstRequest ?? self.resolver.resolve(parameters)
            if parameters.stream?.enabled == true {
                // Each window's audio is sent as soon as it exists (chunked transfer encoding); the clips are decoded
                // into the request already, so the uploads can go when this handler returns.
                return try self.streamAudio(request, format: parameters.format ?? .wav, parameters: parameters)
            }
            let result = try await self.synthesize(request, source: "direct", parameters: parameters)
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
            return try self.preview(text)
        }
        router.post("/v1/text/preview") { request, _ -> Response in
            struct Body: Decodable { let text: String }
            let body = try await self.collectBody(request)
            let text: String
            do { text = try JSONDecoder().decode(Body.self, from: Data(buffer: body)).text } catch let e as DecodingError {
                throw APIError.from(e)
            }
            return try self.preview(text)
        }
    }

    func preview(_ text: String) throws -> Response {
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
        return try Self.json(Output(engine: engine.info.id, preview: engine.preview(text)))
    }
}
