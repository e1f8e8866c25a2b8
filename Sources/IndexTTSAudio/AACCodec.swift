import CAVCodec

/// AAC-LC in ADTS framing (the `audio/aac` stream OpenAI's `response_format: aac` returns), encoded and decoded with
/// FFmpeg's native AAC codec (libavcodec). Mono only. The encoder is streaming: ``append(_:)`` returns whole ADTS
/// frames as soon as the codec emits them. Per-request state; not `Sendable`.
final class AACEncoder {
    let sampleRate: Int
    private let context: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    private var pending: [Float] = []
    private var pts: Int64 = 0
    private let frequencyIndex: UInt8

    /// MPEG-4 sampling-frequency indices (ISO/IEC 14496-3 Table 1.18).
    static let frequencies = [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350]

    init(sampleRate: Int, bitRate: Int = 64_000) throws {
        guard let index = Self.frequencies.firstIndex(of: sampleRate) else {
            throw AudioError.unsupportedFormat("aac at \(sampleRate) Hz (AAC rates: \(Self.frequencies.map(String.init).joined(separator: ", ")))")
        }
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw AudioError.unsupportedFormat("aac (this libavcodec has no AAC encoder)")
        }
        guard let context = avcodec_alloc_context3(codec), let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            throw AudioError.codecFailure("aac: out of memory")
        }
        self.sampleRate = sampleRate
        self.context = context
        self.frame = frame
        self.packet = packet
        frequencyIndex = UInt8(index)
        context.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        context.pointee.sample_rate = Int32(sampleRate)
        context.pointee.bit_rate = Int64(bitRate)
        context.pointee.profile = FF_PROFILE_AAC_LOW
        av_channel_layout_default(&context.pointee.ch_layout, 1)
        guard avcodec_open2(context, codec, nil) >= 0 else { throw AudioError.codecFailure("aac: cannot open the encoder") }
        frame.pointee.nb_samples = context.pointee.frame_size
        frame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        frame.pointee.sample_rate = Int32(sampleRate)
        guard av_channel_layout_copy(&frame.pointee.ch_layout, &context.pointee.ch_layout) >= 0,
              av_frame_get_buffer(frame, 0) >= 0 else { throw AudioError.codecFailure("aac: cannot allocate a frame") }
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&c)
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    var frameSize: Int { Int(context.pointee.frame_size) }

    func append(_ samples: [Float]) throws -> [UInt8] {
        pending += samples
        var out: [UInt8] = []
        var start = 0
        while pending.count - start >= frameSize {
            out += try encode(pending[start..<(start + frameSize)])
            start += frameSize
        }
        pending.removeFirst(start)
        return out
    }

    func finish() throws -> [UInt8] {
        var out: [UInt8] = []
        if !pending.isEmpty {
            out += try encode(pending[...])  // the encoder accepts a short last frame
            pending = []
        }
        guard avcodec_send_frame(context, nil) >= 0 else { throw AudioError.codecFailure("aac: flushing failed") }
        out += try receive()
        return out
    }

    private func encode(_ samples: ArraySlice<Float>) throws -> [UInt8] {
        guard av_frame_make_writable(frame) >= 0 else { throw AudioError.codecFailure("aac: frame not writable") }
        frame.pointee.nb_samples = Int32(samples.count)
        let plane = UnsafeMutableRawPointer(frame.pointee.data.0!).assumingMemoryBound(to: Float.self)
        for (i, x) in samples.enumerated() { plane[i] = x.isFinite ? max(-1, min(1, x)) : 0 }
        frame.pointee.pts = pts
        pts += Int64(samples.count)
        guard avcodec_send_frame(context, frame) >= 0 else { throw AudioError.codecFailure("aac: the encoder refused a frame") }
        return try receive()
    }

    private func receive() throws -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let status = avcodec_receive_packet(context, packet)
            if status == indextts_averror_eagain() || status == indextts_averror_eof() { break }
            guard status >= 0 else { throw AudioError.codecFailure("aac: encoding failed (\(status))") }
            let size = Int(packet.pointee.size)
            out += adtsHeader(payloadBytes: size)
            out += UnsafeBufferPointer(start: packet.pointee.data, count: size)
            av_packet_unref(packet)
        }
        return out
    }

    /// The 7-byte ADTS header (no CRC) of one AAC-LC mono frame.
    private func adtsHeader(payloadBytes: Int) -> [UInt8] {
        let length = payloadBytes + 7
        let profile: UInt8 = 1  // AAC LC: object type 2, written minus one
        let channels: UInt8 = 1
        return [0xFF, 0xF1,
                (profile << 6) | (frequencyIndex << 2) | (channels >> 2),
                ((channels & 3) << 6) | UInt8((length >> 11) & 0x3),
                UInt8((length >> 3) & 0xFF),
                UInt8((length & 0x7) << 5) | 0x1F,
                0xFC]
    }
}

/// Decodes an ADTS AAC stream to mono fp32 (channels averaged).
enum AACDecoder {
    /// True when the bytes start with an ADTS frame header (sync word, MPEG layer 0).
    static func looksLikeADTS(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 7 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0
    }

    static func decode(_ bytes: [UInt8], name: String, maximumSamples: Int = AudioDecoder.maximumSamples) throws -> DecodedAudio {
        guard let codec = avcodec_find_decoder(AV_CODEC_ID_AAC), let parser = av_parser_init(Int32(AV_CODEC_ID_AAC.rawValue)) else {
            throw AudioError.unsupportedFormat("aac (this libavcodec has no AAC decoder)")
        }
        defer { av_parser_close(parser) }
        guard let context = avcodec_alloc_context3(codec), let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            throw AudioError.codecFailure("aac: out of memory")
        }
        var framePointer: UnsafeMutablePointer<AVFrame>? = frame
        var packetPointer: UnsafeMutablePointer<AVPacket>? = packet
        var contextPointer: UnsafeMutablePointer<AVCodecContext>? = context
        defer {
            av_frame_free(&framePointer)
            av_packet_free(&packetPointer)
            avcodec_free_context(&contextPointer)
        }
        guard avcodec_open2(context, codec, nil) >= 0 else { throw AudioError.codecFailure("aac: cannot open the decoder") }
        var mono: [Float] = []
        var sampleRate = 0, channels = 0

        func drain() throws {
            while true {
                let status = avcodec_receive_frame(context, frame)
                if status == indextts_averror_eagain() || status == indextts_averror_eof() { return }
                guard status >= 0 else { throw AudioError.notAudio(path: name, reason: "AAC decoding failed (\(status))") }
                sampleRate = Int(frame.pointee.sample_rate)
                channels = Int(frame.pointee.ch_layout.nb_channels)
                let n = Int(frame.pointee.nb_samples)
                guard frame.pointee.format == AV_SAMPLE_FMT_FLTP.rawValue, channels > 0 else {
                    throw AudioError.notAudio(path: name, reason: "unexpected AAC sample layout")
                }
                guard n >= 0, mono.count + n <= maximumSamples else {
                    throw AudioError.tooLong(path: name, limitSamples: maximumSamples)
                }
                var block = [Float](repeating: 0, count: n)
                withUnsafeBytes(of: &frame.pointee.data) { planes in
                    let pointers = planes.bindMemory(to: UnsafeMutablePointer<UInt8>?.self)
                    for c in 0..<min(channels, 8) {
                        guard let plane = pointers[c] else { continue }
                        let samples = UnsafeRawPointer(plane).assumingMemoryBound(to: Float.self)
                        for i in 0..<n { block[i] += samples[i] / Float(channels) }
                    }
                }
                mono += block
            }
        }

        var offset = 0
        // The parser may read up to AV_INPUT_BUFFER_PADDING_SIZE bytes past the end: give it zeroed padding.
        let padded = bytes + [UInt8](repeating: 0, count: Int(AV_INPUT_BUFFER_PADDING_SIZE))
        try padded.withUnsafeBufferPointer { buffer in
            while true {
                var data: UnsafeMutablePointer<UInt8>?
                var size: Int32 = 0
                let remaining = bytes.count - offset
                let used = av_parser_parse2(parser, context, &data, &size,
                                            remaining > 0 ? buffer.baseAddress! + offset : nil, Int32(max(remaining, 0)),
                                            Int64.min, Int64.min, 0)
                guard used >= 0 else { throw AudioError.notAudio(path: name, reason: "not an ADTS AAC stream") }
                offset += Int(used)
                if size > 0, let data {
                    packet.pointee.data = data
                    packet.pointee.size = size
                    guard avcodec_send_packet(context, packet) >= 0 else {
                        throw AudioError.notAudio(path: name, reason: "corrupt AAC frame at byte \(offset)")
                    }
                    try drain()
                }
                if remaining <= 0 && size == 0 { break }
            }
        }
        avcodec_send_packet(context, nil)
        try drain()
        guard !mono.isEmpty, sampleRate > 0 else { throw AudioError.notAudio(path: name, reason: "no AAC frames found") }
        return DecodedAudio(samples: mono, sampleRate: sampleRate, channels: channels, format: "AAC (ADTS)")
    }
}
