import Foundation
import IndexTTSModels
import IndexTTSTensor
import Synchronization

/// What IndexTTS2 takes from a speaker clip, computed once per voice (`infer_generator`'s speaker branch and its
/// `cache_spk_*` / `cache_emo_cond` values, ee40fa7): the clip loaded and cut to 15 s as `_load_and_cut_audio` does,
/// then
/// - `spk_cond_emb` `[1, frames, w2v hidden]`: w2v-BERT 2.0 layer 17 of the 16 kHz clip, normalised with
///   `wav2vec2bert_stats.pt` (`get_emb`);
/// - `S_ref` `[1, frames, codec hidden]` and `S_ref_codes` `[1, frames]` (integers stored as floats): the MaskGCT codec's
///   `quantize` of `spk_cond_emb`;
/// - `ref_mel` `[1, mels, mel frames]`: the S2M mel of the 22,050 Hz clip;
/// - `style` `[1, CAM++ width]`: CAM++ of the mean-removed 80-bin fbank;
/// - `prompt_condition` `[1, mel frames, S2M channels]`: the length regulator of `S_ref` to `ref_mel`'s frames;
/// - `emo_cond_emb` `[1, frames', w2v hidden]`: `get_emb` of the clip loaded at 16 kHz (soxr) — the emotion reference
///   when the emotion is the speaker's own or an 8-vector (upstream then uses the speaker clip as emotion clip).
///
/// Stored as a ``VoiceConditioning`` (engine `indextts2`, the model fingerprint, these tensors under upstream's names,
/// metadata `clip_seconds` and `sample_rate`).
public struct IndexTTS2SpeakerConditioning: Sendable {
    public var spkCondEmb: Tensor
    public var sRef: Tensor
    /// The codec's codes of `spk_cond_emb` (IndexTTS2); nil for IndexTTS-2.5, whose prompt reads the features
    /// themselves (`S_ref` is then `spk_cond_emb`).
    public var sRefCodes: Tensor?
    public var refMel: Tensor
    public var style: Tensor
    public var promptCondition: Tensor
    public var emoCondEmb: Tensor
    /// Length of the clip used (after the 15 s cut) and the rate it was given at.
    public var clipSeconds: Double
    public var sampleRate: Int

    public init(spkCondEmb: Tensor, sRef: Tensor, sRefCodes: Tensor?, refMel: Tensor, style: Tensor, promptCondition: Tensor,
                emoCondEmb: Tensor, clipSeconds: Double, sampleRate: Int) {
        self.spkCondEmb = spkCondEmb
        self.sRef = sRef
        self.sRefCodes = sRefCodes
        self.refMel = refMel
        self.style = style
        self.promptCondition = promptCondition
        self.emoCondEmb = emoCondEmb
        self.clipSeconds = clipSeconds
        self.sampleRate = sampleRate
    }

    /// Tensor names in files (upstream's variable names).
    public static let tensorNames = ["spk_cond_emb", "S_ref", "S_ref_codes", "ref_mel", "style", "prompt_condition", "emo_cond_emb"]

    public var tensors: [String: Tensor] {
        var tensors = ["spk_cond_emb": spkCondEmb, "S_ref": sRef, "ref_mel": refMel, "style": style,
                       "prompt_condition": promptCondition, "emo_cond_emb": emoCondEmb]
        tensors["S_ref_codes"] = sRefCodes
        return tensors
    }

    /// As a ``VoiceConditioning`` of engine `indextts2` made with weights `model`.
    public func voiceConditioning(model: String) -> VoiceConditioning {
        VoiceConditioning(engine: IndexTTS2Engine.engineID, model: model, tensors: tensors,
                          metadata: ["clip_seconds": String(clipSeconds), "sample_rate": String(sampleRate)])
    }

    /// The widths a pipeline's weights give each tensor.
    public struct Dimensions: Sendable, Equatable {
        public var w2vHidden: Int
        public var codecHidden: Int
        /// The codebook `S_ref_codes` index (IndexTTS2); nil where the model keeps no codes (IndexTTS-2.5).
        public var codebookSize: Int?
        public var mels: Int
        public var styleWidth: Int
        public var s2mChannels: Int
    }

    /// Reads `conditioning`'s tensors, checking every shape against `dimensions` (and the frame counts against each
    /// other, the codes against the codebook, the values for NaN/∞).
    /// - Throws: ``VoiceConditioningError`` naming the tensor (`file` is what the message calls the source).
    public init(_ conditioning: VoiceConditioning, dimensions d: Dimensions, file: String = "voice conditioning") throws {
        func get(_ name: String, rank: Int, expected: String, _ check: ([Int]) -> Bool) throws -> Tensor {
            let t = try conditioning.tensor(name, file: file)
            guard t.rank == rank, t.shape.allSatisfy({ $0 >= 1 }), check(t.shape) else {
                throw VoiceConditioningError.badShape(file: file, name: name, shape: t.shape, expected: expected)
            }
            guard t.scalars.allSatisfy(\.isFinite) else {
                throw VoiceConditioningError.unreadable(file: file, reason: "tensor '\(name)' has NaN or infinite values")
            }
            return t
        }
        let spk = try get("spk_cond_emb", rank: 3, expected: "[1, frames, \(d.w2vHidden)]") { $0[0] == 1 && $0[2] == d.w2vHidden }
        let frames = spk.shape[1]
        let sRef = try get("S_ref", rank: 3, expected: "[1, \(frames), \(d.codecHidden)]") {
            $0 == [1, frames, d.codecHidden]
        }
        var codes: Tensor? = nil
        if let codebookSize = d.codebookSize {
            let read = try get("S_ref_codes", rank: 2, expected: "[1, \(frames)]") { $0 == [1, frames] }
            guard read.scalars.allSatisfy({ $0 >= 0 && $0 < Float(codebookSize) && $0.rounded() == $0 }) else {
                throw VoiceConditioningError.badShape(file: file, name: "S_ref_codes", shape: read.shape,
                                                      expected: "integers in 0..<\(codebookSize)")
            }
            codes = read
        }
        let refMel = try get("ref_mel", rank: 3, expected: "[1, \(d.mels), mel frames]") { $0[0] == 1 && $0[1] == d.mels }
        let melFrames = refMel.shape[2]
        let style = try get("style", rank: 2, expected: "[1, \(d.styleWidth)]") { $0 == [1, d.styleWidth] }
        let prompt = try get("prompt_condition", rank: 3, expected: "[1, \(melFrames), \(d.s2mChannels)]") {
            $0 == [1, melFrames, d.s2mChannels]
        }
        let emo = try get("emo_cond_emb", rank: 3, expected: "[1, frames, \(d.w2vHidden)]") { $0[0] == 1 && $0[2] == d.w2vHidden }
        self.init(spkCondEmb: spk, sRef: sRef, sRefCodes: codes, refMel: refMel, style: style, promptCondition: prompt,
                  emoCondEmb: emo, clipSeconds: conditioning.metadata["clip_seconds"].flatMap(Double.init) ?? 0,
                  sampleRate: conditioning.metadata["sample_rate"].flatMap(Int.init) ?? 0)
    }
}

/// The analyses of recent voice clips, keyed by a content hash of the clip (``key(samples:sampleRate:)``), least
/// recently used dropped beyond ``ContentKeyedCache/capacity`` (16 by default). Thread-safe; a reference type, so
/// that copies of an engine share it.
public typealias IndexTTS2VoiceCache = ContentKeyedCache<IndexTTS2SpeakerConditioning>

extension ContentKeyedCache where Value == IndexTTS2SpeakerConditioning {
    /// A voice cache of 16 clips.
    public convenience init() { self.init(capacity: 16) }

    /// SHA-256 of the rate and the samples' float bits.
    public static func key(samples: [Float], sampleRate: Int) -> String {
        var hash = ContentHash()
        hash.update("clip \(sampleRate) \(samples.count)\n")
        hash.update(samples)
        return hash.hexDigest()
    }
}
