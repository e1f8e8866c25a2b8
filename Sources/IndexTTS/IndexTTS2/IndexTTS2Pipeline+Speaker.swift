import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText
import IndexTTSWeights

/// The speaker and emotion analysis of ``IndexTTS2Pipeline``: a clip → its conditioning (`infer_generator`'s
/// speaker branch) and `get_emb`.
extension IndexTTS2Pipeline {
    /// The speaker half of the analysis (everything but `emo_cond_emb`).
    struct SpeakerPart {
        var spkCondEmb: Tensor, sRef: Tensor, sRefCodes: Tensor?, refMel: Tensor, style: Tensor, promptCondition: Tensor
        var clipSeconds: Double
    }

    /// `infer_generator`'s speaker branch: `_load_and_cut_audio(spk_audio_prompt, 15)` (librosa at 22,050 Hz),
    /// `Resample(22050, 16000)`, features, `get_emb`, `quantize`, `mel_fn`, fbank + CAM++, length regulator.
    func speakerPart(_ clip: IndexTTS2Clip, record: Bool, stages: inout [String: Tensor], clock: inout StageClock,
                     stageFinished: (@Sendable (String) -> Void)? = nil) throws -> SpeakerPart {
        guard !clip.samples.isEmpty, clip.sampleRate > 0 else {
            throw IndexTTS2Error.invalidRequest("the speaker clip is empty")
        }
        func keep(_ name: String, _ value: @autoclosure () throws -> Tensor) throws {
            if record { stages[name] = try value() }
            stageFinished?(name)
        }
        // Speaker reference: librosa.load (22,050 Hz), Resample(sr, 22050) (identity), Resample(22050, 16000).
        let (audio22k, audio16k, f) = try clock.measure("speaker.features") { () throws -> ([Float], [Float], SeamlessM4TFeatureExtractor.Features) in
            let audio22k = try clip.librosaLoad(rate: 22_050)
            let audio16k = try SincResampler(from: 22_050, to: 16_000)(audio22k)
            return (audio22k, audio16k, try features(audio16k))
        }
        try keep("audio_16k", try Tensor(shape: [1, audio16k.count], scalars: audio16k))
        let input = try f.inputFeatures.unsqueezed(0)
        let spkCondEmb = try clock.measure("speaker.w2v_bert") {
            try w2vStatistics(w2vBert.hiddenStates(input, attentionMask: [f.attentionMask]))
        }
        try keep("spk_input_features", input)
        try keep("spk_attention_mask", try Self.ints(f.attentionMask.map(Int.init)))
        try keep("spk_cond_emb", spkCondEmb)
        // IndexTTS-2.5 prompts the S2M with the features themselves (its `S_ref` is a second `get_emb` of them).
        let quantized = try semanticCodec.map { codec in try clock.measure("speaker.codec") { try codec.quantize(spkCondEmb) } }
        let sRef = quantized?.embeddings ?? spkCondEmb
        try keep("S_ref", sRef)
        let refMel = try clock.measure("speaker.mel") { try referenceMel(audio22k).unsqueezed(0) }
        try keep("ref_mel", refMel)
        let (feat, style) = try clock.measure("speaker.campplus") { () throws -> (Tensor, Tensor) in
            let fbankFeatures = try fbank(audio16k)
            let feat = try fbankFeatures.subtracting(fbankFeatures.mean(axis: 0))
            return (feat, try campplus(feat.unsqueezed(0)))
        }
        try keep("feat", feat)
        try keep("style", style)
        let promptCondition = try clock.measure("speaker.prompt") { try s2m.lengthRegulator(sRef, frames: refMel.shape[2]) }
        try keep("prompt_condition", promptCondition)
        try keep("ref_target_lengths", try Tensor(shape: [1], scalars: [Float(refMel.shape[2])]))
        return SpeakerPart(spkCondEmb: spkCondEmb, sRef: sRef, sRefCodes: try quantized.map { try Self.ints($0.codes.first ?? []) },
                           refMel: refMel, style: style, promptCondition: promptCondition,
                           clipSeconds: Double(audio22k.count) / 22_050)
    }

    /// `_load_and_cut_audio(emo_audio_prompt, 15, sr=16000)` (soxr), features, `get_emb` → `emo_cond_emb`.
    func emotionEmbedding(_ clip: IndexTTS2Clip, recordAudio: Bool, record: Bool, stages: inout [String: Tensor],
                          clock: inout StageClock, stage: String,
                          stageFinished: (@Sendable (String) -> Void)? = nil) throws -> Tensor {
        guard !clip.samples.isEmpty, clip.sampleRate > 0 else {
            throw IndexTTS2Error.invalidRequest("the emotion clip is empty")
        }
        let emoAudio = try clock.measure(stage) { try clip.librosaLoad(rate: 16_000) }
        if record && recordAudio { stages["emo_audio"] = try Tensor(shape: [1, emoAudio.count], scalars: emoAudio) }
        let emotion = try clock.measure(stage) { try semanticEmbedding(emoAudio) }
        if record {
            stages["emo_input_features"] = emotion.features
            stages["emo_attention_mask"] = try Self.ints(emotion.mask.map(Int.init))
            stages["emo_cond_emb"] = emotion.emb
        }
        stageFinished?("emo_cond_emb")
        return emotion.emb
    }

    static func ints(_ values: [Int]) throws -> Tensor {
        try Tensor(shape: [1, values.count], scalars: values.map(Float.init))
    }

    /// Analyses a speaker clip into its conditioning (what a voice is to IndexTTS2; see
    /// ``IndexTTS2SpeakerConditioning``), with the per-stage times (`speaker.*`) and, when `record`, the
    /// intermediates under upstream's names.
    public func analyzeSpeaker(_ clip: IndexTTS2Clip, record: Bool = false) throws
        -> (conditioning: IndexTTS2SpeakerConditioning, stages: [String: Tensor], timings: [StageTiming]) {
        var stages: [String: Tensor] = [:]
        var clock = StageClock()
        let part = try speakerPart(clip, record: record, stages: &stages, clock: &clock)
        let emo = try emotionEmbedding(clip, recordAudio: true, record: record, stages: &stages, clock: &clock, stage: "speaker.emotion")
        // w2v-BERT is not needed again until the next new clip: let its pages go (1.6 GB at full size), as a request
        // that analyses its own clip does. Requests with this stored conditioning never touch it.
        if let w2vBertCheckpoint { MappedFile.releaseResidentPages(of: w2vBertCheckpoint) }
        let conditioning = IndexTTS2SpeakerConditioning(
            spkCondEmb: part.spkCondEmb, sRef: part.sRef, sRefCodes: part.sRefCodes, refMel: part.refMel, style: part.style,
            promptCondition: part.promptCondition, emoCondEmb: emo, clipSeconds: part.clipSeconds, sampleRate: clip.sampleRate)
        return (conditioning, stages, clock.timings)
    }

    /// `get_emb`: 16 kHz samples → normalised w2v-BERT layer-17 features `[1, frames, hidden]` (and the extractor's
    /// output for the record).
    func semanticEmbedding(_ audio16k: [Float]) throws -> (emb: Tensor, features: Tensor, mask: [Int32]) {
        let f = try features(audio16k)
        let input = try f.inputFeatures.unsqueezed(0)
        let hidden = try w2vBert.hiddenStates(input, attentionMask: [f.attentionMask])
        return (try w2vStatistics(hidden), input, f.attentionMask)
    }
}
