/// Output formats of the OpenAI speech API (`response_format`).
public enum AudioFormat: String, CaseIterable, Codable, Sendable {
    /// RIFF WAVE, 16-bit PCM.
    case wav
    /// MPEG-1/2 Layer III (LAME through libsndfile).
    case mp3
    /// Opus in Ogg (48 kHz family rates; other rates are resampled with soxr).
    case opus
    /// FLAC, 16-bit.
    case flac
    /// AAC-LC in ADTS frames (libavcodec's native encoder), 64 kbit/s mono.
    case aac
    /// Raw little-endian signed 16-bit samples, no header.
    case pcm

    public var mimeType: String {
        switch self {
        case .wav: return "audio/wav"
        case .mp3: return "audio/mpeg"
        case .opus: return "audio/ogg; codecs=opus"
        case .flac: return "audio/flac"
        case .aac: return "audio/aac"
        case .pcm: return "audio/pcm"
        }
    }

    public var fileExtension: String { self == .pcm ? "pcm" : rawValue }

    /// The format a file name's extension names, if any.
    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "wav", "wave": self = .wav
        case "mp3": self = .mp3
        case "opus", "ogg", "oga": self = .opus
        case "flac": self = .flac
        case "aac", "m4a": self = .aac
        case "pcm", "raw": self = .pcm
        default: return nil
        }
    }
}

/// Conversion to 16-bit PCM as IndexTTS2 writes it: clamp(32767·x, −32767, 32767), truncated toward zero; NaN
/// becomes 0. Never wraps around.
public enum PCM16 {
    @inline(__always)
    public static func quantize(_ x: Float) -> Int16 {
        let scaled = 32_767 * x
        guard scaled == scaled else { return 0 }
        return Int16(max(-32_767, min(32_767, scaled)).rounded(.towardZero))
    }

    /// Little-endian bytes of the quantised samples.
    public static func bytes(_ samples: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: samples.count * 2)
        for (i, x) in samples.enumerated() {
            let v = UInt16(bitPattern: quantize(x))
            out[2 * i] = UInt8(v & 0xFF)
            out[2 * i + 1] = UInt8(v >> 8)
        }
        return out
    }
}
