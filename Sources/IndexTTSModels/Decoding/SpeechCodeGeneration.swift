import IndexTTSTensor

/// How ``UnifiedVoice/generate(prompt:options:random:)`` picks codes. The defaults are IndexTTS2's
/// (`infer_v2.py`): beam-sample with 3 beams, temperature 0.8, top-k 30, top-p 0.8, repetition penalty 10,
/// length penalty 0, at most 1500 codes.
public struct GenerationOptions: Codable, Sendable, Equatable {
    /// Sample (true) or pick the best scores (false). With `numBeams` 1: sampling or greedy search;
    /// with more: beam-sample or beam search.
    public var doSample: Bool = true
    public var numBeams: Int = 3
    public var temperature: Float = 0.8
    public var topK: Int = 30
    public var topP: Float = 0.8
    /// Applied to every id already in the sequence, including the prompt's placeholder ids (1 and start_mel).
    public var repetitionPenalty: Float = 10
    public var lengthPenalty: Float = 0
    /// Most codes to generate (IndexTTS2's `max_mel_tokens` generation cap; at most the config's `max_mel_tokens`).
    public var maxNewTokens: Int = 1500
    /// The stop code is masked (−∞) until this many codes exist (Hugging Face's `min_new_tokens`, applied after the
    /// repetition penalty as its `MinNewTokensLengthLogitsProcessor`). Equal to `maxNewTokens` it forces exactly that
    /// many codes (benchmarks at a fixed length).
    public var minNewTokens: Int = 0
    /// Keep the normed hidden state that predicted each code (an alternative to the latent pass).
    public var collectHiddenStates: Bool = false

    public init() {}

    /// IndexTTS2's defaults.
    public static let indexTTS2 = GenerationOptions()

    /// Greedy search (with the repetition penalty, as upstream applies it to raw logits).
    public static var greedy: GenerationOptions {
        var o = GenerationOptions()
        o.doSample = false
        o.numBeams = 1
        return o
    }

    func validate(maxMelTokens: Int) throws {
        func fail(_ reason: String) -> ModelError { .invalidInput(component: "GenerationOptions", reason: reason) }
        if numBeams < 1 { throw fail("num_beams must be at least 1, got \(numBeams)") }
        if doSample && !(temperature > 0) { throw fail("temperature must be positive, got \(temperature)") }
        if !(topP > 0 && topP <= 1) { throw fail("top_p must be in (0, 1], got \(topP)") }
        if topK < 0 { throw fail("top_k must be ≥ 0 (0 disables it), got \(topK)") }
        if !(repetitionPenalty > 0) { throw fail("repetition_penalty must be positive, got \(repetitionPenalty)") }
        if maxNewTokens < 1 || maxNewTokens > maxMelTokens {
            throw fail("max_mel_tokens must be in 1...\(maxMelTokens) (the model's position table), got \(maxNewTokens)")
        }
        if minNewTokens < 0 || minNewTokens > maxNewTokens {
            throw fail("min_new_tokens must be in 0...\(maxNewTokens) (max_mel_tokens), got \(minNewTokens)")
        }
    }
}

/// Why generation ended.
public enum GenerationStop: String, Codable, Sendable {
    /// The stop code (`stop_mel_token`) was chosen.
    case stopToken = "stop_token"
    /// `maxNewTokens` codes were generated without a stop code: the segment may be cut off.
    case maxLength = "max_length"
}

/// What a streaming caller sees after each decoding step (``UnifiedVoice/generate(prompt:options:random:onStep:)``):
/// the running best hypothesis so far. With beams it is beam 0 after the step's reordering (the highest-scoring live
/// beam), so a later step may replace earlier codes when another beam overtakes it; with one beam codes only grow.
public struct GenerationStep {
    /// Decoding steps run so far.
    public var step: Int
    /// The running best hypothesis' codes (no stop code).
    public var codes: [Int]
    /// With ``GenerationOptions/collectHiddenStates``: its hidden states, one `model_dim` row per code (else empty).
    public var hiddenStates: [[Float]]
}

/// Codes from one generation.
public struct GenerationResult: Sendable {
    /// Semantic codes without the stop code.
    public var codes: [Int]
    public var stop: GenerationStop
    /// Decoding steps run (forward passes after the prompt).
    public var steps: Int
    /// Beam searches: the hypothesis' score (sum of processed log-probabilities / length^penalty).
    public var score: Float?
    /// With ``GenerationOptions/collectHiddenStates``: `[1, codes.count, model_dim]`, `final_norm` of the state that
    /// predicted each code (positions follow generation's quirk, so it differs slightly from the latent pass).
    public var hiddenStates: Tensor?
}

/// Generation's prompt pass kept for the latent pass: the prompt `[1, S, model_dim]` and a single-sequence state whose
/// first S positions hold its keys and values in every layer. ``UnifiedVoice/latents(conditioning:emotionVector:textIDs:codes:promptCache:)``
/// starts from them when its own `[prefix][start_text, text, stop_text]` is the same prompt — the same embeddings at
/// the same positions give the same keys and values in a causal stack — instead of running those positions again.
/// Filled by ``UnifiedVoice/generate(prompt:options:random:batcher:promptCache:onStep:)`` and read by the latent pass of
/// the same model (nothing here tells two models apart). Per request, not `Sendable`; it holds the state's memory
/// (the prompt's positions, and with one sequence the codes generation appended) until released.
public final class PromptCache {
    /// The prompt whose keys and values ``state`` holds (nil until generation has run its prompt pass).
    public private(set) var prompt: Tensor?
    private(set) var state: GPT2Model.State?

    public init() {}

    func fill(prompt: Tensor, state: GPT2Model.State) {
        self.prompt = prompt
        self.state = state
    }

    /// Forgets the prompt and lets its state's memory go.
    public func release() {
        prompt = nil
        state = nil
    }
}

extension UnifiedVoice {
    /// Generates semantic codes after `prompt` (``promptEmbeddings(prefix:textIDs:)``, `[1, S, model_dim]`), as
    /// `inference_speech` → Hugging Face `generate` does: `start_mel` at mel position 0, the k-th generated code fed
    /// back at position k + 2, KV-cached; processors and beam bookkeeping as transformers 4.52.1.
    /// - Parameters:
    ///   - batcher: where concurrent generations on this model share their decoding steps' passes over the weights
    ///     (``DecodeStepBatcher``); nil runs every step alone. The prompt's pass always runs alone.
    ///   - promptCache: receives the prompt pass' keys and values for the latent pass (``PromptCache``); nil keeps
    ///     nothing.
    ///   - onStep: called after every step that extends the hypotheses (not after the final stop); an error it
    ///     throws ends generation at once and is rethrown (cancellation within one step).
    public func generate<R: UniformRandomSource>(prompt: Tensor, options: GenerationOptions = .indexTTS2,
                                                 random: inout R, batcher: DecodeStepBatcher? = nil,
                                                 promptCache: PromptCache? = nil,
                                                 onStep: ((GenerationStep) throws -> Void)? = nil) throws -> GenerationResult {
        let c = configuration
        try options.validate(maxMelTokens: c.maxMelTokens)
        guard prompt.rank == 3, prompt.shape[0] == 1, prompt.shape[2] == c.modelDim else {
            throw ModelError.invalidInput(component: "UnifiedVoice.generate",
                                          reason: "prompt \(prompt.shape), expected [1, S, \(c.modelDim)]")
        }
        let capacity = prompt.shape[1] + 1 + options.maxNewTokens
        let state = gpt.makeState(batch: 1, capacity: capacity)
        let start = try melEmbeddings([c.startMelToken], positions: [0]).unsqueezed(0)
        let first = try step(Tensor.concatenate([prompt, start], axis: 1), state: state, keepLast: true)
        // Beams continue a copy (`broadcast`); one sequence appends after the prompt, whose positions stay as written.
        promptCache?.fill(prompt: prompt, state: state)
        // HF's input_ids for the prompt are placeholder 1s and start_mel; the repetition penalty sees them.
        let promptIDs: Set<Int> = [1, c.startMelToken]
        batcher?.join()
        defer { batcher?.leave() }
        let advance: Advance = { embeddings, state in
            if let batcher { return try batcher.step(embeddings, state: state) }
            return try self.step(embeddings, state: state, keepLast: true)
        }
        if options.numBeams == 1 {
            return try sampleOrGreedy(first: first, state: state, promptIDs: promptIDs, options: options, random: &random,
                                      advance: advance, onStep: onStep)
        }
        return try beamSearch(first: first, state: state.broadcast(toBatch: options.numBeams), promptIDs: promptIDs,
                              options: options, random: &random, advance: advance, onStep: onStep)
    }

    /// Logits of every decoding step when `codes` are fed back as generation would feed them: row 0 after the
    /// prompt and `start_mel`, row k + 1 after code k (at mel position k + 2): `[codes.count + 1, number_mel_codes]`.
    /// Scores a given code sequence in one causal pass.
    public func teacherForcedLogits(prompt: Tensor, codes: [Int]) throws -> Tensor {
        let c = configuration
        guard prompt.rank == 3, prompt.shape[0] == 1, prompt.shape[2] == c.modelDim else {
            throw ModelError.invalidInput(component: "UnifiedVoice.teacherForcedLogits",
                                          reason: "prompt \(prompt.shape), expected [1, S, \(c.modelDim)]")
        }
        let mel = try melEmbeddings([c.startMelToken] + codes, positions: [0] + codes.indices.map { $0 + 2 }).unsqueezed(0)
        let sequence = try Tensor.concatenate([prompt, mel], axis: 1)
        let hidden = try gpt(sequence, state: gpt.makeState(batch: 1, capacity: sequence.shape[1]))
        let steps = try hidden.sliced(axis: 1, range: prompt.shape[1]..<sequence.shape[1])
        return try head(steps).logits.squeezed(0)
    }

    /// Seeded convenience.
    public func generate(prompt: Tensor, options: GenerationOptions = .indexTTS2, seed: UInt64) throws -> GenerationResult {
        var random = SeededRandomSource(seed: seed)
        return try generate(prompt: prompt, options: options, random: &random)
    }

    /// Runs `embeddings` `[B, T, D]` and returns, per batch item, the last position's logits and normed hidden state.
    private func step(_ embeddings: Tensor, state: GPT2Model.State, keepLast: Bool) throws -> [(logits: [Float], hidden: [Float])] {
        let hidden = try gpt(embeddings, state: state)
        let last = try hidden.sliced(axis: 1, range: (hidden.shape[1] - 1)..<hidden.shape[1])
        let (normed, logits) = try head(last)
        let (batch, d, v) = (embeddings.shape[0], configuration.modelDim, configuration.numberMelCodes)
        let n = normed.contiguous().scalars, l = logits.contiguous().scalars
        return (0..<batch).map { b in (Array(l[(b * v)..<((b + 1) * v)]), Array(n[(b * d)..<((b + 1) * d)])) }
    }

    /// Decoding steps of several requests in one pass over the weights (``DecodeStepBatcher``): `embeddings[i]`
    /// `[batch_i, 1, D]` after what `states[i]` holds. Returns per request its rows' logits and normed hidden states.
    func batchedStep(_ embeddings: [Tensor], states: [GPT2Model.State]) throws -> [DecodeStepBatcher.Rows] {
        if embeddings.count == 1 { return [try step(embeddings[0], state: states[0], keepLast: true)] }
        let hidden = try gpt(Tensor.concatenate(embeddings, axis: 0), states: states)
        let (normed, logits) = try head(hidden)
        let (d, v) = (configuration.modelDim, configuration.numberMelCodes)
        let n = normed.contiguous().scalars, l = logits.contiguous().scalars
        var row = 0
        return embeddings.map { e in
            defer { row += e.shape[0] }
            return (row..<(row + e.shape[0])).map { b in (Array(l[(b * v)..<((b + 1) * v)]), Array(n[(b * d)..<((b + 1) * d)])) }
        }
    }

    /// One decoding step after what a state holds: alone, or through a ``DecodeStepBatcher``.
    private typealias Advance = (_ embeddings: Tensor, _ state: GPT2Model.State) throws -> DecodeStepBatcher.Rows

    /// Embeddings of one fed-back code per batch item at mel position `generated + 1`: `[B, 1, D]`.
    private func feedback(_ tokens: [Int], generated: Int) throws -> Tensor {
        try melEmbeddings(tokens, positions: Array(repeating: generated + 1, count: tokens.count)).unsqueezed(1)
    }

    private func hiddenTensor(_ rows: [[Float]], collect: Bool) throws -> Tensor? {
        guard collect else { return nil }
        return try Tensor(shape: [1, rows.count, configuration.modelDim], scalars: rows.flatMap { $0 })
    }

    /// `_sample`: processors on raw logits, then argmax or one draw from the softmax.
    private func sampleOrGreedy<R: UniformRandomSource>(first: [(logits: [Float], hidden: [Float])], state: GPT2Model.State,
                                                        promptIDs: Set<Int>, options: GenerationOptions,
                                                        random: inout R, advance: Advance,
                                                        onStep: ((GenerationStep) throws -> Void)?) throws -> GenerationResult {
        let stopCode = configuration.stopMelToken
        var current = first[0]
        var codes: [Int] = []
        var hidden: [[Float]] = []
        var seen = promptIDs
        for stepIndex in 0..<options.maxNewTokens {
            var scores = current.logits
            LogitsProcessing.repetitionPenalty(&scores, ids: seen, penalty: options.repetitionPenalty)
            if stepIndex < options.minNewTokens { scores[stopCode] = -.infinity }
            let token: Int
            if options.doSample {
                LogitsProcessing.temperature(&scores, options.temperature)
                if options.topK > 0 { LogitsProcessing.topK(&scores, k: options.topK, minKeep: 1) }
                LogitsProcessing.topP(&scores, p: options.topP, minKeep: 1)
                let picks = LogitsProcessing.sampleWithoutReplacement(LogitsProcessing.softmax(scores), count: 1, random: &random)
                token = picks.first ?? LogitsProcessing.argmax(scores)
            } else {
                token = LogitsProcessing.argmax(scores)
            }
            if token == stopCode {
                return GenerationResult(codes: codes, stop: .stopToken, steps: stepIndex + 1, score: nil,
                                        hiddenStates: try hiddenTensor(hidden, collect: options.collectHiddenStates))
            }
            codes.append(token)
            seen.insert(token)
            if options.collectHiddenStates { hidden.append(current.hidden) }
            try onStep?(GenerationStep(step: stepIndex + 1, codes: codes, hiddenStates: hidden))
            if stepIndex + 1 == options.maxNewTokens { break }
            current = try advance(feedback([token], generated: codes.count), state)[0]
        }
        return GenerationResult(codes: codes, stop: .maxLength, steps: options.maxNewTokens, score: nil,
                                hiddenStates: try hiddenTensor(hidden, collect: options.collectHiddenStates))
    }

    /// `_beam_search` with `BeamSearchScorer` (batch 1): log-softmax, processors (+ warpers when sampling), beam
    /// scores added, then 2·beams candidates by sampling without replacement from the softmax over beams × codes
    /// (sorted by score) or by top-k.
    private func beamSearch<R: UniformRandomSource>(first: [(logits: [Float], hidden: [Float])], state: GPT2Model.State,
                                                    promptIDs: Set<Int>, options: GenerationOptions,
                                                    random: inout R, advance: Advance,
                                                    onStep: ((GenerationStep) throws -> Void)?) throws -> GenerationResult {
        let beams = options.numBeams, vocabulary = configuration.numberMelCodes, stopCode = configuration.stopMelToken
        var current = Array(repeating: first[0], count: beams)
        var beamScores = [Float](repeating: -1e9, count: beams)
        beamScores[0] = 0
        var tokens = Array(repeating: [Int](), count: beams)
        var hidden = Array(repeating: [[Float]](), count: beams)
        var hypotheses = BeamHypotheses(capacity: beams, lengthPenalty: options.lengthPenalty)
        // The batch item of the state that holds beam b's keys and values (see ``beamSlots(parents:slots:)``).
        var slots = Array(0..<beams)
        var done = false
        var steps = 0
        for stepIndex in 0..<options.maxNewTokens {
            steps = stepIndex + 1
            var flat: [Float] = []
            flat.reserveCapacity(beams * vocabulary)
            for b in 0..<beams {
                var scores = LogitsProcessing.logSoftmax(current[b].logits)
                LogitsProcessing.repetitionPenalty(&scores, ids: promptIDs.union(tokens[b]), penalty: options.repetitionPenalty)
                if stepIndex < options.minNewTokens { scores[stopCode] = -.infinity }
                if options.doSample {
                    LogitsProcessing.temperature(&scores, options.temperature)
                    if options.topK > 0 { LogitsProcessing.topK(&scores, k: options.topK, minKeep: 2) }
                    LogitsProcessing.topP(&scores, p: options.topP, minKeep: 2)
                }
                flat.append(contentsOf: scores.map { $0 + beamScores[b] })
            }
            let keep = 2 * beams
            var candidates: [Int]
            if options.doSample {
                candidates = LogitsProcessing.sampleWithoutReplacement(LogitsProcessing.softmax(flat), count: keep, random: &random)
                if candidates.count < keep {
                    // Upstream (torch.multinomial) raises when fewer than 2·beams candidates have probability; we
                    // complete the set with the best remaining scores instead.
                    let taken = Set(candidates)
                    candidates += flat.indices.filter { !taken.contains($0) }.sorted { flat[$0] > flat[$1] }.prefix(keep - candidates.count)
                }
                candidates = candidates.enumerated().sorted {
                    flat[$0.element] != flat[$1.element] ? flat[$0.element] > flat[$1.element] : $0.offset < $1.offset
                }.map(\.element)
            } else {
                candidates = Array(flat.indices.sorted { flat[$0] != flat[$1] ? flat[$0] > flat[$1] : $0 < $1 }.prefix(keep))
            }
            // BeamSearchScorer.process
            var next: [(score: Float, token: Int, beam: Int)] = []
            for (rank, candidate) in candidates.enumerated() {
                let (beam, token) = (candidate / vocabulary, candidate % vocabulary)
                if token == stopCode {
                    if rank >= beams { continue }
                    hypotheses.add(tokens: tokens[beam], hidden: hidden[beam], sumLogProbs: flat[candidate],
                                   generatedLength: stepIndex + 1, endedWithStop: true)
                } else {
                    next.append((flat[candidate], token, beam))
                }
                if next.count == beams { break }
            }
            guard next.count == beams else {
                throw ModelError.invalidInput(component: "UnifiedVoice.generate", reason: "beam search ran out of candidates")
            }
            let bestCandidate = candidates.map { flat[$0] }.max() ?? -.infinity
            done = done || hypotheses.isDone(bestSumLogProbs: bestCandidate, generatedLength: stepIndex + 1)
            beamScores = next.map(\.score)
            hidden = next.map { options.collectHiddenStates ? hidden[$0.beam] + [current[$0.beam].hidden] : [] }
            tokens = next.map { tokens[$0.beam] + [$0.token] }
            try onStep?(GenerationStep(step: stepIndex + 1, codes: tokens[0], hiddenStates: hidden[0]))
            if done || stepIndex + 1 == options.maxNewTokens { break }
            let (nextSlots, sources) = Self.beamSlots(parents: next.map(\.beam), slots: slots)
            try state.reorder(sources)
            slots = nextSlots
            // The state's batch items in slot order: item slots[b] is fed beam b's token, and its row is beam b's.
            var fed = [Int](repeating: 0, count: beams)
            for b in 0..<beams { fed[slots[b]] = next[b].token }
            let rows = try advance(feedback(fed, generated: stepIndex + 1), state)
            current = slots.map { rows[$0] }
        }
        if !done {
            for b in 0..<beams {
                hypotheses.add(tokens: tokens[b], hidden: hidden[b], sumLogProbs: beamScores[b],
                               generatedLength: tokens[b].count, endedWithStop: false)
            }
        }
        guard let best = hypotheses.best else {
            throw ModelError.invalidInput(component: "UnifiedVoice.generate", reason: "beam search kept no hypothesis")
        }
        return GenerationResult(codes: best.tokens, stop: best.endedWithStop ? .stopToken : .maxLength, steps: steps,
                                score: best.score, hiddenStates: try hiddenTensor(best.hidden, collect: options.collectHiddenStates))
    }
}

extension UnifiedVoice {
    /// Where the beams of the next step keep their keys and values, given each new beam's parent (`parents[b]`, a
    /// beam of this step) and the batch item each beam of this step uses (`slots`). The first new beam descending from
    /// a parent takes over the parent's item as it is; a parent's further descendants take the items of beams that
    /// left no descendant, which receive a copy of the parent's. Returns the new beams' items and the reorder that
    /// makes it so (``GPT2Model/State/reorder(_:)``: item i takes item `sources[i]`; unchanged items are their own
    /// source). Beam search only permutes and duplicates its beams, so a permutation copies nothing (moving the
    /// beams' caches into beam order copied every moved beam's keys and values, ≈ 61 MB per beam at 250 generated
    /// codes at full size), and each duplicate copies one item. The cache's items are then not in beam order: the
    /// step feeds item `slots[b]` beam b's token and reads beam b's row there. Every item is computed alone, so the
    /// rows are those of the beam-ordered cache bit for bit.
    static func beamSlots(parents: [Int], slots: [Int]) -> (slots: [Int], sources: [Int]) {
        let count = slots.count
        var next = [Int](repeating: -1, count: count)
        var claimed = [Bool](repeating: false, count: count)  // per parent beam: its item has a new owner
        var inUse = [Bool](repeating: false, count: count)  // per item
        for (b, parent) in parents.enumerated() where !claimed[parent] {
            claimed[parent] = true
            next[b] = slots[parent]
            inUse[slots[parent]] = true
        }
        var sources = Array(0..<count)
        var free = (0..<count).filter { !inUse[$0] }.makeIterator()
        for (b, parent) in parents.enumerated() where next[b] < 0 {
            guard let item = free.next() else { break }  // unreachable: as many items as beams
            next[b] = item
            sources[item] = slots[parent]
        }
        return (next, sources)
    }
}
