import Foundation
import IndexTTSAudio
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Decoding every input format against soundfile, encoding every output format through a real decoder, and the
/// typed errors for bad files.
struct AudioIOTests {
    static let expected = try! WeightStore.open(path: Fixtures.path("audio/expected.safetensors"))

    @Test(arguments: ["clip_u8.wav", "clip_s16.wav", "clip_s24.wav", "clip_s32.wav", "clip_float.wav", "clip_double.wav",
                      "clip.flac", "clip_vorbis.ogg", "clip.opus", "clip.mp3"])
    func decodesLikeSoundfile(_ name: String) throws {
        let audio = try AudioDecoder.decode(path: Fixtures.path("audio/formats/" + name))
        let reference = try Self.expected.tensor("decoded." + name)
        #expect(audio.sampleRate == (name == "clip.opus" ? 48_000 : 24_000))
        if name == "clip_s16.wav" { #expect(audio.channels == 2) }
        // Same library family (libsndfile 1.2.0 here, 1.2.2 in the generator): PCM and FLAC are bit-exact, the lossy
        // decoders agree to rounding.
        let lossy = ["clip_vorbis.ogg", "clip.opus", "clip.mp3"].contains(name)
        #expect(audio.samples.count == reference.count)
        expectClose(try Tensor(shape: [audio.samples.count], scalars: audio.samples), reference,
                    tolerance: lossy ? .init(rtol: 0, atol: 1e-4) : .init(rtol: 0, atol: 0), name)
    }

    func roundTrip(_ format: AudioFormat, chunked: Bool) throws -> (bytes: [UInt8], decoded: DecodedAudio, input: [Float]) {
        let rate = 22_050
        let input = (0..<(rate / 2)).map { i in 0.5 * Float(sin(2 * Double.pi * 220 * Double(i) / Double(rate))) }
        var bytes: [UInt8] = []
        if chunked {
            let encoder = try AudioEncoder(format: format, sampleRate: rate)
            var start = 0
            while start < input.count {
                let end = min(input.count, start + 1_000)
                bytes += try encoder.append(Array(input[start..<end]))
                start = end
            }
            bytes += try encoder.finish()
        } else {
            bytes = try AudioEncoder.encode(input, sampleRate: rate, format: format)
        }
        let decoded = try AudioDecoder.decode(bytes: bytes, name: "roundtrip.\(format.fileExtension)")
        return (bytes, decoded, input)
    }

    @Test(arguments: [AudioFormat.wav, .flac, .mp3, .opus])
    func encodedFilesDecode(_ format: AudioFormat) throws {
        for chunked in [false, true] {
            let (_, decoded, input) = try roundTrip(format, chunked: chunked)
            let rate = format == .opus ? 24_000 : 22_050
            #expect(decoded.sampleRate == rate, "\(format) chunked \(chunked)")
            // Lossy codecs add delay and padding; compare total signal energy and, for lossless ones, samples.
            let energyIn = input.reduce(0) { $0 + $1 * $1 } * Float(rate) / 22_050
            let energyOut = decoded.samples.reduce(0) { $0 + $1 * $1 }
            #expect(abs(energyOut / energyIn - 1) < 0.1, "\(format) chunked \(chunked): energy \(energyOut) vs \(energyIn)")
            if format == .wav || format == .flac {
                #expect(decoded.samples.count == input.count)
                let worst = zip(decoded.samples, input).map { abs($0 - $1) }.max() ?? 1
                // Quantisation as IndexTTS2 writes (truncate 32767·x), read back as q/32768: |error| ≤ (|x| + 1)/32768.
                #expect(worst <= 2.0 / 32_768, "\(format): \(worst)")
            }
        }
    }

    @Test func pcmIsRawLittleEndianAndClampsWithoutWrapping() throws {
        let bytes = try AudioEncoder.encode([0, 0.5, -0.5, 1, -1, 1.7, -3, .nan], sampleRate: 24_000, format: .pcm)
        let values = stride(from: 0, to: bytes.count, by: 2).map { Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8) }
        #expect(values == [0, 16_383, -16_383, 32_767, -32_767, 32_767, -32_767, 0])
    }

    @Test func streamingWAVAnnouncesAnUnknownLengthAndStillDecodes() throws {
        let (bytes, decoded, input) = try roundTrip(.wav, chunked: true)
        #expect(Array(bytes[40..<44]) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(decoded.samples.count == input.count)
        let (whole, _, _) = try roundTrip(.wav, chunked: false)
        #expect(Array(whole[40..<44]) != [0xFF, 0xFF, 0xFF, 0xFF])
    }

    /// AAC is lossy and delays the signal by the encoder's priming (1024 samples): align, then compare.
    @Test(arguments: [false, true])
    func aacRoundTripsThroughADTSFrames(chunked: Bool) throws {
        let rate = 24_000
        let input = (0..<rate).map { i in Float(0.4 * sin(2 * Double.pi * 440 * Double(i) / Double(rate))
                                                + 0.2 * sin(2 * Double.pi * 1_250 * Double(i) / Double(rate))) }
        let bytes: [UInt8]
        if chunked {
            let encoder = try AudioEncoder(format: .aac, sampleRate: rate)
            var out: [UInt8] = []
            for start in stride(from: 0, to: input.count, by: 3_000) {
                out += try encoder.append(Array(input[start..<min(start + 3_000, input.count)]))
            }
            bytes = out + (try encoder.finish())
        } else {
            bytes = try AudioEncoder.encode(input, sampleRate: rate, format: .aac)
        }
        // Every frame starts with an ADTS header whose length field chains to the next one.
        var offset = 0, frames = 0
        while offset < bytes.count {
            #expect(bytes[offset] == 0xFF && bytes[offset + 1] == 0xF1)
            offset += (Int(bytes[offset + 3] & 3) << 11) | (Int(bytes[offset + 4]) << 3) | Int(bytes[offset + 5] >> 5)
            frames += 1
        }
        #expect(offset == bytes.count && frames >= 24)
        let decoded = try AudioDecoder.decode(bytes: bytes, name: "tone.aac")
        #expect(decoded.sampleRate == rate && decoded.channels == 1 && decoded.format == "AAC (ADTS)")
        let lag = 1_024
        #expect(decoded.samples.count >= input.count + lag - 1_024 && decoded.samples.count <= input.count + 3 * 1_024)
        let middle = 2_000..<(input.count - 2_000)
        let error = middle.map { Double(decoded.samples[$0 + lag] - input[$0]) }
        let rms = (error.map { $0 * $0 }.reduce(0, +) / Double(error.count)).squareRoot()
        let signal = (middle.map { Double(input[$0] * input[$0]) }.reduce(0, +) / Double(middle.count)).squareRoot()
        #expect(rms < 0.05 * signal, "relative RMS error \(rms / signal)")
    }

    @Test func aacAtOtherRatesIsResampledToAnAACRate() throws {
        let bytes = try AudioEncoder.encode([Float](repeating: 0.1, count: 22_000), sampleRate: 22_000, format: .aac)
        #expect(try AudioDecoder.decode(bytes: bytes, name: "x.aac").sampleRate == 22_050)
    }

    // MARK: bad input

    func decodeError(_ bytes: [UInt8], name: String, requireSound: Bool = false) -> AudioError? {
        do {
            _ = try AudioDecoder.decode(bytes: bytes, name: name, requireSound: requireSound)
            return nil
        } catch let error as AudioError {
            return error
        } catch {
            return nil
        }
    }

    @Test func badFilesGiveTypedErrors() throws {
        let wav = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("audio/speech_like_22050.wav"))))
        #expect(decodeError([], name: "empty.wav") == .empty(path: "empty.wav"))
        guard case .truncated(let path, let expected, let decoded)? = decodeError(Array(wav.prefix(wav.count / 2)), name: "cut.wav") else {
            Issue.record("expected .truncated")
            return
        }
        #expect(path == "cut.wav" && expected == 44_100 && decoded < expected)
        guard case .notAudio(_, let reason)? = decodeError(Array("just some text, not audio\n".utf8), name: "voice.wav") else {
            Issue.record("expected .notAudio")
            return
        }
        #expect(reason.contains(".wav extension"))
        guard case .notAudio(_, let m4a)? = decodeError(Array(repeating: 7, count: 300), name: "voice.m4a") else {
            Issue.record("expected .notAudio for m4a")
            return
        }
        #expect(m4a.contains("not supported"))
        let silence = try AudioEncoder.encode([Float](repeating: 0, count: 8_000), sampleRate: 16_000, format: .wav)
        #expect(decodeError(silence, name: "quiet.wav", requireSound: true) == .silent(path: "quiet.wav"))
        #expect(decodeError(silence, name: "quiet.wav") == nil)
        let header = Array(wav.prefix(44))
        #expect(decodeError(header, name: "header-only.wav") == .empty(path: "header-only.wav"))
        #expect(throws: AudioError.fileNotFound(path: "/nonexistent/ref.wav")) {
            try AudioDecoder.decode(path: "/nonexistent/ref.wav")
        }
    }

    @Test func aWAVNamedMP3DecodesByContent() throws {
        let wav = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("audio/formats/clip_s24.wav"))))
        let audio = try AudioDecoder.decode(bytes: wav, name: "actually-a-wav.mp3")
        #expect(audio.format.hasPrefix("WAV"))
    }
}
