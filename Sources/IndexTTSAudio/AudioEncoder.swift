import CSndFile

/// Encodes mono fp32 audio, whole or chunk by chunk, into one of the ``AudioFormat``s.
///
/// Streaming: ``append(_:)`` returns the bytes that are final so far, so a server can send them at once — raw PCM,
/// WAV (whose header then announces an unknown length, as streaming WAV does), MP3 (without LAME's Info/Xing tag
/// frame, which is only complete at the end, so decoders keep the encoder delay), Opus and AAC (ADTS frames, through
/// libavcodec) stream; FLAC's header is
/// rewritten at the end, so its bytes all come from ``finish()``. ``encode(_:sampleRate:format:)`` produces a
/// complete file with exact WAV sizes.
///
/// Per-request state; not `Sendable`.
public final class AudioEncoder {
    public let format: AudioFormat
    /// Rate of the samples given to the encoder.
    public let sampleRate: Int
    /// Rate written to the file (differs for Opus when the input rate is not an Opus rate).
    public let outputSampleRate: Int

    private var handle: OpaquePointer?
    private let memory = MemoryFile()
    private var io = MemoryFile.virtualIO
    private var drained = 0
    private var resampler: StreamingSoxr?
    private var aac: AACEncoder?
    private var wroteWAVHeader = false
    private var finished = false
    /// Whole-file mode (``encode(_:sampleRate:format:)``): nothing is drained before the codec closes.
    private var holdUntilFinish = false

    /// Opus works at these rates only.
    static let opusRates = [8_000, 12_000, 16_000, 24_000, 48_000]

    public init(format: AudioFormat, sampleRate: Int) throws {
        guard sampleRate >= 1_000, sampleRate <= 384_000 else {
            throw AudioError.invalidParameter("sample rate \(sampleRate) Hz")
        }
        self.format = format
        self.sampleRate = sampleRate
        switch format {
        case .aac:
            outputSampleRate = AACEncoder.frequencies.reversed().first { $0 >= sampleRate } ?? 96_000
            if outputSampleRate != sampleRate { resampler = try StreamingSoxr(from: sampleRate, to: outputSampleRate) }
            aac = try AACEncoder(sampleRate: outputSampleRate)
        case .opus:
            outputSampleRate = Self.opusRates.first { $0 >= sampleRate } ?? 48_000
            if outputSampleRate != sampleRate { resampler = try StreamingSoxr(from: sampleRate, to: outputSampleRate) }
        default:
            outputSampleRate = sampleRate
        }
        let majorAndSub: Int32?
        switch format {
        case .flac: majorAndSub = Int32(SF_FORMAT_FLAC) | Int32(SF_FORMAT_PCM_16)
        case .mp3: majorAndSub = Int32(SF_FORMAT_MPEG) | Int32(SF_FORMAT_MPEG_LAYER_III)
        case .opus: majorAndSub = Int32(SF_FORMAT_OGG) | Int32(SF_FORMAT_OPUS)
        default: majorAndSub = nil
        }
        if let majorAndSub {
            var info = SF_INFO()
            info.samplerate = Int32(outputSampleRate)
            info.channels = 1
            info.format = majorAndSub
            handle = withExtendedLifetime(memory) {
                sf_open_virtual(&io, Int32(SFM_WRITE), &info, Unmanaged.passUnretained(memory).toOpaque())
            }
            guard let handle else {
                throw AudioError.codecFailure("libsndfile cannot write \(format.rawValue) at \(outputSampleRate) Hz: \(String(cString: sf_strerror(nil)))")
            }
            // Clip instead of wrapping when floats exceed [-1, 1].
            sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
            if format == .mp3 {
                // Constant bitrate: a streamed MP3 has no Info/Xing tag, and without one decoders (libsndfile's
                // among them) estimate the length from the first frame's bitrate, which is only right for CBR.
                var mode = Int32(SF_BITRATE_MODE_CONSTANT)
                sf_command(handle, Int32(SFC_SET_BITRATE_MODE), &mode, Int32(MemoryLayout<Int32>.size))
                var level = 0.5
                sf_command(handle, Int32(SFC_SET_COMPRESSION_LEVEL), &level, Int32(MemoryLayout<Double>.size))
            }
        }
    }

    deinit {
        if let handle { withExtendedLifetime(memory) { _ = sf_close(handle) } }
    }

    /// Encodes the next chunk and returns the bytes that are ready.
    public func append(_ samples: [Float]) throws -> [UInt8] {
        guard !finished else { throw AudioError.invalidParameter("append after finish") }
        switch format {
        case .pcm:
            return PCM16.bytes(samples)
        case .wav:
            var out: [UInt8] = []
            if !wroteWAVHeader {
                out = Self.wavHeader(sampleRate: sampleRate, dataBytes: nil)
                wroteWAVHeader = true
            }
            return out + PCM16.bytes(samples)
        case .aac:
            return try aac!.append(resampler.map { try $0.process(samples) } ?? samples)
        default:
            try write(resampler.map { try $0.process(samples) } ?? samples)
            return format == .flac || holdUntilFinish ? [] : drain()
        }
    }

    /// Ends the stream and returns the remaining bytes.
    public func finish() throws -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        switch format {
        case .pcm:
            return []
        case .wav:
            return wroteWAVHeader ? [] : Self.wavHeader(sampleRate: sampleRate, dataBytes: nil)
        case .aac:
            return try aac!.append(try resampler?.flush() ?? []) + aac!.finish()
        default:
            if let resampler { try write(try resampler.flush()) }
            if let handle {
                let status = withExtendedLifetime(memory) { sf_close(handle) }
                self.handle = nil
                guard status == 0 else { throw AudioError.codecFailure("closing the \(format.rawValue) stream failed") }
            }
            // LAME overwrites its placeholder Info frame with the final tag at close; a stream never sent that frame
            // (see `drain`). Any other codec rewriting sent bytes would corrupt the stream.
            if memory.lowestRewrite < drained && format != .mp3 {
                throw AudioError.codecFailure("\(format.rawValue) encoder rewrote bytes already sent")
            }
            return drain()
        }
    }

    /// A complete file of `samples`.
    public static func encode(_ samples: [Float], sampleRate: Int, format: AudioFormat) throws -> [UInt8] {
        if format == .wav {
            guard sampleRate > 0 else { throw AudioError.invalidParameter("sample rate \(sampleRate) Hz") }
            return wavHeader(sampleRate: sampleRate, dataBytes: samples.count * 2) + PCM16.bytes(samples)
        }
        let encoder = try AudioEncoder(format: format, sampleRate: sampleRate)
        encoder.holdUntilFinish = true
        return try encoder.append(samples) + encoder.finish()
    }

    private func write(_ samples: [Float]) throws {
        guard let handle, !samples.isEmpty else { return }
        let written = withExtendedLifetime(memory) {
            samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t($0.count)) }
        }
        guard written == samples.count else {
            throw AudioError.codecFailure("\(format.rawValue) encoder accepted \(written) of \(samples.count) frames: \(String(cString: sf_strerror(handle)))")
        }
    }

    private func drain() -> [UInt8] {
        var start = drained
        if format == .mp3 && drained == 0 && !holdUntilFinish {
            // A stream cannot carry LAME's Info/Xing tag (it is completed only at the end, and its placeholder makes
            // decoders stop early), so the stream starts after it. Wait until the whole first frame is there.
            guard let tagLength = MP3Frame.infoTagLength(memory.bytes) else { return [] }
            start = tagLength
        }
        let end = memory.bytes.count
        guard end > start else { return [] }
        drained = end
        return Array(memory.bytes[start..<end])
    }

    /// 44-byte RIFF header for mono 16-bit PCM; `dataBytes == nil` writes the unknown-length sizes of a stream.
    static func wavHeader(sampleRate: Int, dataBytes: Int?) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        let data = dataBytes.map { UInt32(clamping: $0) } ?? 0xFFFF_FFFF
        let riff = dataBytes.map { UInt32(clamping: $0 + 36) } ?? 0xFFFF_FFFF
        return Array("RIFF".utf8) + le32(riff) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1)
            + le32(UInt32(sampleRate)) + le32(UInt32(sampleRate * 2)) + le16(2) + le16(16)
            + Array("data".utf8) + le32(data)
    }
}
