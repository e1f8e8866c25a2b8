import Foundation

/// A Piper voice's `.onnx.json`: the audio format, the espeak-ng voice whose phonemes the model reads, the phoneme-id
/// map and the inference scales it was tuned with. Only the fields inference needs are decoded; the rest of the file
/// (training metadata) is ignored.
public struct PiperVoiceConfig: Codable, Sendable, Equatable {
    public struct Audio: Codable, Sendable, Equatable {
        public var sampleRate: Int
        public var quality: String?
        enum CodingKeys: String, CodingKey {
            case sampleRate = "sample_rate", quality
        }
    }

    public struct Espeak: Codable, Sendable, Equatable {
        public var voice: String
    }

    /// Piper's inference scales: `noise_scale` multiplies the prior sample's noise, `length_scale` the durations
    /// (> 1 is slower), `noise_w` the duration predictor's noise.
    public struct Inference: Codable, Sendable, Equatable {
        public var noiseScale: Float
        public var lengthScale: Float
        public var noiseW: Float
        enum CodingKeys: String, CodingKey {
            case noiseScale = "noise_scale", lengthScale = "length_scale", noiseW = "noise_w"
        }
        public init(noiseScale: Float, lengthScale: Float, noiseW: Float) {
            self.noiseScale = noiseScale
            self.lengthScale = lengthScale
            self.noiseW = noiseW
        }
    }

    public struct Language: Codable, Sendable, Equatable {
        public var code: String
        public var nameEnglish: String?
        enum CodingKeys: String, CodingKey {
            case code, nameEnglish = "name_english"
        }
    }

    public var audio: Audio
    public var espeak: Espeak
    public var inference: Inference
    public var phonemeType: String
    /// Phoneme (one Unicode scalar, or a cluster) → ids.
    public var phonemeIdMap: [String: [Int]]
    public var numSymbols: Int
    public var numSpeakers: Int
    public var language: Language?
    public var dataset: String?
    public var piperVersion: String?

    enum CodingKeys: String, CodingKey {
        case audio, espeak, inference, language, dataset
        case phonemeType = "phoneme_type", phonemeIdMap = "phoneme_id_map", numSymbols = "num_symbols"
        case numSpeakers = "num_speakers", piperVersion = "piper_version"
    }

    /// Reads and checks a `.onnx.json` file.
    /// - Throws: ``ModelError/invalidConfiguration(file:field:reason:)`` naming the field that is missing or invalid.
    public static func load(path: String) throws -> PiperVoiceConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.invalidConfiguration(file: path, field: "-", reason: "cannot be read")
        }
        let config: PiperVoiceConfig
        do {
            config = try JSONDecoder().decode(PiperVoiceConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            let field = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw ModelError.invalidConfiguration(file: path, field: field, reason: "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ModelError.invalidConfiguration(
                file: path, field: context.codingPath.map(\.stringValue).joined(separator: "."), reason: context.debugDescription)
        } catch {
            throw ModelError.invalidConfiguration(file: path, field: "-", reason: "not a Piper voice config (\(error))")
        }
        try config.validate(path: path)
        return config
    }

    func validate(path: String) throws {
        guard phonemeType == "espeak" else {
            throw ModelError.invalidConfiguration(file: path, field: "phoneme_type", reason: "'\(phonemeType)' (only espeak voices are supported)")
        }
        guard audio.sampleRate > 0 else {
            throw ModelError.invalidConfiguration(file: path, field: "audio.sample_rate", reason: "\(audio.sampleRate)")
        }
        for key in [PiperPhonemes.bos, PiperPhonemes.eos, PiperPhonemes.pad] where phonemeIdMap[key]?.isEmpty ?? true {
            throw ModelError.invalidConfiguration(file: path, field: "phoneme_id_map", reason: "no id for '\(key)'")
        }
        if let bad = phonemeIdMap.first(where: { $0.value.contains { $0 < 0 || $0 >= numSymbols } }) {
            throw ModelError.invalidConfiguration(
                file: path, field: "phoneme_id_map", reason: "'\(bad.key)' → \(bad.value) outside 0..<\(numSymbols)")
        }
        let scales = [inference.noiseScale, inference.lengthScale, inference.noiseW]
        guard scales.allSatisfy({ $0.isFinite && $0 >= 0 }), inference.lengthScale > 0 else {
            throw ModelError.invalidConfiguration(file: path, field: "inference", reason: "scales \(scales)")
        }
    }
}

/// Piper's phoneme-id mapping (piper `phonemes_to_ids`): BOS, then each phoneme's ids followed by the pad id, then
/// EOS — one id sequence per sentence.
public enum PiperPhonemes {
    public static let bos = "^"
    public static let eos = "$"
    public static let pad = "_"

    /// Ids of one sentence's phonemes (Unicode scalars after NFD, as Piper splits espeak-ng's IPA). Phonemes missing
    /// from the map are skipped, as Piper does (it logs a warning); they are returned in `skipped`.
    public static func ids(_ phonemes: [String], map: [String: [Int]]) -> (ids: [Int], skipped: [String]) {
        let pad = map[Self.pad] ?? []
        var ids = (map[bos] ?? []) + pad
        var skipped: [String] = []
        for phoneme in phonemes {
            guard let value = map[phoneme] else {
                skipped.append(phoneme)
                continue
            }
            ids += value + pad
        }
        ids += map[eos] ?? []
        return (ids, skipped)
    }
}
