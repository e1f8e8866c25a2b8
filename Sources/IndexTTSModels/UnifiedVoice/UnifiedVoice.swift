import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// IndexTTS2's text-to-semantic GPT (`indextts/gpt/model_v2.py::UnifiedVoice`), loaded from `gpt.pth` by verbatim
/// keys. Immutable after load; per-request decoding state lives in ``GPT2Model/State``.
///
/// Pipeline pieces (batch 1, shapes `[batch, time, channels]`):
/// - ``conditioning(_:)``: speaker features `[1, T, 1024]` → Conformer → Perceiver → `[1, 32, model_dim]`.
/// - ``emotionVector(_:)``: emotion features → Conformer → Perceiver(1 latent) → `emovec_layer` → `emo_layer`.
/// - ``prefix(conditioning:emotionVector:)``: `[latents + emovec, speed_emb[1], speed_emb[0]]`, `[1, 34, model_dim]`.
/// - ``promptEmbeddings(prefix:textIDs:)``, ``generate(prompt:options:random:)``, ``latents(conditioning:emotionVector:textIDs:codes:)``.
public struct UnifiedVoice: Sendable {
    public let configuration: UnifiedVoiceConfiguration
    let conditioningEncoder: ConformerEncoder
    let perceiver: PerceiverResampler
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
    /// `[2, D]`.
    let speedEmbedding: Tensor
    public private(set) var gpt: GPT2Model
    let finalNorm: LayerNorm
    private(set) var melHead: Linear

    init(_ loader: ParameterLoader, configuration c: UnifiedVoiceConfiguration) throws {
        configuration = c
        let d = c.modelDim
        conditioningEncoder = ConformerEncoder(loader.scoped("conditioning_encoder"), inputDim: c.conditioningInputDim,
                                               module: c.conditionModule)
        perceiver = PerceiverResampler(loader.scoped("perceiver_encoder"), dim: d, contextDim: c.conditionModule.outputSize,
                                       latents: c.conditionNumLatent, heads: c.conditionModule.attentionHeads,
                                       feedForwardMult: c.conditionModule.perceiverMult)
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
        speedEmbedding = loader.tensor("speed_emb.weight", shape: [2, d])
        gpt = try GPT2Model(loader.scoped("gpt"), configuration: c.gpt2)
        finalNorm = LayerNorm(loader.scoped("final_norm"), dimensions: d)
        melHead = Linear(loader.scoped("mel_head"), inFeatures: d, outFeatures: c.numberMelCodes)
    }

    /// Loads `gpt.pth` (a bare state dict or one under `model`), checking the key set exactly; the training-only
    /// `text_head` is the one checkpoint entry not used.
    public static func load(from store: WeightStore, configuration: UnifiedVoiceConfiguration) throws -> UnifiedVoice {
        try configuration.validate(source: store.source)
        let prefix = store.contains("model.gpt.ln_f.weight") ? "model." : ""
        return try ModuleLoader.load("UnifiedVoice", from: store, prefix: prefix, ignoring: ["text_head."]) { loader in
            try UnifiedVoice(loader, configuration: configuration)
        }
    }

    /// Loads `checkpoint` (`gpt.pth`) with the `gpt` section of `configYAML`.
    public static func load(checkpoint: String, configYAML: String) throws -> UnifiedVoice {
        let configuration = try UnifiedVoiceConfiguration.load(configYAML: configYAML)
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

    /// Speaker latents (`get_conditioning`): features `[1, T, conditioning_input_dim]` → `[1, 32, model_dim]`.
    /// - Parameter length: the `cond_lengths` upstream passes (valid input frames; nil: all). `infer_v2` passes
    ///   `spk_cond_emb.shape[-1]`, the feature width, not the frame count (the "masks quirk").
    public func conditioning(_ features: Tensor, length: Int? = nil) throws -> Tensor {
        let (encoded, valid) = try conditioningEncoder.encode(features, inputLength: length)
        return try perceiver(encoded, validFrames: valid)
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

    /// The conditioning prefix `[latents + emovec, speed_emb[1], speed_emb[0]]`: `[1, latents + 2, model_dim]`.
    public func prefix(conditioning: Tensor, emotionVector: Tensor) throws -> Tensor {
        let d = configuration.modelDim
        guard conditioning.rank == 3, conditioning.shape[0] == 1, conditioning.shape[2] == d,
              emotionVector.shape == [1, d] else {
            throw ModelError.invalidInput(component: "UnifiedVoice.prefix",
                                          reason: "conditioning \(conditioning.shape), emotion vector \(emotionVector.shape) for width \(d)")
        }
        let conditioned = try conditioning.adding(emotionVector.unsqueezed(1))
        let speed = try speedEmbedding.unsqueezed(0)  // [1, 2, D]
        return try Tensor.concatenate([conditioned, speed.sliced(axis: 1, range: 1..<2), speed.sliced(axis: 1, range: 0..<1)],
                                      axis: 1)
    }

    /// `[start_text] + ids + [stop_text]`, each embedded with its learned position: `[1, L + 2, model_dim]`.
    /// - Parameter stripMarkers: drop ids equal to the start/stop text tokens first, as `prepare_gpt_inputs` does
    ///   for generation (the latent pass, `forward`, keeps them).
    func framedText(_ ids: [Int], stripMarkers: Bool) throws -> Tensor {
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
        let tokens = try Tensor.embedding(textEmbedding, ids: framed)
        return try tokens.adding(textPositions.sliced(axis: 0, range: 0..<framed.count)).unsqueezed(0)
    }

    /// The generation prompt `[prefix][start_text, text, stop_text]` (`prepare_gpt_inputs`, batch 1, no padding).
    public func promptEmbeddings(prefix: Tensor, textIDs: [Int]) throws -> Tensor {
        try Tensor.concatenate([prefix, framedText(textIDs, stripMarkers: true)], axis: 1)
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
