import Foundation

/// Windowed streaming of one synthesis (IndexTTS2; upstream's TensorRT backend `StreamingDecoder`): while the GPT
/// still generates, every `chunkSize − overlapSize` new codes a window of `chunkSize` codes goes through the S2M and
/// the vocoder, and consecutive windows are joined by a Hann cross-fade over the audio of the `overlapSize` codes
/// they share. Upstream's shipped defaults: 100-code windows, overlap 5. The first window may be shorter
/// (``firstChunkSize``) to cut the time to first audio; each text segment starts its own window stream. Sizes are in
/// the GPT's codes: 20 ms each for IndexTTS2, 40 ms for IndexTTS-2.5 (25 Hz). IndexTTS-2.5's codec is not pointwise,
/// so a 2.5 window also waits for ``lookahead`` codes past its end, which its decode reads as context.
///
/// JSON (`"stream"` in the native API and the queue): `true`/`false`, or an object with `chunk_size`,
/// `overlap_size`, `first_chunk_size`, `lookahead` and `enabled`. Engines without a GPT ignore it (they stream
/// finished segments).
public struct StreamingOptions: Codable, Sendable, Equatable {
    /// False: synthesise whole segments (as without options).
    public var enabled = true
    /// Codes per window (upstream `streaming_chunk_size`, 100 = 2 s of speech at 50 codes/s).
    public var chunkSize = 100
    /// Codes shared by consecutive windows (upstream `streaming_overlap_size`, 5); the cross-fade spans their audio.
    public var overlapSize = 5
    /// Codes in a segment's first window; nil is ``chunkSize`` (upstream has no separate first window).
    public var firstChunkSize: Int? = nil
    /// IndexTTS-2.5: codes past a window's end that must exist before it renders; its codec decodes them (up to its
    /// context radius, and that many codes before the window) as context. nil is the codec's whole context radius
    /// (40 codes for the released codec's 12 blocks), with which every window's content features equal the whole
    /// segment's decode of the same codes; fewer trade that for earlier audio (the frames near a window's end then see
    /// padding where later codes would be). IndexTTS2's content is per code and ignores it.
    public var lookahead: Int? = nil

    public init(enabled: Bool = true, chunkSize: Int = 100, overlapSize: Int = 5, firstChunkSize: Int? = nil,
                lookahead: Int? = nil) {
        self.enabled = enabled
        self.chunkSize = chunkSize
        self.overlapSize = overlapSize
        self.firstChunkSize = firstChunkSize
        self.lookahead = lookahead
    }

    /// The first window's size in codes.
    public var firstWindow: Int { firstChunkSize ?? chunkSize }

    public enum CodingKeys: String, CodingKey {
        case enabled
        case chunkSize = "chunk_size"
        case overlapSize = "overlap_size"
        case firstChunkSize = "first_chunk_size"
        case lookahead
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let flag = try? single.decode(Bool.self) {
            self.init(enabled: flag)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(enabled: try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true,
                  chunkSize: try c.decodeIfPresent(Int.self, forKey: .chunkSize) ?? 100,
                  overlapSize: try c.decodeIfPresent(Int.self, forKey: .overlapSize) ?? 5,
                  firstChunkSize: try c.decodeIfPresent(Int.self, forKey: .firstChunkSize),
                  lookahead: try c.decodeIfPresent(Int.self, forKey: .lookahead))
    }

    /// Range checks; throws ``SynthesisError/invalidParameter(name:reason:)`` naming the field (`stream.chunk_size`…).
    public func validate() throws {
        func bad(_ key: CodingKeys, _ reason: String) -> SynthesisError {
            .invalidParameter(name: "stream.\(key.rawValue)", reason: reason)
        }
        guard (2...2000).contains(chunkSize) else { throw bad(.chunkSize, "must be 2…2000 codes, got \(chunkSize)") }
        guard overlapSize >= 0, overlapSize < chunkSize else {
            throw bad(.overlapSize, "must be ≥ 0 and below chunk_size (\(chunkSize)), got \(overlapSize)")
        }
        if let first = firstChunkSize, !(overlapSize < first && first <= chunkSize) {
            throw bad(.firstChunkSize, "must be above overlap_size (\(overlapSize)) and at most chunk_size (\(chunkSize)), got \(first)")
        }
        if let lookahead, !(0...2000).contains(lookahead) {
            throw bad(.lookahead, "must be 0…2000 codes, got \(lookahead)")
        }
    }

    /// `chunk 100, overlap 5, first 100` (and `, lookahead N` when set), for applied controls.
    public var summary: String {
        "chunk \(chunkSize), overlap \(overlapSize), first \(firstWindow)" + (lookahead.map { ", lookahead \($0)" } ?? "")
    }
}
