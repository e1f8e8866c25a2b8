import CSndFile
import Foundation

/// Decoded audio: mono fp32 samples in [−1, 1] at the file's own rate.
public struct DecodedAudio: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    /// Channels in the file (the samples are their average, as `librosa.load(mono=True)`).
    public var channels: Int
    /// Container and encoding as libsndfile names them, e.g. "WAV (Microsoft) / Signed 16 bit PCM".
    public var format: String

    public var duration: Double { Double(samples.count) / Double(max(sampleRate, 1)) }

    /// Peak absolute sample value.
    public var peak: Float { samples.reduce(0) { max($0, abs($1)) } }
}

/// Decodes WAV (8/16/24/32-bit PCM, 32/64-bit float), FLAC, OGG Vorbis/Opus and MP3 with libsndfile (1.1+), and ADTS
/// AAC with libavcodec, from files or from bytes in memory, downmixing any channel count to mono.
public enum AudioDecoder {
    /// Most samples (frames × channels) one decode produces: 2²⁶ (256 MiB of fp32; 23 minutes of 48 kHz mono).
    /// Compressed formats expand (a FLAC frame of silence is a few bytes for 4608 samples), so the bound is on the
    /// output, checked as it grows, never on what a header claims.
    public static let maximumSamples = 1 << 26

    /// Below this peak a clip counts as silent (−90 dBFS).
    public static let silenceThreshold: Float = 3.2e-5

    /// Decodes the file at `path`.
    /// - Parameter requireSound: throw ``AudioError/silent(path:)`` for an all-silent clip (for voice references).
    public static func decode(path: String, requireSound: Bool = false) throws -> DecodedAudio {
        guard FileManager.default.fileExists(atPath: path) else { throw AudioError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AudioError.notAudio(path: path, reason: "cannot be read")
        }
        return try decode(bytes: [UInt8](data), name: path, requireSound: requireSound)
    }

    /// Decodes an in-memory file (an upload); `name` is used in errors and to check the extension against the content.
    /// - Parameter maximumSamples: throw ``AudioError/tooLong(path:limitSamples:)`` past this many samples.
    public static func decode(bytes: [UInt8], name: String, requireSound: Bool = false,
                              maximumSamples: Int = AudioDecoder.maximumSamples) throws -> DecodedAudio {
        guard !bytes.isEmpty else { throw AudioError.empty(path: name) }
        if AACDecoder.looksLikeADTS(bytes) {
            let audio = try AACDecoder.decode(bytes, name: name, maximumSamples: maximumSamples)
            if requireSound && audio.peak < silenceThreshold { throw AudioError.silent(path: name) }
            return audio
        }
        let file = MemoryFile(bytes)
        var io = MemoryFile.virtualIO
        var info = SF_INFO()
        let handle = withExtendedLifetime(file) {
            sf_open_virtual(&io, Int32(SFM_READ), &info, Unmanaged.passUnretained(file).toOpaque())
        }
        guard let handle else {
            throw AudioError.notAudio(path: name, reason: openFailureReason(name: name, library: sf_strerror(nil)))
        }
        defer { sf_close(handle) }
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else {
            throw AudioError.notAudio(path: name, reason: "no channels or sample rate in the header")
        }
        let format = formatName(info.format)
        // Read in blocks: MP3 and Ogg report estimated lengths, so never trust the header for allocation.
        // A header's frame count is a claim (a 44-byte WAV may announce 4 GB): reserve no more than the bytes hold.
        var interleaved: [Float] = []
        if info.frames > 0 {
            interleaved.reserveCapacity(min(Int(clamping: info.frames), bytes.count, maximumSamples / channels) * channels)
        }
        // Blocks of about 64k samples whatever the channel count (libsndfile allows thousands of channels).
        let blockFrames = max(1, 65_536 / channels)
        var block = [Float](repeating: 0, count: blockFrames * channels)
        while true {
            let read = withExtendedLifetime(file) {
                block.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress, sf_count_t(blockFrames)) }
            }
            if read <= 0 { break }
            guard interleaved.count + Int(read) * channels <= maximumSamples else {
                throw AudioError.tooLong(path: name, limitSamples: maximumSamples)
            }
            interleaved += block.prefix(Int(read) * channels)
        }
        let frames = interleaved.count / channels
        guard frames > 0 else { throw AudioError.empty(path: name) }
        if let announced = headerAnnouncedFrames(handle: handle, format: info.format, channels: channels),
           announced > frames {
            throw AudioError.truncated(path: name, expectedFrames: announced, decodedFrames: frames)
        }
        var mono = [Float](repeating: 0, count: frames)
        if channels == 1 {
            mono = interleaved
        } else {
            let scale = 1 / Float(channels)
            for f in 0..<frames {
                var sum: Float = 0
                for c in 0..<channels { sum += interleaved[f * channels + c] }
                mono[f] = sum * scale
            }
        }
        let audio = DecodedAudio(samples: mono, sampleRate: Int(info.samplerate), channels: channels, format: format)
        if requireSound && audio.peak < silenceThreshold { throw AudioError.silent(path: name) }
        return audio
    }

    static func isPCMWave(_ format: Int32) -> Bool {
        let major = format & Int32(SF_FORMAT_TYPEMASK)
        return major == Int32(SF_FORMAT_WAV) || major == Int32(SF_FORMAT_WAVEX) || major == Int32(SF_FORMAT_AIFF)
    }

    /// For WAV/AIFF files, the frame count the header's data chunk announced when libsndfile found the file shorter
    /// (its log then reads "data : <announced> (should be <present>)"). Streaming headers with an unknown length
    /// (0 or 0xFFFFFFFF bytes) announce nothing.
    static func headerAnnouncedFrames(handle: OpaquePointer, format: Int32, channels: Int) -> Int? {
        guard isPCMWave(format), let sampleBytes = bytesPerSample(format: format) else { return nil }
        var log = [CChar](repeating: 0, count: 8192)
        sf_command(handle, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("data") && line.contains("should be") {
            guard let announced = line.split(whereSeparator: { !$0.isNumber }).compactMap({ Int($0) }).first,
                  announced > 0, announced < 0xFFFF_FFF0 else { return nil }
            return announced / (sampleBytes * channels)
        }
        return nil
    }

    /// Bytes per sample of uncompressed subformats.
    static func bytesPerSample(format: Int32) -> Int? {
        switch format & Int32(SF_FORMAT_SUBMASK) {
        case Int32(SF_FORMAT_PCM_S8), Int32(SF_FORMAT_PCM_U8): return 1
        case Int32(SF_FORMAT_PCM_16): return 2
        case Int32(SF_FORMAT_PCM_24): return 3
        case Int32(SF_FORMAT_PCM_32), Int32(SF_FORMAT_FLOAT): return 4
        case Int32(SF_FORMAT_DOUBLE): return 8
        default: return nil
        }
    }

    /// Extensions this decoder reads.
    public static let supportedExtensions: Set<String> = ["wav", "wave", "flac", "mp3", "ogg", "oga", "opus", "aif", "aiff"]

    /// Explains why libsndfile could not open `name`: a known-unsupported format, content that contradicts an
    /// audio extension, or content that is not audio at all.
    static func openFailureReason(name: String, library: UnsafePointer<CChar>?) -> String {
        let detail = library.map { String(cString: $0) } ?? "unrecognised data"
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        if ["m4a", "aac", "mp4", "wma", "amr", "webm"].contains(ext) {
            return ".\(ext) files are not supported; use WAV, FLAC, MP3, OGG Vorbis or Opus"
        }
        if supportedExtensions.contains(ext) {
            return "the content is not \(ext.uppercased()) audio despite the .\(ext) extension (\(detail))"
        }
        return detail
    }

    /// Human-readable container / encoding.
    public static func formatName(_ format: Int32) -> String {
        var major = SF_FORMAT_INFO()
        major.format = format & Int32(SF_FORMAT_TYPEMASK)
        sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &major, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
        var sub = SF_FORMAT_INFO()
        sub.format = format & Int32(SF_FORMAT_SUBMASK)
        sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &sub, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
        let majorName = major.name.map { String(cString: $0) } ?? "unknown"
        let subName = sub.name.map { String(cString: $0) } ?? "unknown"
        // (libsndfile returns static C strings here.)
        return "\(majorName) / \(subName)"
    }
}
