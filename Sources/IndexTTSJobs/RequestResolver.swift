import Foundation
import IndexTTS
import IndexTTSAudio

/// Turns stored ``SpeechParameters`` into an engine's ``SynthesisRequest``: looks voices up (built-in names, the
/// OpenAI voice names as aliases of the built-in voice, then the library) and decodes the referenced clips.
public struct RequestResolver: Sendable {
    public let library: VoiceLibrary
    /// The engine's own voices (for example `baker`) and the aliases that map onto its first voice.
    public let builtInVoices: [String]
    public let aliases: [String]

    /// OpenAI's voice names, accepted so that existing clients work unchanged; they all speak with the built-in voice.
    public static let openAIVoices = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage",
                                      "shimmer", "verse"]

    public init(library: VoiceLibrary, engine: EngineInfo) {
        self.library = library
        builtInVoices = engine.voices
        aliases = ["default"] + Self.openAIVoices
    }

    /// Every name `voice` may take, built-ins first.
    public func availableVoices() -> [String] {
        builtInVoices + aliases + ((try? library.list().map(\.name)) ?? [])
    }

    public func isBuiltIn(_ name: String) -> Bool {
        let n = name.lowercased()
        return builtInVoices.contains { $0.lowercased() == n } || aliases.contains(n)
    }

    public func resolve(_ p: SpeechParameters, isCancelled: (@Sendable () -> Bool)? = nil) throws -> SynthesisRequest {
        var request = SynthesisRequest(text: p.text, speed: p.speed ?? 1, seed: p.seed)
        request.isCancelled = isCancelled
        if let voice = p.voice, !voice.isEmpty {
            if isBuiltIn(voice) {
                request.voice = builtInVoices.first { $0.lowercased() == voice.lowercased() } ?? builtInVoices.first
            } else if library.contains(voice) {
                let entry = try library.entry(voice)
                let clip = try AudioDecoder.decode(path: try library.referencePath(voice))
                request.referenceAudio = (clip.samples, clip.sampleRate)
                request.referenceProsody = entry.prosody
            } else {
                throw SynthesisError.unknownVoice(voice, available: availableVoices())
            }
        }
        if let path = p.referenceAudioPath {
            let clip = try decode(path, field: "spk_audio_prompt")
            request.referenceAudio = (clip.samples, clip.sampleRate)
            request.referenceProsody = nil
        }
        let weight = p.emotionWeight ?? 1
        if let preset = p.emotion {
            request.emotion = .preset(preset, strength: weight)
        } else if let vector = p.emotionVector {
            request.emotion = .vector(vector.map { $0 * weight })
        } else if let text = p.emotionText {
            request.emotion = .text(text)
        } else if let path = p.emotionAudioPath {
            let clip = try decode(path, field: "emo_audio_prompt")
            request.emotion = .referenceAudio(samples: clip.samples, sampleRate: clip.sampleRate, weight: weight)
        }
        return request
    }

    func decode(_ path: String, field: String) throws -> DecodedAudio {
        do { return try AudioDecoder.decode(path: path, requireSound: true) } catch {
            throw SynthesisError.invalidParameter(name: field, reason: "\(error)")
        }
    }
}
