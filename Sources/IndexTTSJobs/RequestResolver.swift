import Foundation
import IndexTTS
import IndexTTSAudio

/// Turns stored ``SpeechParameters`` into an engine's ``SynthesisRequest`` — the one request path of the CLI, the
/// HTTP routes and the queue: looks voices up (the engine's built-in names, then the library, then OpenAI's voice
/// names as aliases of the built-in voice when the engine has one), decodes the referenced clips, attaches the
/// library voice's stored conditioning for this engine, and carries the sampling fields and `use_random`.
public struct RequestResolver: Sendable {
    public let library: VoiceLibrary
    /// The engine's own voices (for example `baker`) and the aliases that map onto its first voice (none when the
    /// engine has no built-in voice, as IndexTTS2: then every name is a library voice).
    public let builtInVoices: [String]
    public let aliases: [String]
    /// The engine (``EngineInfo/id``) and weights (``SpeechEngine/modelFingerprint``) whose stored conditionings are
    /// attached to requests; nil: none are.
    public let engineID: String?
    public let modelFingerprint: String?

    /// OpenAI's voice names, accepted so that existing clients work unchanged; they all speak with the built-in voice.
    public static let openAIVoices = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage",
                                      "shimmer", "verse"]

    public init(library: VoiceLibrary, engine: EngineInfo, modelFingerprint: String? = nil) {
        self.library = library
        builtInVoices = engine.voices
        aliases = engine.voices.isEmpty ? [] : ["default"] + Self.openAIVoices
        engineID = modelFingerprint == nil ? nil : engine.id
        self.modelFingerprint = modelFingerprint
    }

    /// For `engine`, reading and storing its conditionings of library voices.
    public init(library: VoiceLibrary, engine: any SpeechEngine) {
        self.init(library: library, engine: engine.info, modelFingerprint: engine.modelFingerprint)
    }

    /// Names a library voice may not take with this engine: its built-in voices and their aliases.
    public static func reservedNames(for engine: EngineInfo) -> Set<String> {
        Set(engine.voices.isEmpty ? ["default"] : engine.voices + ["default"] + openAIVoices)
    }

    /// Every name `voice` may take, built-ins first.
    public func availableVoices() -> [String] {
        builtInVoices + aliases + libraryVoices()
    }

    func libraryVoices() -> [String] { (try? library.list().map(\.name)) ?? [] }

    public func isBuiltIn(_ name: String) -> Bool {
        let n = name.lowercased()
        return builtInVoices.contains { $0.lowercased() == n } || aliases.contains(n)
    }

    public func resolve(_ p: SpeechParameters, isCancelled: (@Sendable () -> Bool)? = nil) throws -> SynthesisRequest {
        var request = SynthesisRequest(text: p.text, speed: p.speed ?? 1, seed: p.seed)
        request.isCancelled = isCancelled
        request.sampling = p.sampling ?? SamplingParameters()
        request.emotionUseRandom = p.useRandom ?? false
        request.readings = p.readings
        request.language = p.language
        request.streaming = p.stream
        if let voice = p.voice, !voice.isEmpty {
            if let builtIn = builtInVoices.first(where: { $0.lowercased() == voice.lowercased() }) {
                request.voice = builtIn
            } else if library.contains(voice) {
                let entry = try library.entry(voice)
                let clip = try AudioDecoder.decode(path: try library.referencePath(voice))
                request.referenceAudio = (clip.samples, clip.sampleRate)
                if let engineID, let modelFingerprint {
                    request.voiceConditioning = library.conditioning(voice, engine: engineID, model: modelFingerprint)
                }
                // Entries written before conditionings existed carry the default voice's prosody in voice.json.
                if request.voiceConditioning == nil { request.referenceProsody = entry.prosody }
            } else if aliases.contains(voice.lowercased()) {
                request.voice = builtInVoices.first
            } else if builtInVoices.isEmpty {
                let names = libraryVoices()
                guard !names.isEmpty else {
                    throw SynthesisError.invalidParameter(
                        name: "voice", reason: "'\(voice)' is not a library voice, and this engine has no built-in voices; the library is empty: add a voice (POST /v1/voices or `indextts voices add NAME CLIP`) or send a reference clip")
                }
                throw SynthesisError.unknownVoice(voice, available: names)
            } else {
                throw SynthesisError.unknownVoice(voice, available: availableVoices())
            }
        }
        if let path = p.referenceAudioPath {
            let clip = try decode(path, field: "spk_audio_prompt")
            request.referenceAudio = (clip.samples, clip.sampleRate)
            request.referenceProsody = nil
            request.voiceConditioning = nil
        }
        let weight = p.emotionWeight ?? 1
        if let preset = p.emotion {
            request.emotion = .preset(preset, strength: weight)
        } else if let vector = p.emotionVector {
            request.emotion = .vector(vector.map { $0 * weight })
        } else if let text = p.emotionText {
            request.emotion = .text(text)
            request.emotionTextWeight = weight
        } else if let path = p.emotionAudioPath {
            let clip = try decode(path, field: "emo_audio_prompt")
            request.emotion = .referenceAudio(samples: clip.samples, sampleRate: clip.sampleRate, weight: weight)
        }
        return request
    }

    /// ``resolve(_:isCancelled:)``, then for a library voice without a stored conditioning for `engine` (absent,
    /// stale or unreadable): analyse the clip now, attach the analysis and store it in the library, best effort —
    /// an engine that cannot analyse (``SynthesisError/unsupported(_:)``) or a failed write leave the clip to the
    /// engine and never fail the request. Blocking work: call it on the synthesis pool.
    public func prepare(_ p: SpeechParameters, engine: any SpeechEngine,
                        isCancelled: (@Sendable () -> Bool)? = nil) throws -> SynthesisRequest {
        var request = try resolve(p, isCancelled: isCancelled)
        attachConditioning(to: &request, parameters: p, engine: engine)
        return request
    }

    /// The conditioning half of ``prepare(_:engine:isCancelled:)`` for a request resolved earlier. Returns true when
    /// it analysed the clip (and tried to store the result).
    @discardableResult
    public func attachConditioning(to request: inout SynthesisRequest, parameters p: SpeechParameters,
                                   engine: any SpeechEngine) -> Bool {
        guard p.referenceAudioPath == nil, let voice = p.voice, !voice.isEmpty, request.voice == nil,
              let clip = request.referenceAudio, library.contains(voice) else { return false }
        if let stored = request.voiceConditioning, stored.matches(engine: engine.info.id, model: engine.modelFingerprint) {
            return false
        }
        if let stored = library.conditioning(voice, engine: engine.info.id, model: engine.modelFingerprint) {
            request.voiceConditioning = stored
            return false
        }
        guard let fresh = try? engine.analyzeVoice(samples: clip.samples, sampleRate: clip.sampleRate) else { return false }
        request.voiceConditioning = fresh
        try? library.storeConditioning(fresh, for: voice)
        return true
    }

    func decode(_ path: String, field: String) throws -> DecodedAudio {
        do { return try AudioDecoder.decode(path: path, requireSound: true) } catch {
            throw SynthesisError.invalidParameter(name: field, reason: "\(error)")
        }
    }
}
