import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// The text-to-semantic GPT of IndexTTS2 and IndexTTS-2.5 (`indextts/gpt/model_v2.py::UnifiedVoice`, one class for
/// both: the generation picks `spk_cond_mode`), loaded from `gpt.pth` by verbatim keys. Immutable after load;
/// per-request decoding state lives in ``GPT2Model/State``.
///
/// Pipeline pieces (batch 1, shapes `[batch, time, channels]`):
/// - speaker conditioning, by ``UnifiedVoiceConfiguration/speakerConditioning``:
///   - Conformer mode (2.0), ``conditioning(_:length:)``: features `[1, T, 1024]` → Conformer → Perceiver →
///     `[1, 32, model_dim]`;
///   - CAMPPlus mode (2.5), ``speakerToken(_:)``: the CAMPPlus embedding `[1, 192]` → `spk_emb_proj` →
///     `[1, 1, model_dim]`;
/// - ``emotionVector(_:length:)``: emotion features → Conformer → Perceiver(1 latent) → `emovec_layer` → `emo_layer`.
/// - ``prefix(conditioning:emotionVector:)``: `[speaker + emovec, speed_emb[1], speed_emb[0]]` (2.0, `[1, 34, D]`) or
///   `[speaker + emovec, 0, 0]` (2.5, `[1, 3, D]`).
/// - ``promptEmbeddings(prefix:textIDs:language:)``, ``generate(prompt:options:random:)``,
///   ``latents(conditioning:emotionVector:textIDs:codes:)`` (2.0's latent pass; 2.5 has none).
public struct UnifiedVoice: Sendable {
    /// The speaker side of the prefix and what the mode adds to the text.
    enum SpeakerConditioner: Sendable {
        /// `conditioning_encoder` (Conformer), `perceiver_encoder`, and `speed_emb` `[2, D]`.
        case conformer(encoder: ConformerEncoder, perceiver: PerceiverResampler, speed: Tensor)
        /// `spk_emb_proj` (speaker embedding → D) and `lang_embedding` `[107, D]`.
        case campplus(projection: Linear, languages: Tensor)
    }

    public let configuration: UnifiedVoiceConfiguration
    let speaker: SpeakerConditioner
    let emotionEncoder: ConformerEncoder
    let emotionPerceiver: PerceiverResampler
    let emovecLayer: Linear
    let emoLayer: Linear
    /// `[number_text_tokens + 1, D]`, `[number_mel_codes, D]`.
    let textEmbedding: Tensor
    let melEmbedding: Tensor
    /// Learned positions `[max_text_tokens + 2, D]`, `[max_mel_tokens + 3, D]`.
    let textPositions: Tensor
    let melPositions: Tensor
    public private(set) var gpt: GPT2Model
    let finalNorm: LayerNorm
    private(set) var melHead: Linear

    init(_ loader: ParameterLoader, configuration c: UnifiedVoiceConfiguration) throws {
        configuration = c
        let d = c.modelDim
        switch c.speakerConditioning {
        case .conformer:
            speaker = .conformer(
                encoder: ConformerEncoder(loader.scoped("conditioning_encoder"), inputDim: c.conditioningInputDim,
                                          module: c.conditionModule),
                perceiver: PerceiverResampler(loader.scoped("perceiver_encoder"), dim: d,
                                              contextDim: c.conditionModule.outputSize, latents: c.conditionNumLatent,
                                              heads: c.conditionModule.attentionHeads,
                                              feedForwardMult: c.conditionModule.perceiverMult),
                speed: loader.tensor("speed_emb.weight", shape: [2, d]))
        case .campplus:
            speaker = .campplus(
                projection: Linear(loader.scoped("spk_emb_proj"), inFeatures: c.speakerEmbeddingDim, outFeatures: d),
                languages: loader.tensor("lang_embedding.weight", shape: [UnifiedVoiceConfiguration.languageRows, d]))
        }
        emotionEncoder = ConformerEncoder(loader.scoped("emo_conditioning_encoder"), inputDim: c.conditioningInputDim,
                                          module: c.emoConditionModule)
        emotionPerceiver = PerceiverResampler(loader.scoped("emo_perceiver_encoder"), dim: c.emotionDim,
                                              contextDim: c.emoConditionModule.outputSize, latents: 1,
                                              heads: c.emoConditionModule.attentionHeads,
                                              feedForwardMult: c.emoConditionModule.perceiverMult)
        emovecLayer = Linear(loader.scoped("emovec_layer"), inFeatures: c.emotionDim, outFeatures: d)
        emoLayer = Linear(loader.scoped("emo_layer"), inFeatures: d, outFeatures: d)
        textEmbedding = loader.tensor("text_embedding.weight", shape: [c.textVocabulary, d])
        melEmbedding = loader.tensor("mel_embedding.weight", shape: [c.numberMelCodes, d])
        textPositions = loader.tensor("text_pos_embedding.emb.weight", shape: [c.textPositions, d])
        melPositions = loader.tensor("mel_pos_embedding.emb.weight", shape: [c.melPositions, d])
        gpt = try GPT2Model(loader.scoped("gpt"), configuration: c.gpt2)
        finalNorm = LayerNorm(loader.scoped("final_norm"), dimensions: d)
        melHead = Linear(loader.scoped("mel_head"), inFeatures: d, outFeatures: c.numberMelCodes)
    }

    /// Loads `gpt.pth` (a bare state dict or one under `model`), checking the key set exactly; the training-only
    /// `text_head` is the one checkpoint entry not used. In the CAMPPlus mode the 2.0 speaker modules
    /// (`conditioning_encoder`, `perceiver_encoder`, `speed_emb`) are not used either and are ignored where a file
    /// carries them (upstream loads 2.5's `gpt.pth` with `strict=False`).
    public static func load(from store: WeightStore, configuration: UnifiedVoiceConfiguration) throws -> UnifiedVoice {
        try configuration.validate(source: store.source)
        let prefix = store.contains("model.gpt.ln_f.weight") ? "model." : ""
        let unused = configuration.speakerConditioning == .campplus
            ? ["text_head.", "conditioning_encoder.", "perceiver_encoder.", "speed_emb."] : ["text_head."]
        return try ModuleLoader.load("UnifiedVoice", from: store, prefix: prefix, ignoring: unused) { loader in
            try UnifiedVoice(loader, configuration: configuration)
        }
    }

    /// Loads `checkpoint` (`gpt.pth`) with the `gpt` section of `configYAML`, in the speaker conditioning of the
    /// file's generation (``UnifiedVoiceConfiguration/read(_:)``).
    public static func load(checkpoint: String, configYAML: String) throws -> UnifiedVoice {
        let configuration = try UnifiedVoiceConfiguration.read(ConfigYAMLDocument(contentsOf: configYAML))
        return try WeightStore.load(path: checkpoint) { try load(from: $0, configuration: configuration) }
    }

    /// The model with fp16 GPT-2 projection weights and mel head, for memory-bound decoding.
    /// - Parameter afterEachBlock: see ``GPT2Model/halfPrecision(afterEachBlock:)``.
    public func halfPrecision(afterEachBlock: () -> Void = {}) throws -> UnifiedVoice {
        var model = self
        model.gpt = try gpt.halfPrecision(afterEachBlock: afterEachBlock)
        model.melHead = try melHead.halfPrecision()
        return model
    }

    // MARK: Conditioning

    /// Speaker latents (`get_conditioning`, Conformer mode): features `[1, T, conditioning_input_dim]` →
    /// `[1, 32, model_dim]`.
    /// - Parameter length: the `cond_lengths` upstream passes (valid input frames; nil: all). `infer_v2` passes
    ///   `spk_cond_emb.shape[-1]`, the feature width, not the frame count (the "masks quirk").
    /// - Throws: ``ModelError/unsupported(component:reason:)`` in the CAMPPlus mode (see ``speakerToken(_:)``).
    public func conditioning(_ features: Tensor, length: Int? = nil) throws -> Tensor {
        guard case .conformer(let encoder, let perceiver, _) = speaker else {
            throw ModelError.unsupported(component: "UnifiedVoice",
                                         reason: "the CAMPPlus speaker mode (IndexTTS-2.5) has no speaker Conformer; its speaker token comes from speakerToken(_:)")
        }
        let (encoded, valid) = try encoder.encode(features, inputLength: length)
        return try perceiver(encoded, validFrames: valid)
    }

    /// The speaker token (CAMPPlus mode, `spk_emb_proj` as `inference_speech` applies it): the CAMPPlus embedding
    /// `[1, speaker_embedding_dim]` → `[1, 1, model_dim]`.
    /// - Throws: ``ModelError/unsupported(component:reason:)`` in the Conformer mode (see ``conditioning(_:length:)``),
    ///   ``ModelError/invalidInput(component:reason:)`` for another shape.
    public func speakerToken(_ embedding: Tensor) throws -> Tensor {
        guard case .campplus(let projection, _) = speaker else {
            throw ModelError.unsupported(component: "UnifiedVoice",
                                         reason: "the Conformer speaker mode (IndexTTS2) takes speaker features through conditioning(_:length:)")
        }
        guard embedding.shape == [1, configuration.speakerEmbeddingDim] else {
            throw ModelError.invalidInput(component: "UnifiedVoice.speakerToken",
                                          reason: "speaker embedding \(embedding.shape), expected [1, \(configuration.speakerEmbeddingDim)]")
        }
        return try projection(embedding).unsqueezed(1)
    }

    /// Positions the prefix takes: 32 latents + 2 speed rows (Conformer mode), 1 speaker token + 2 zero rows (CAMPPlus).
    public var prefixLength: Int {
        switch speaker {
        case .conformer: configuration.conditionNumLatent + 2
        case .campplus: 3
        }
    }

    /// The emotion vector of a clip (`get_emovec`): features `[1, T, conditioning_input_dim]` → `[1, model_dim]`.
    /// - Parameter length: `emo_cond_lengths` as in ``conditioning(_:length:)``.
    public func emotionVector(_ features: Tensor, length: Int? = nil) throws -> Tensor {
        let (encoded, valid) = try emotionEncoder.encode(features, inputLength: length)
        let pooled = try emotionPerceiver(encoded, validFrames: valid)  // [B, 1, emotion_dim]
        return try emoLayer(emovecLayer(pooled.squeezed(1)))
    }

    /// `merge_emovec`: `base + α·(emotion − base)`, where `base` is the speaker clip's own emotion vector.
    public static func mergeEmotionVectors(base: Tensor, emotion: Tensor, alpha: Float) throws -> Tensor {
        try base.adding(emotion.subtracting(base).affine(scale: alpha))
    }

    /// The conditioning prefix: `[latents + emovec, speed_emb[1], speed_emb[0]]`, `[1, latents + 2, model_dim]`
    /// (Conformer mode), or `[token + emovec, 0, 0]`, `[1, 3, model_dim]` (CAMPPlus mode).
    /// - Parameter conditioning: ``conditioning(_:length:)``'s latents or ``speakerToken(_:)``'s token.
    public func prefix(conditioning: Tensor, emotionVector: Tensor) throws -> Tensor {
        let d = configuration.modelDim
        guard conditioning.rank == 3, conditioning.shape[0] == 1, conditioning.shape[2] == d,
              emotionVector.shape == [1, d] else {
            throw ModelError.invalidInput(component: "UnifiedVoice.prefix",
                                          reason: "conditioning \(conditioning.shape), emotion vector \(emotionVector.shape) for width \(d)")
        }
        let conditioned = try conditioning.adding(emotionVector.unsqueezed(1))
        switch speaker {
        case .conformer(_, _, let speedEmbedding):
            let speed = try speedEmbedding.unsqueezed(0)  // [1, 2, D]
            return try Tensor.concatenate([conditioned, speed.sliced(axis: 1, range: 1..<2),
                                           speed.sliced(axis: 1, range: 0..<1)], axis: 1)
        case .campplus:
            return try Tensor.concatenate([conditioned, Tensor.zeros([1, 2, d])], axis: 1)
        }
    }

    /// `[start_text] + ids + [stop_text]`, each embedded with its learned position (and, given a language, that
    /// language's `lang_embedding` row on every position): `[1, L + 2, model_dim]`.
    /// - Parameter stripMarkers: drop ids equal to the start/stop text tokens first, as `prepare_gpt_inputs` does
    ///   for generation (the latent pass, `forward`, keeps them).
    func framedText(_ ids: [Int], stripMarkers: Bool, language: Int? = nil) throws -> Tensor {
        let c = configuration
        let body = stripMarkers ? ids.filter { $0 != c.startTextToken && $0 != c.stopTextToken } : ids
        let framed = [c.startTextToken] + body + [c.stopTextToken]
        if let bad = framed.first(where: { $0 < 0 || $0 >= c.textVocabulary }) {
            throw ModelError.invalidInput(component: "UnifiedVoice", reason: "text token \(bad) outside 0..<\(c.textVocabulary)")
        }
        guard framed.count <= c.textPositions else {
            throw ModelError.invalidInput(
                component: "UnifiedVoice",
                reason: "\(body.count) text tokens exceed max_text_tokens \(c.maxTextTokens); split the text into segments")
        }
        var embedded = try Tensor.embedding(textEmbedding, ids: framed)
            .adding(textPositions.sliced(axis: 0, range: 0..<framed.count))
        if let language {
            guard case .campplus(_, let languages) = speaker else {
                throw ModelError.invalidInput(component: "UnifiedVoice",
                                              reason: "a language id needs the CAMPPlus speaker mode (IndexTTS-2.5); IndexTTS2's GPT has no language embedding")
            }
            guard (0..<languages.shape[0]).contains(language) else {
                throw ModelError.invalidInput(component: "UnifiedVoice",
                                              reason: "language id \(language) outside 0..<\(languages.shape[0])")
            }
            embedded = try embedded.adding(languages.sliced(axis: 0, range: language..<(language + 1)))
        }
        return try embedded.unsqueezed(0)
    }

    /// The generation prompt `[prefix][start_text, text, stop_text]` (`prepare_gpt_inputs`, batch 1, no padding).
    /// - Parameter language: IndexTTS-2.5's `lang_to_token` id (`LANGUAGE_DICT` index: en 0, zh 1, es 3, ja 7,
    ///   ar 13, 105 for any other), added to every text position; nil adds none (2.0, or upstream's `langs=None`).
    public func promptEmbeddings(prefix: Tensor, textIDs: [Int], language: Int? = nil) throws -> Tensor {
        try Tensor.concatenate([prefix, framedText(textIDs, stripMarkers: true, language: language)], axis: 1)
    }

    /// Embeddings of mel codes at explicit learned positions: `[codes.count, model_dim]`.
    func melEmbeddings(_ codes: [Int], positions: [Int]) throws -> Tensor {
        let c = configuration
        if let bad = codes.first(where: { $0 < 0 || $0 >= c.numberMelCodes }) {
            throw ModelError.invalidInput(component: "UnifiedVoice", reason: "mel code \(bad) outside 0..<\(c.numberMelCodes)")
        }
        if let bad = positions.first(where: { $0 >= c.melPositions }) {
            throw ModelError.invalidInput(component: "UnifiedVoice",
                                          reason: "mel position \(bad) beyond max_mel_tokens \(c.maxMelTokens)")
        }
        return try Tensor.embedding(melEmbedding, ids: codes).adding(Tensor.embedding(melPositions, ids: positions))
    }

    /// `final_norm` then `mel_head`: hidden states after `ln_f` `[…, D]` → (normed `[…, D]`, logits `[…, codes]`).
    func head(_ hidden: Tensor) throws -> (normed: Tensor, logits: Tensor) {
        let normed = try finalNorm(hidden)
        return (normed, try melHead(normed))
    }

    // MARK: Latent pass

    /// The teacher-forced latent pass (`UnifiedVoice.forward` with `return_latent`): one causal pass over
    /// `[prefix][start_text, text, stop_text][start_mel, codes, stop_mel]` with contiguous mel positions, returning
    /// `final_norm(ln_f(h))` of the mel part minus its last two rows: `[1, codes.count, model_dim]` (row i is the
    /// state that predicts code i). S2M consumes it after its `gpt_layer`.
    public func latents(conditioning: Tensor, emotionVector: Tensor, textIDs: [Int], codes: [Int]) throws -> Tensor {
        try latents(prompt: latentPrompt(conditioning: conditioning, emotionVector: emotionVector, textIDs: textIDs),
                    codes: codes)
    }

    /// The latent pass' prompt `[prefix][start_text, text, stop_text]` (text markers kept, as `forward` keeps them).
    func latentPrompt(conditioning: Tensor, emotionVector: Tensor, textIDs: [Int]) throws -> Tensor {
        try Tensor.concatenate([prefix(conditioning: conditioning, emotionVector: emotionVector),
                                framedText(textIDs, stripMarkers: false)], axis: 1)
    }

    /// The whole latent pass after `prompt` (``latentPrompt(conditioning:emotionVector:textIDs:)``).
    func latents(prompt: Tensor, codes: [Int]) throws -> Tensor {
        let c = configuration
        let melIDs = [c.startMelToken] + codes + [c.stopMelToken]
        let mel = try melEmbeddings(melIDs, positions: Array(0..<melIDs.count)).unsqueezed(0)
        let sequence = try Tensor.concatenate([prompt, mel], axis: 1)
        let hidden = try gpt(sequence, state: gpt.makeState(batch: 1, capacity: sequence.shape[1]))
        let start = prompt.shape[1]
        return try finalNorm(hidden.sliced(axis: 1, range: start..<(start + codes.count)))
    }

    /// The latent pass after generation's prompt pass: the same result as
    /// ``latents(conditioning:emotionVector:textIDs:codes:)``, computing only the mel part when `promptCache` holds
    /// this pass' own `[prefix][start_text, text, stop_text]` (generation strips text ids equal to the start/stop
    /// markers and this pass keeps them, so a text holding them, or another conditioning, runs the whole pass). The
    /// mel part runs `[start_mel, codes[0 ..< n − 1]]` at mel positions `0 ..< n` after the cached prompt: the rows
    /// the whole pass keeps (its last code and `stop_mel` only produce the two rows it drops). The cache's state is
    /// overwritten after the prompt; `promptCache` is released before returning.
    /// - Returns: `[1, codes.count, model_dim]`, and the positions run through the stack: `codes.count` after the
    ///   cached prompt, else the whole pass' prompt + `codes.count` + 2.
    public func latents(conditioning: Tensor, emotionVector: Tensor, textIDs: [Int], codes: [Int],
                        promptCache: PromptCache) throws -> (latents: Tensor, positions: Int) {
        defer { promptCache.release() }
        let c = configuration
        let prompt = try latentPrompt(conditioning: conditioning, emotionVector: emotionVector, textIDs: textIDs)
        let length = prompt.shape[1]
        guard !codes.isEmpty, let cached = promptCache.prompt, let state = promptCache.state, cached.shape == prompt.shape,
              state.batch == 1, state.length >= length, state.capacity >= length + codes.count,
              cached.contiguous().scalars == prompt.contiguous().scalars else {
            return (try latents(prompt: prompt, codes: codes), length + codes.count + 2)
        }
        try state.truncate(to: length)
        let melIDs = [c.startMelToken] + codes.dropLast()
        let mel = try melEmbeddings(melIDs, positions: Array(0..<melIDs.count)).unsqueezed(0)
        return (try finalNorm(gpt(mel, state: state)), codes.count)
    }
}
