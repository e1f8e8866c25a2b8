import Foundation
import IndexTTSModels
import IndexTTSText

/// IndexTTS2 behind the ``SpeechEngine`` seam: a voice reference clip (required: timbre is cloned from it), emotion
/// same-as-voice, an 8-vector or an emotion clip, upstream's sampling defaults (``sampling``, overridable per
/// engine). Immutable after load; per-request state lives in the call.
///
/// Not yet mapped: library voices without a clip, emotion presets and emotion text (QwenEmotion), and speed; they
/// are refused by ``validate(_:)`` with ``SynthesisError/unsupported(_:)``.
public struct IndexTTS2Engine: SpeechEngine {
    public let pipeline: IndexTTS2Pipeline
    /// Sampling and S2M parameters for every request (upstream's defaults unless changed).
    public var sampling: IndexTTS2Sampling
    public var maxTextTokensPerSegment = 120
    public var intervalSilence = 200

    public static let licence = "IndexTTS2 model weights: bilibili Index licence (see the model folder's LICENSE)"

    public init(pipeline: IndexTTS2Pipeline, sampling: IndexTTS2Sampling = IndexTTS2Sampling()) {
        self.pipeline = pipeline
        self.sampling = sampling
    }

    /// Loads the model folder; the text-normalisation grammars come from `cache` (``ModelCache/textGrammars``).
    /// - Throws: ``IndexTTS2LoadError`` listing every missing or broken file.
    public static func load(modelDirectory: String, cache: ModelCache = ModelCache()) throws -> IndexTTS2Engine {
        let grammars = cache.textGrammars.path
        let haveGrammars = FileManager.default.fileExists(atPath: cache.textGrammars.appendingPathComponent("zh_tn_tagger.fst").path)
        guard haveGrammars else {
            throw IndexTTS2LoadError.unusableFolder(root: modelDirectory, problems: [
                .init(path: grammars, reason: "missing (text normalisation grammars)",
                      source: "scripts/fetch-default-voice.sh (WeTextProcessing 1.2.0), or --cache / INDEXTTS_CACHE"),
            ])
        }
        return IndexTTS2Engine(pipeline: try IndexTTS2Pipeline.load(modelDirectory: modelDirectory, textGrammars: grammars))
    }

    public var info: EngineInfo {
        EngineInfo(id: "indextts2", name: "IndexTTS2", sampleRate: IndexTTS2Pipeline.sampleRate, voices: [],
                   licence: Self.licence, clonesTimbre: true, presets: [])
    }

    /// Identifies the weights (see ``IndexTTS2ModelFolder``).
    public var modelFingerprint: String { "indextts2:" + pipeline.folder.root }

    public func analyzeVoice(samples: [Float], sampleRate: Int) throws -> VoiceConditioning {
        throw SynthesisError.unsupported("storing IndexTTS2 voice conditioning (in progress)")
    }

    public func validate(_ request: SynthesisRequest) throws {
        _ = try pipelineRequest(for: request)
    }

    /// The pipeline request for `request` (for callers that want stages or a given CFM noise as well).
    public func pipelineRequest(for request: SynthesisRequest) throws -> IndexTTS2Request {
        guard !request.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SynthesisError.emptyText }
        guard let reference = request.referenceAudio else {
            if let voice = request.voice { throw SynthesisError.unknownVoice(voice, available: []) }
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "IndexTTS2 needs a voice reference clip")
        }
        guard !reference.samples.isEmpty, reference.sampleRate > 0 else {
            throw SynthesisError.invalidParameter(name: "reference audio", reason: "empty clip")
        }
        guard request.speed == 1 else { throw SynthesisError.unsupported("speed other than 1 with IndexTTS2 (not yet)") }
        var r = IndexTTS2Request(text: request.text, speaker: IndexTTS2Clip(samples: reference.samples, sampleRate: reference.sampleRate))
        switch request.emotion {
        case .none: r.emotion = .sameAsSpeaker
        case .vector(let weights):
            guard weights.count == 8, weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw SynthesisError.invalidParameter(name: "emotion vector", reason: "8 non-negative weights")
            }
            r.emotion = .vector(weights, alpha: 1, useRandom: false)
        case .referenceAudio(let samples, let rate, let weight):
            guard !samples.isEmpty, rate > 0, weight.isFinite else {
                throw SynthesisError.invalidParameter(name: "emotion audio", reason: "empty clip or bad weight")
            }
            r.emotion = .clip(IndexTTS2Clip(samples: samples, sampleRate: rate), alpha: Float(weight))
        case .preset(let name, _): throw SynthesisError.unsupported("emotion preset '\(name)' with IndexTTS2 (not yet)")
        case .text: throw SynthesisError.unsupported("emotion text with IndexTTS2 (needs QwenEmotion, not yet)")
        }
        try request.sampling.validate()
        r.sampling = sampling.applying(request.sampling)
        if let seed = request.seed { r.sampling.seed = seed }
        r.maxTextTokensPerSegment = request.sampling.maxTextTokensPerSegment ?? maxTextTokensPerSegment
        r.intervalSilence = request.sampling.intervalSilence ?? intervalSilence
        r.isCancelled = request.isCancelled
        return r
    }

    public func synthesize(_ request: SynthesisRequest, progress: @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
        let r = try pipelineRequest(for: request)
        let start = Date()
        var firstAudio: Double? = nil
        var audioSamples = 0
        let output: IndexTTS2Output
        do {
            output = try pipeline.synthesize(r) { p in
                if firstAudio == nil { firstAudio = Date().timeIntervalSince(start) }
                audioSamples += p.chunk.count
                // The engine's samples are in [−1, 1]; the pipeline's in int16 range, as upstream's.
                progress(SynthesisProgress(completedSegments: p.completedSegments, totalSegments: p.totalSegments,
                                           audioSeconds: Double(audioSamples) / Double(IndexTTS2Pipeline.sampleRate),
                                           chunk: p.chunk.map { $0 / 32768 }))
            }
        } catch IndexTTS2Error.cancelled {
            throw SynthesisError.cancelled
        } catch IndexTTS2Error.emptyText {
            throw SynthesisError.emptyText
        }
        let total = Date().timeIntervalSince(start)
        var controls = ["engine": "indextts2", "top_k": "\(r.sampling.topK)", "num_beams": "\(r.sampling.numBeams)",
                        "diffusion_steps": "\(r.sampling.diffusionSteps)"]
        if !output.warnings.isEmpty { controls["warning"] = output.warnings.joined(separator: " ") }
        return SynthesisResult(samples: output.samples.map { $0 / 32768 }, sampleRate: output.sampleRate,
                               timings: [StageTiming(stage: "synthesis", seconds: total)], segments: output.segments.count,
                               timeToFirstAudio: firstAudio ?? total, totalSeconds: total, appliedControls: controls)
    }

    public func preview(_ text: String) -> TextPreview {
        let normalized = pipeline.normalizer?.normalize(text) ?? text
        let segments = (try? pipeline.segments(text: text, maxTokensPerSegment: maxTextTokensPerSegment)) ?? []
        return TextPreview(text: text, normalized: normalized, segments: segments.map { pieces in
            TextPreview.Segment(text: pieces.joined().replacingOccurrences(of: "▁", with: " ").trimmingCharacters(in: .whitespaces),
                                pinyin: nil, symbols: pieces,
                                unread: pieces.filter { pipeline.tokenizer.model.id(of: $0) == pipeline.tokenizer.model.unknownID },
                                pauseSeconds: Double(intervalSilence) / 1000)
        })
    }
}
