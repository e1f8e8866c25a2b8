/// Errors from decoding, encoding and analysing audio. File errors name the file and the reason.
public enum AudioError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    /// The bytes are not audio any decoder here understands (or do not match what their extension claims).
    case notAudio(path: String, reason: String)
    case empty(path: String)
    /// The file ends before the length its header announces.
    case truncated(path: String, expectedFrames: Int, decodedFrames: Int)
    /// The audio decodes to more samples than the decoder accepts (``AudioDecoder/maximumSamples``): a long
    /// recording, or a few bytes that claim or expand to gigabytes.
    case tooLong(path: String, limitSamples: Int)
    /// Every sample is (near) zero: useless as a voice reference.
    case silent(path: String)
    /// A format or option this build cannot produce (for example AAC).
    case unsupportedFormat(String)
    case invalidParameter(String)
    /// The underlying codec library failed.
    case codecFailure(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case .notAudio(let path, let reason): return "\(path): not a readable audio file (\(reason))"
        case .empty(let path): return "\(path): contains no audio samples"
        case .truncated(let path, let expected, let decoded):
            return "\(path): truncated (header announces \(expected) frames, only \(decoded) could be decoded)"
        case .tooLong(let path, let limit):
            return "\(path): decodes to more than \(limit) samples (\(limit / 48_000 / 60) minutes at 48 kHz); cut it shorter"
        case .silent(let path): return "\(path): audio is silent"
        case .unsupportedFormat(let what): return "unsupported audio format: \(what)"
        case .invalidParameter(let what): return "invalid audio parameter: \(what)"
        case .codecFailure(let what): return "audio codec failure: \(what)"
        }
    }
}
