import Foundation
import IndexTTSModels

/// The emotion presets IndexTTS users know, mapped onto the default voice's prosody controls. Each mapping is a
/// documented direction, verified by tests on the synthesised audio: pitch level (shift, in speaker standard
/// deviations), pitch range (multiplier of the intonation's spread), speaking time (duration multiplier, >1 slower)
/// and energy. Strength 0…1 interpolates from neutral.
public struct EmotionPreset: Sendable, Equatable {
    public let id: String
    public let label: String
    public let summary: String
    public let controls: FastSpeech2.Controls

    public static let all: [EmotionPreset] = [
        EmotionPreset(id: "calm", label: "平静", summary: "slightly slower, flatter and softer",
                      controls: .init(durationScale: 1.08, pitchRange: 0.75, pitchShift: -0.2, energyScale: 0.9, energyShift: -0.2)),
        EmotionPreset(id: "happy", label: "愉快", summary: "higher, livelier intonation, a little faster and louder",
                      controls: .init(durationScale: 0.93, pitchRange: 1.3, pitchShift: 0.6, energyScale: 1.1, energyShift: 0.2)),
        EmotionPreset(id: "excited", label: "兴奋", summary: "much higher and wider pitch, fast and loud",
                      controls: .init(durationScale: 0.85, pitchRange: 1.5, pitchShift: 1.0, energyScale: 1.2, energyShift: 0.4)),
        EmotionPreset(id: "agitated", label: "激动", summary: "raised pitch, wide range, fast and forceful",
                      controls: .init(durationScale: 0.88, pitchRange: 1.4, pitchShift: 0.7, energyScale: 1.3, energyShift: 0.5)),
        EmotionPreset(id: "sad", label: "悲伤", summary: "lower, flat pitch, slow and quiet",
                      controls: .init(durationScale: 1.25, pitchRange: 0.6, pitchShift: -0.7, energyScale: 0.8, energyShift: -0.5)),
        EmotionPreset(id: "angry", label: "愤怒", summary: "forceful: louder, raised and wider pitch, slightly fast",
                      controls: .init(durationScale: 0.9, pitchRange: 1.4, pitchShift: 0.6, energyScale: 1.4, energyShift: 0.7)),
        EmotionPreset(id: "gentle", label: "温柔", summary: "soft and unhurried with a gentle, narrower melody",
                      controls: .init(durationScale: 1.12, pitchRange: 0.85, pitchShift: 0.1, energyScale: 0.85, energyShift: -0.4)),
        EmotionPreset(id: "afraid", label: "恐惧", summary: "higher, unsteady pitch, hurried and quiet",
                      controls: .init(durationScale: 0.95, pitchRange: 1.25, pitchShift: 0.7, energyScale: 0.85, energyShift: -0.3)),
        EmotionPreset(id: "surprised", label: "惊讶", summary: "high pitch with a wide range, a little slower",
                      controls: .init(durationScale: 1.05, pitchRange: 1.6, pitchShift: 1.1, energyScale: 1.1, energyShift: 0.2)),
    ]

    /// The documented direction of each effect relative to neutral delivery (−1 lower/shorter/quieter, 0 about the
    /// same, +1 higher/longer/louder): median pitch, total speaking time, loudness.
    public var effects: (pitch: Int, speakingTime: Int, loudness: Int) {
        func sign(_ x: Float, _ dead: Float) -> Int { x > dead ? 1 : (x < -dead ? -1 : 0) }
        return (sign(controls.pitchShift, 0.15), sign(controls.durationScale - 1, 0.02), sign(controls.energyShift, 0.15))
    }

    /// The preset named `name` (id, Chinese label, or a common synonym), case-insensitively.
    public static func named(_ name: String) -> EmotionPreset? {
        let key = name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let synonyms = ["neutral": "calm", "joyful": "happy", "喜": "happy", "高兴": "happy", "开心": "happy", "sadness": "sad",
                        "anger": "angry", "生气": "angry", "fear": "afraid", "scared": "afraid", "害怕": "afraid",
                        "surprise": "surprised", "tender": "gentle", "soft": "gentle", "excitement": "excited"]
        let id = synonyms[key] ?? key
        return all.first { $0.id == id || $0.label == key }
    }

    /// Controls at `strength` (0 = neutral, 1 = the preset), clamped to 0…1.
    public func controls(strength: Double) -> FastSpeech2.Controls {
        let s = Float(min(max(strength, 0), 1))
        let c = controls
        return FastSpeech2.Controls(durationScale: 1 + (c.durationScale - 1) * s, pitchRange: 1 + (c.pitchRange - 1) * s,
                                    pitchShift: c.pitchShift * s, energyScale: 1 + (c.energyScale - 1) * s,
                                    energyShift: c.energyShift * s)
    }

    /// IndexTTS2's 8 emotion weights (happy, angry, sad, afraid, disgusted, melancholic, surprised, calm) as a weighted
    /// blend of presets (disgusted reads as angry at half strength, melancholic as sad).
    public static func blend(vector: [Double]) throws -> FastSpeech2.Controls {
        guard vector.count == 8, vector.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw SynthesisError.invalidParameter(name: "emotion vector", reason: "needs 8 non-negative numbers, got \(vector)")
        }
        let ids = ["happy", "angry", "sad", "afraid", "angry", "sad", "surprised", "calm"]
        let weights = zip(vector, [1.0, 1, 1, 1, 0.5, 0.7, 1, 1]).map { $0 * $1 }
        let total = weights.reduce(0, +)
        guard total > 0 else { return FastSpeech2.Controls() }
        var result = FastSpeech2.Controls(durationScale: 0, pitchRange: 0, pitchShift: 0, energyScale: 0, energyShift: 0)
        let scale = min(vector.reduce(0, +), 1) / total  // weights summing below 1 keep some neutrality
        for (id, w) in zip(ids, weights) where w > 0 {
            let c = named(id)!.controls(strength: 1)
            let f = Float(w / total)
            result.durationScale += c.durationScale * f
            result.pitchRange += c.pitchRange * f
            result.pitchShift += c.pitchShift * f
            result.energyScale += c.energyScale * f
            result.energyShift += c.energyShift * f
        }
        let s = Float(scale * total)
        return FastSpeech2.Controls(durationScale: 1 + (result.durationScale - 1) * s, pitchRange: 1 + (result.pitchRange - 1) * s,
                                    pitchShift: result.pitchShift * s, energyScale: 1 + (result.energyScale - 1) * s,
                                    energyShift: result.energyShift * s)
    }
}
