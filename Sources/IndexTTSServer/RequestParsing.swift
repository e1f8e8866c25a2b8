import Foundation
import Hummingbird
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSText
import NIOCore

/// The pure part of reading the request bodies the server accepts: bytes in, checked ``SpeechParameters`` out, or
/// an ``APIError`` (always 4xx here). The routes call these functions, and the fuzz harnesses
/// (`Sources/IndexTTSFuzzing`) call the very same ones, so what is fuzzed is what the server runs. Nothing here
/// touches the disk, the voice library or the engine; those checks follow in the routes.
public enum RequestParsing {
    /// The size limits a body is checked against (``ServerConfiguration``'s).
    public struct Limits: Sendable {
        public var maxSpeechCharacters: Int
        public var maxTextCharacters: Int
        public var maxJobsPerRequest: Int

        public init(maxSpeechCharacters: Int = 4096, maxTextCharacters: Int = 20_000, maxJobsPerRequest: Int = 100) {
            self.maxSpeechCharacters = maxSpeechCharacters
            self.maxTextCharacters = maxTextCharacters
            self.maxJobsPerRequest = maxJobsPerRequest
        }

        public init(_ configuration: ServerConfiguration) {
            self.init(maxSpeechCharacters: configuration.maxSpeechCharacters, maxTextCharacters: configuration.maxTextCharacters,
                      maxJobsPerRequest: configuration.maxJobsPerRequest)
        }
    }

    /// A checked `POST /v1/audio/speech` body.
    public struct OpenAISpeech: Sendable {
        public var parameters: SpeechParameters
        public var format: AudioFormat
        /// nil, "audio" or "sse".
        public var streamFormat: String?
    }

    /// An uploaded clip of a multipart body (not yet decoded).
    public struct Upload: Sendable {
        public var fileName: String
        public var contentType: String?
        public var bytes: [UInt8]
    }

    /// A checked native body (`POST /v1/tts`, `POST /v1/jobs`): the texts, the parameters they share and the clips.
    public struct NativeSpeech: Sendable {
        public var texts: [String]
        /// The client sent a list (answered with a list even when it holds one text).
        public var isList: Bool
        public var template: SpeechParameters
        public var speakerClip: Upload?
        public var emotionClip: Upload?

        public func parameters() -> [SpeechParameters] {
            texts.map { var p = template; p.text = $0; return p }
        }
    }

    /// Reads a `POST /v1/audio/speech` JSON body. `modelNames`: the model names served (empty: any).
    public static func openAISpeech(body: [UInt8], modelNames: [String] = [], limits: Limits = Limits()) throws -> OpenAISpeech {
        try openAISpeech(body: ByteBuffer(bytes: body), modelNames: modelNames, limits: limits)
    }

    static func openAISpeech(body: ByteBuffer, modelNames: [String], limits: Limits) throws -> OpenAISpeech {
        let speech: OpenAISpeechRequest
        do { speech = try JSONDecoder().decode(OpenAISpeechRequest.self, from: Data(buffer: body)) } catch let e as DecodingError {
            throw APIError.from(e)
        } catch {
            throw APIError(.badRequest, "the body must be JSON: \(error)", code: "invalid_json")
        }
        if let model = speech.model, !modelNames.isEmpty, !modelNames.contains(model) {
            throw APIError(.badRequest, "model '\(model)' is not served here; models: \(modelNames.joined(separator: ", "))",
                           param: "model", code: "model_not_found")
        }
        let formatName = (speech.responseFormat ?? "mp3").lowercased()
        guard let format = AudioFormat(rawValue: formatName) else {
            throw APIError.invalid("response_format", "must be one of mp3, opus, aac, flac, wav, pcm; got '\(formatName)'")
        }
        let streamFormat = speech.streamFormat?.lowercased()
        if let streamFormat, !["audio", "sse"].contains(streamFormat) {
            throw APIError.invalid("stream_format", "must be 'audio' or 'sse'; got '\(streamFormat)'")
        }
        var parameters = SpeechParameters(text: speech.input, voice: speech.voice, speed: speech.speed, format: format)
        if let lang = speech.lang, !lang.isEmpty { parameters.language = lang }
        if let instructions = speech.instructions?.trimmingCharacters(in: .whitespacesAndNewlines), !instructions.isEmpty {
            // Free text: the engine maps what it understands (preset names and labels for the default voice).
            parameters.emotionText = instructions
        }
        if streamFormat != nil {
            // Streamed: every window of codes is sent as soon as it is rendered, while the GPT continues.
            parameters.stream = speech.stream ?? StreamingOptions()
        }
        do { try parameters.validate(maxCharacters: limits.maxSpeechCharacters) } catch SynthesisError.emptyText {
            throw APIError(.badRequest, "'input' is empty", param: "input", code: "empty_input")
        } catch {
            throw APIError.from(error)
        }
        return OpenAISpeech(parameters: parameters, format: format, streamFormat: streamFormat)
    }

    /// Reads a native body: multipart/form-data (clips included), URL-encoded fields or JSON.
    /// - Parameter allowList: whether `text` may be a list (`/v1/jobs`).
    public static func nativeSpeech(body: [UInt8], contentType: String?, allowList: Bool,
                                    limits: Limits = Limits()) throws -> NativeSpeech {
        try nativeSpeech(body: ByteBuffer(bytes: body), contentType: contentType, allowList: allowList, limits: limits)
    }

    static func nativeSpeech(body: ByteBuffer, contentType: String?, allowList: Bool, limits: Limits) throws -> NativeSpeech {
        var parsed: NativeSpeech
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
            p.format = try SpeechServer.format(form.string("format"))
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
                guard let reading = ReadingMode(rawValue: mode) else {
                    throw APIError(.badRequest, "readings: one of \(ReadingMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(mode)'",
                                   param: "readings", code: "invalid_value")
                }
                p.readings = reading
            }
            if let lang = form.string("lang"), !lang.isEmpty { p.language = lang }
            if p.sampling?.isEmpty == true { p.sampling = nil }
            // Windowed streaming: `stream` (true/false) and the window sizes as flat fields.
            let chunk = try form.int("stream_chunk_size"), overlap = try form.int("stream_overlap_size")
            let first = try form.int("stream_first_chunk_size"), lookahead = try form.int("stream_lookahead")
            let sized = chunk != nil || overlap != nil || first != nil || lookahead != nil
            if let enabled = try form.bool("stream") ?? (sized ? true : nil) {
                p.stream = StreamingOptions(enabled: enabled, chunkSize: chunk ?? 100, overlapSize: overlap ?? 5,
                                            firstChunkSize: first, lookahead: lookahead)
            }
            func upload(_ file: MultipartForm.File?) -> Upload? {
                file.map { Upload(fileName: $0.fileName, contentType: $0.contentType, bytes: $0.bytes) }
            }
            parsed = NativeSpeech(texts: texts, isList: form.fields["texts"] != nil, template: p,
                                  speakerClip: upload(form.files["spk_audio_prompt"] ?? form.files["reference_audio"]),
                                  emotionClip: upload(form.files["emo_audio_prompt"] ?? form.files["emotion_audio"]))
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
                                     format: try SpeechServer.format(json.format), sampling: json.sampling.isEmpty ? nil : json.sampling,
                                     useRandom: json.useRandom)
            p.readings = json.readings
            p.language = json.lang
            p.stream = json.stream
            p.text = ""
            parsed = NativeSpeech(texts: json.texts, isList: json.isList, template: p, speakerClip: nil, emotionClip: nil)
        }
        try validate(parsed, allowList: allowList, limits: limits)
        return parsed
    }

    /// Checks the texts and the shared parameters (cheap checks, before any upload is stored).
    static func validate(_ parsed: NativeSpeech, allowList: Bool, limits: Limits) throws {
        guard !parsed.texts.isEmpty else { throw APIError.missing("text") }
        if parsed.texts.count > 1 && !allowList { throw APIError.invalid("text", "give one text here; submit lists to /v1/jobs") }
        if parsed.texts.count > limits.maxJobsPerRequest {
            throw APIError(.contentTooLarge, "\(parsed.texts.count) texts in one request; the limit is \(limits.maxJobsPerRequest)",
                           param: "text", code: "too_many_texts")
        }
        for (i, text) in parsed.texts.enumerated() {
            var p = parsed.template
            p.text = text
            do { try p.validate(maxCharacters: limits.maxTextCharacters) } catch let e as SynthesisError {
                var api = APIError.from(e)
                if parsed.texts.count > 1 { api.message = "text[\(i)]: " + api.message }
                if api.param == "input" { api.param = parsed.texts.count > 1 ? "text[\(i)]" : "text" }
                throw api
            }
        }
    }
}
