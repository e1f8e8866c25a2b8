/// Just enough MPEG audio frame parsing to recognise LAME's leading Info/Xing tag frame.
enum MP3Frame {
    static let mpeg1Bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    static let mpeg2Bitrates = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
    static let sampleRates: [Int: [Int]] = [3: [44_100, 48_000, 32_000], 2: [22_050, 24_000, 16_000], 0: [11_025, 12_000, 8_000]]

    /// Byte length of the Layer III frame starting at `offset`, or nil if no valid header is there.
    static func length(_ bytes: [UInt8], at offset: Int) -> Int? {
        guard offset + 4 <= bytes.count, bytes[offset] == 0xFF, bytes[offset + 1] & 0xE0 == 0xE0 else { return nil }
        let version = Int((bytes[offset + 1] >> 3) & 0x3), layer = Int((bytes[offset + 1] >> 1) & 0x3)
        let bitrateIndex = Int(bytes[offset + 2] >> 4), rateIndex = Int((bytes[offset + 2] >> 2) & 0x3)
        let padding = Int((bytes[offset + 2] >> 1) & 0x1)
        guard layer == 1, version != 1, bitrateIndex > 0, bitrateIndex < 15, rateIndex < 3,
              let rates = sampleRates[version] else { return nil }
        let bitrate = (version == 3 ? mpeg1Bitrates : mpeg2Bitrates)[bitrateIndex] * 1000
        let coefficient = version == 3 ? 144 : 72
        return coefficient * bitrate / rates[rateIndex] + padding
    }

    /// If the data starts with an Info/Xing tag frame (after an optional ID3v2 tag), the offset just past it once
    /// that whole frame is present; 0 when there is no tag frame; nil while more bytes are needed.
    static func infoTagLength(_ bytes: [UInt8]) -> Int? {
        var start = 0
        if bytes.count >= 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 {  // "ID3"
            let size = bytes[6...9].reduce(0) { ($0 << 7) | Int($1 & 0x7F) }
            start = 10 + size
        }
        guard bytes.count >= start + 4 else { return nil }
        guard let frame = length(bytes, at: start) else { return 0 }
        guard bytes.count >= start + frame else { return nil }
        let body = bytes[(start + 4)..<(start + frame)]
        // LAME reserves the frame with zeros while encoding and fills in "Info"/"Xing" at the end.
        if body.allSatisfy({ $0 == 0 }) { return start + frame }
        let tags: [[UInt8]] = [Array("Xing".utf8), Array("Info".utf8)]
        for i in body.indices.dropLast(3) where tags.contains(Array(body[i..<(i + 4)])) {
            return start + frame
        }
        return 0
    }
}
