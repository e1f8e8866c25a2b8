import Foundation

/// Windowed streaming of one synthesis (IndexTTS2; upstream's TensorRT backend `StreamingDecoder`): while the GPT
/// still generates, every `chunkSize − overlapSize` new codes a window of `chunkSize` codes goes through the S2M and
/// the vocoder, and consecutive windows are joined by a Hann cross-fade over the audio of the `overlapSize` codes
/// they share. Upstream's shipped defaults: 100-code windows, overlap 5. The first window may be shorter
/// (``firstChunkSize``) to cut the time to first audio; each text segment starts its own window stream.
///
/// JSON (`"stream"` in the native API and the queue): `true`/`false`, or an object with `chunk_size`,
/// `overlap_size`, `first_chunk_size` and `enabled`. Engines without a GPT ignore it (they stream finished segments).
public struct StreamingOptions: Codable, Sendable, Equatable {
    /// False: synthesise whole segments (as without options).
    public var enabled = true
    /// Codes per window (upstream `streaming_chunk_size`, 100 = 2 s of speech at 50 codes/s).
    public var chunkSize = 100
    /// Codes shared by consecutive windows (upstream `streaming_overlap_size`, 5); the cross-fade spans their audio.
    public var overlapSize = 5
    /// Codes in a segment's first window; nil is ``chunkSize`` (upstream has no separate first window).
    public var firstChunkSize: Int? = nil

    public init(enabled: Bool = true, chunkSize: Int = 100, overlapSize: Int = 5, firstChunkSize: Int? = nil) {
        self.enabled = enabled
        self.chunkSize = chunkSize
        self.overlapSize = overlapSize
        self.firstChunkSize = firstChunkSize
    }

    /// The first window's size in codes.
    public var firstWindow: Int { firstChunkSize ?? chunkSize }

    public enum CodingKeys: String, CodingKey {
        case enabled
        case chunkSize = "chunk_size"
        case overlapSize = "overlap_size"
        case firstChunkSize = "first_chunk_size"
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
                  firstChunkSize: try c.decodeIfPresent(Int.self, forKey: .firstChunkSize))
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
    }

    /// `chunk 100, overlap 5, first 100`, for applied controls.
    public var summary: String { "chunk \(chunkSize), overlap \(overlapSize), first \(firstWindow)" }
}
