import Foundation

/// The named emotion presets (``EmotionPreset/all``: 平静/calm, 愉快/happy, 兴奋/excited, 激动/agitated, 悲伤/sad,
/// 愤怒/angry, 温柔/gentle, 恐惧/afraid, 惊讶/surprised) as IndexTTS2 emotion vectors. Upstream has no presets; each is
/// our documented choice of `emo_vector` (order: happy, angry, sad, afraid, disgusted, melancholic, surprised,
/// calm), passed to `infer` exactly as a user's vector would be, with the preset's strength as `emo_alpha` (so the
/// weights are scaled by it and truncated to 4 decimals, and the emotion-matrix rows are chosen by speaker similarity,
/// or at random with `use_random`).
///
/// Every vector sums to 0.8, the most upstream's WebUI lets through (`normalize_emo_vec` scales larger sums down
/// to 0.8) — the remaining 0.2 keeps some of the speaker's own emotion vector (the `1 − Σw` blend).
///
/// | id | label | happy | angry | sad | afraid | disgusted | melancholic | surprised | calm |
/// |---|---|---|---|---|---|---|---|---|---|
/// | calm | 平静 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0.8 |
/// | happy | 愉快 | 0.8 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |
/// | excited | 兴奋 | 0.5 | 0 | 0 | 0 | 0 | 0 | 0.3 | 0 |
/// | agitated | 激动 | 0.1 | 0.4 | 0 | 0 | 0 | 0 | 0.3 | 0 |
/// | sad | 悲伤 | 0 | 0 | 0.6 | 0 | 0 | 0.2 | 0 | 0 |
/// | angry | 愤怒 | 0 | 0.8 | 0 | 0 | 0 | 0 | 0 | 0 |
/// | gentle | 温柔 | 0.2 | 0 | 0 | 0 | 0 | 0 | 0 | 0.6 |
/// | afraid | 恐惧 | 0 | 0 | 0 | 0.8 | 0 | 0 | 0 | 0 |
/// | surprised | 惊讶 | 0 | 0 | 0 | 0 | 0 | 0 | 0.8 | 0 |
public enum IndexTTS2EmotionPresets {
    /// The eight emotions of an IndexTTS2 vector, in order.
    public static let emotions = ["happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm"]

    /// Preset id → emotion vector (see the table above).
    public static let vectors: [String: [Double]] = [
        "calm": [0, 0, 0, 0, 0, 0, 0, 0.8],
        "happy": [0.8, 0, 0, 0, 0, 0, 0, 0],
        "excited": [0.5, 0, 0, 0, 0, 0, 0.3, 0],
        "agitated": [0.1, 0.4, 0, 0, 0, 0, 0.3, 0],
        "sad": [0, 0, 0.6, 0, 0, 0.2, 0, 0],
        "angry": [0, 0.8, 0, 0, 0, 0, 0, 0],
        "gentle": [0.2, 0, 0, 0, 0, 0, 0, 0.6],
        "afraid": [0, 0, 0, 0.8, 0, 0, 0, 0],
        "surprised": [0, 0, 0, 0, 0, 0, 0.8, 0],
    ]

    /// The preset `name` (id, Chinese label or synonym, as ``EmotionPreset/named(_:)`` reads it) and its vector.
    public static func preset(named name: String) -> (preset: EmotionPreset, vector: [Double])? {
        guard let preset = EmotionPreset.named(name), let vector = vectors[preset.id] else { return nil }
        return (preset, vector)
    }

    /// The presets for pickers (``EngineInfo/presets``), each summary stating its vector.
    public static var info: [EngineInfo.Preset] {
        EmotionPreset.all.compactMap { preset in
            guard let vector = vectors[preset.id] else { return nil }
            let parts = zip(emotions, vector).filter { $0.1 > 0 }.map { "\($0.0) \(format($0.1))" }
            return EngineInfo.Preset(id: preset.id, label: preset.label, summary: "emotion vector: " + parts.joined(separator: ", "))
        }
    }

    /// `x` with at most 4 decimals and no trailing zeros (how applied controls print numbers).
    public static func format(_ x: Double) -> String {
        var s = String(format: "%.4f", x)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
