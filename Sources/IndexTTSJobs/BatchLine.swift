import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSText

/// One line of a batch file, with IndexTTS2's `infer()` field names (and ours for what it lacks).
public struct BatchLine: Decodable, Sendable {
    public var text: String
    public var spkAudioPrompt: String?
    public var outputPath: String?
    public var emoAudioPrompt: String?
    public var emoAlpha: Double?
    public var emoVector: [Double]?
    public var useEmoText: Bool?
    public var emoText: String?
    public var voice: String?
    public var emotion: String?
    public var speed: Double?
    public var seed: UInt64?
    public var format: String?
    public var useRandom: Bool?
    public var readings: ReadingMode?
    /// IndexTTS-2.5's `lang`.
    public var lang: String?
    /// `do_sample`, `top_p`, `top_k`, `temperature`, `num_beams`, `repetition_penalty`, `length_penalty`,
    /// `max_mel_tokens`, `diffusion_steps`, `inference_cfg_rate`, `max_text_tokens_per_segment`, `interval_silence`.
    public var sampling = SamplingParameters()

    enum CodingKeys: String, CodingKey {
        case text
        case spkAudioPrompt = "spk_audio_prompt"
        case outputPath = "output_path"
        case emoAudioPrompt = "emo_audio_prompt"
        case emoAlpha = "emo_alpha"
        case emoVector = "emo_vector"
        case useEmoText = "use_emo_text"
        case emoText = "emo_text"
        case voice, emotion, speed, seed, format
        case useRandom = "use_random"
        case readings, lang
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decode(String.self, forKey: .text)
        spkAudioPrompt = try c.decodeIfPresent(String.self, forKey: .spkAudioPrompt)
        outputPath = try c.decodeIfPresent(String.self, forKey: .outputPath)
        emoAudioPrompt = try c.decodeIfPresent(String.self, forKey: .emoAudioPrompt)
        emoAlpha = try c.decodeIfPresent(Double.self, forKey: .emoAlpha)
        emoVector = try c.decodeIfPresent([Double].self, forKey: .emoVector)
        useEmoText = try c.decodeIfPresent(Bool.self, forKey: .useEmoText)
        emoText = try c.decodeIfPresent(String.self, forKey: .emoText)
        voice = try c.decodeIfPresent(String.self, forKey: .voice)
        emotion = try c.decodeIfPresent(String.self, forKey: .emotion)
        speed = try c.decodeIfPresent(Double.self, forKey: .speed)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        format = try c.decodeIfPresent(String.self, forKey: .format)
        useRandom = try c.decodeIfPresent(Bool.self, forKey: .useRandom)
        readings = try c.decodeIfPresent(ReadingMode.self, forKey: .readings)
        lang = try c.decodeIfPresent(String.self, forKey: .lang)
        sampling = try SamplingParameters(from: decoder)
    }
}

/// Why a batch line was rejected (the CLI adds the line number).
public struct BatchLineError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension BatchLine {
    /// Reads one line of a batch file into checked parameters and the output path, if it names one.
    /// `base`: the JSONL file's folder (relative paths are read from it). Only ever throws ``BatchLineError``.
    public static func read(_ text: String, base: URL, defaultFormat: AudioFormat?,
                            maxCharacters: Int = 20_000) throws -> (parameters: SpeechParameters, output: String?) {
        let line: BatchLine
        do { line = try JSONDecoder().decode(BatchLine.self, from: Data(text.utf8)) } catch let e as DecodingError {
            throw BatchLineError("invalid JSON: \(describe(e))")
        } catch {
            throw BatchLineError("invalid JSON: \(error)")
        }
        func path(_ p: String?) -> String? {
            guard let p, !p.isEmpty else { return nil }
            return p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardizedFileURL.path
        }
        let output = path(line.outputPath)
        var lineFormat = defaultFormat
        if let f = line.format ?? output.map({ ($0 as NSString).pathExtension }) {
            guard let parsed = AudioFormat(fileExtension: f) else {
                throw BatchLineError("format '\(f)' is not one of wav, mp3, opus, aac, flac, pcm")
            }
            lineFormat = parsed
        }
        var p = SpeechParameters(
            text: line.text, voice: line.voice, referenceAudioPath: path(line.spkAudioPrompt), emotion: line.emotion,
            emotionVector: line.emoVector, emotionText: line.useEmoText == true ? (line.emoText ?? line.text) : nil,
            emotionAudioPath: path(line.emoAudioPrompt), emotionWeight: line.emoAlpha, speed: line.speed,
            seed: line.seed, format: lineFormat, sampling: line.sampling.isEmpty ? nil : line.sampling,
            useRandom: line.useRandom)
        p.readings = line.readings
        p.language = line.lang
        do { try p.validate(maxCharacters: maxCharacters) } catch { throw BatchLineError("\(error)") }
        return (p, output)
    }

    public static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "'\(key.stringValue)' is required"
        case .typeMismatch(let type, let c): return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' should be \(type)"
        case .valueNotFound(let type, let c): return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' is null (expected \(type))"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
