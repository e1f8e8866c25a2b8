import Foundation
import HTTPTypes
import Hummingbird
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import NIOCore

/// `POST /v1/audio/speech` body, as OpenAI defines it.
struct OpenAISpeechRequest: Decodable, Sendable {
    var model: String?
    var input: String
    var voice: String?
    var responseFormat: String?
    var speed: Double?
    var instructions: String?
    var streamFormat: String?
    /// Our extension: the window options of a streamed synthesis (``StreamingOptions``; `false` streams whole
    /// segments). With `stream_format` and no `stream`, upstream's windows (100 codes, overlap 5).
    var stream: StreamingOptions?
    /// Our extension: the text's language for IndexTTS-2.5 (`lang`, as the native routes take it).
    var lang: String?

    enum CodingKeys: String, CodingKey {
        case model, input, voice, speed, instructions, stream, lang
        case responseFormat = "response_format"
        case streamFormat = "stream_format"
    }

    /// A voice object, as newer OpenAI clients may send (`{"id": "…"}`).
    struct VoiceObject: Decodable { let id: String }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        input = try c.decode(String.self, forKey: .input)
        if let s = try? c.decodeIfPresent(String.self, forKey: .voice) {
            voice = s
        } else if c.contains(.voice), try !c.decodeNil(forKey: .voice) {
            voice = try c.decode(VoiceObject.self, forKey: .voice).id
        }
        responseFormat = try c.decodeIfPresent(String.self, forKey: .responseFormat)
        speed = try c.decodeIfPresent(Double.self, forKey: .speed)
        instructions = try c.decodeIfPresent(String.self, forKey: .instructions)
        streamFormat = try c.decodeIfPresent(String.self, forKey: .streamFormat)
        stream = try c.decodeIfPresent(StreamingOptions.self, forKey: .stream)
        lang = try c.decodeIfPresent(String.self, forKey: .lang)
    }
}

extension SpeechServer {
    /// Model names `/v1/audio/speech` accepts for the engine this server runs (OpenAI's names map onto it).
    var modelNames: [String] { [engine.info.id, "indextts", "indextts-\(engine.info.id)", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"] }

    func addSpeechRoutes(_ router: Router<ServerRequestContext>) {
        router.get("/v1/models") { _, _ -> Response in
            // OpenAI's model object, plus which engine speaks behind every name and why.
            struct Model: Encodable {
                let id: String; let object = "model"; let created = 0; let owned_by = "indextts"
                let engine: String; let engine_name: String; let reason: String?
            }
            struct List: Encodable { let object = "list"; let data: [Model] }
            let info = self.engine.info, reason = self.configuration.engineSelection?.reason
            return try Self.json(List(data: self.modelNames.map { Model(id: $0, engine: info.id, engine_name: info.name, reason: reason) }))
        }

        router.post("/v1/audio/speech") { request, context -> Response in
            let body = try await self.collectBody(request)
            let speech = try RequestParsing.openAISpeech(body: body, modelNames: self.modelNames,
                                                         limits: RequestParsing.Limits(self.configuration))
            let parameters = speech.parameters, format = speech.format, streamFormat = speech.streamFormat
            let synthesis = try self.resolver.resolve(parameters)
            try self.engine.validate(synthesis)
            switch streamFormat {
            case "sse": return try await self.streamSSE(synthesis, format: format, parameters: parameters, context: context)
            case "audio": return try await self.streamAudio(synthesis, format: format, parameters: parameters, context: context)
            default:
                let result = try await self.synthesizeWhileConnected(synthesis, context: context, parameters: parameters)
                return try self.audioResponse(result, format: format)
            }
        }
    }

    /// A whole file, with timing headers.
    func audioResponse(_ result: SynthesisResult, format: AudioFormat) throws -> Response {
        let bytes = try AudioEncoder.encode(result.samples, sampleRate: result.sampleRate, format: format)
        var headers = HTTPFields()
        headers[.contentType] = format.mimeType
        Self.timingHeaders(result, into: &headers)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Events of a streamed synthesis: encoded audio as it becomes final, then the result.
    enum StreamEvent: Sendable {
        case audio([UInt8])
        case done(SynthesisResult)
    }

    /// A whole synthesis for a client that waits for it: cancelled as soon as the client closes its connection
    /// (``ClientWatch``; IndexTTS2 stops within one GPT step, the default voice before its next segment).
    func synthesizeWhileConnected(_ request: SynthesisRequest, context: ServerRequestContext,
                                  parameters: SpeechParameters?) async throws -> SynthesisResult {
        let watch = await watchClient(context)
        defer { watch.stop() }
        return try await synthesize(watch.cancelling(request), source: "direct", parameters: parameters)
    }

    /// Watches the request's connection, logging when its client goes away.
    func watchClient(_ context: ServerRequestContext) async -> ClientWatch {
        let logger = context.logger
        return await ClientWatch.start(context) { logger.info("client closed the connection: cancelling its synthesis") }
    }

    /// Starts a synthesis whose audio is encoded segment by segment (window by window with
    /// ``SynthesisRequest/streaming``); stops it when the client goes away (IndexTTS2: within one GPT step): when
    /// it closes its connection (``ClientWatch``) or a write to it fails. A synthesis that fails after the headers
    /// went out is logged here (the route's error handler never sees it) and ends the stream with its error.
    func startStream(_ request: SynthesisRequest, format: AudioFormat, parameters: SpeechParameters?,
                     context: ServerRequestContext) async throws -> AsyncThrowingStream<StreamEvent, any Error> {
        let encoder = try AudioEncoder(format: format, sampleRate: engine.info.sampleRate)
        let box = EncoderBox(encoder)
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream()
        let stopped = AtomicFlag()
        continuation.onTermination = { _ in stopped.set() }
        let watch = await watchClient(context)
        var request = watch.cancelling(request)
        let previous = request.isCancelled
        request.isCancelled = { stopped.isSet || previous?() == true }
        let synthesisRequest = request
        let logger = context.logger
        Task {
            do {
                let result = try await self.synthesize(synthesisRequest, source: "direct", parameters: parameters) { progress in
                    if let bytes = try? box.encoder.append(progress.chunk), !bytes.isEmpty { continuation.yield(.audio(bytes)) }
                }
                let tail = try box.encoder.finish()
                if !tail.isEmpty { continuation.yield(.audio(tail)) }
                watch.stop()
                continuation.yield(.done(result))
                continuation.finish()
            } catch {
                // Stop watching first: ending the stream with an error closes the connection, which is not the
                // client going away.
                watch.stop()
                if !(error is CancellationError), (error as? SynthesisError) != .cancelled {
                    logger.error("streamed request failed after its headers", metadata: ["error": "\(error)"])
                }
                continuation.finish(throwing: error)
            }
        }
        return stream
    }

    /// `stream_format: audio`: the encoded file in chunks as segments (windows) finish (chunked transfer encoding).
    /// `X-IndexTTS-Sample-Rate` names the rate (raw `pcm` carries none).
    func streamAudio(_ request: SynthesisRequest, format: AudioFormat, parameters: SpeechParameters? = nil,
                     context: ServerRequestContext) async throws -> Response {
        let stream = try await startStream(request, format: format, parameters: parameters, context: context)
        var headers = HTTPFields()
        headers[.contentType] = format.mimeType
        headers[HTTPField.Name("X-IndexTTS-Sample-Rate")!] = String(engine.info.sampleRate)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            for try await event in stream {
                if case .audio(let bytes) = event { try await writer.write(ByteBuffer(bytes: bytes)) }
            }
            try await writer.finish(nil)
        })
    }

    /// `stream_format: sse`: `speech.audio.delta` events with base64 audio, then `speech.audio.done` with usage.
    func streamSSE(_ request: SynthesisRequest, format: AudioFormat, parameters: SpeechParameters? = nil,
                   context: ServerRequestContext) async throws -> Response {
        let stream = try await startStream(request, format: format, parameters: parameters, context: context)
        let inputCharacters = request.text.count
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            func send(_ object: [String: Any]) async throws {
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                try await writer.write(ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n"))
            }
            do {
                for try await event in stream {
                    switch event {
                    case .audio(let bytes):
                        try await send(["type": "speech.audio.delta", "audio": Data(bytes).base64EncodedString()])
                    case .done(let result):
                        // The GPT's codes where there are any (IndexTTS2 50 per second, 2.5 25); else 50 per second.
                        let audioTokens = result.semanticCodes ?? Int((result.audioSeconds * 50).rounded())
                        try await send(["type": "speech.audio.done",
                                        "usage": ["input_tokens": inputCharacters, "output_tokens": audioTokens,
                                                  "total_tokens": inputCharacters + audioTokens],
                                        "timings": ["total_seconds": result.totalSeconds, "rtf": result.realTimeFactor,
                                                    "time_to_first_audio": result.timeToFirstAudio,
                                                    "audio_seconds": result.audioSeconds],
                                        "controls": result.appliedControls])
                    }
                }
            } catch {
                // Headers are gone already: report the failure as an error event, as OpenAI's streams do.
                let api = APIError.from(error)
                try await send(["type": "error", "error": ["message": api.message, "type": api.type, "code": (api.code as Any?) ?? NSNull()]])
            }
            try await writer.finish(nil)
        })
    }
}

/// The streaming encoder, used from the synthesis thread only (progress callbacks are sequential).
final class EncoderBox: @unchecked Sendable {
    let encoder: AudioEncoder
    init(_ encoder: AudioEncoder) { self.encoder = encoder }
}

