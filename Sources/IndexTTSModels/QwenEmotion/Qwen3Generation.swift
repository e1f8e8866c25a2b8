import Foundation
import IndexTTSTensor

/// What ``Qwen3CausalLM/generate(prompt:configuration:maxNewTokens:random:)`` produced.
public struct Qwen3GenerationResult: Sendable, Equatable {
    /// The new tokens, the stop token included when one ended the run (as `generate` returns them).
    public var tokens: [Int]
    /// True when a stop id ended the run, false when `maxNewTokens` did.
    public var stoppedAtEOS: Bool
    /// Seconds spent on the prompt (prefill) and on the generated tokens.
    public var prefillSeconds: Double
    public var decodeSeconds: Double
}

extension Qwen3CausalLM {
    /// Decodes as Hugging Face `generate` does with `configuration` (a folder's `generation_config.json`): greedy
    /// (`argmax`, first index on ties) or sampling (repetition penalty over prompt and output, temperature, top-k,
    /// top-p with transformers 4.52.1's warpers, then one inverse-CDF draw from `random` per token, the stand-in for
    /// `torch.multinomial` the fixtures record), stopping after a stop id or `maxNewTokens` tokens.
    public func generate<R: UniformRandomSource>(prompt: [Int], configuration g: Qwen3GenerationConfiguration,
                                                 maxNewTokens: Int, random: inout R) throws -> Qwen3GenerationResult {
        guard maxNewTokens >= 1 else {
            throw ModelError.invalidInput(component: "Qwen3.generate", reason: "maxNewTokens \(maxNewTokens) must be at least 1")
        }
        try g.validate()
        let state = try makeState(capacity: prompt.count + maxNewTokens)
        let clock = ContinuousClock()
        var start = clock.now
        var logits = try forward(prompt, state: state)
        let prefill = clock.now - start
        start = clock.now
        let stops = Set(g.eosTokenIds)
        var seen = Set(prompt)
        var tokens: [Int] = []
        var stopped = false
        while true {
            var scores = logits.scalars
            LogitsProcessing.repetitionPenalty(&scores, ids: seen, penalty: Float(g.repetitionPenalty))
            let token: Int
            if g.doSample {
                LogitsProcessing.temperature(&scores, Float(g.temperature))
                if g.topK > 0 { LogitsProcessing.topK(&scores, k: g.topK, minKeep: 1) }
                if g.topP < 1 { LogitsProcessing.topP(&scores, p: Float(g.topP), minKeep: 1) }
                token = LogitsProcessing.sampleWithoutReplacement(LogitsProcessing.softmax(scores), count: 1, random: &random)
                    .first ?? LogitsProcessing.argmax(scores)
            } else {
                token = LogitsProcessing.argmax(scores)
            }
            tokens.append(token)
            seen.insert(token)
            if stops.contains(token) { stopped = true; break }
            if tokens.count >= maxNewTokens { break }
            logits = try forward([token], state: state)
        }
        let decode = clock.now - start
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        return Qwen3GenerationResult(tokens: tokens, stoppedAtEOS: stopped, prefillSeconds: seconds(prefill),
                                     decodeSeconds: seconds(decode))
    }

    /// Seeded decoding (``SeededRandomSource``); greedy configurations draw nothing.
    public func generate(prompt: [Int], configuration: Qwen3GenerationConfiguration, maxNewTokens: Int,
                         seed: UInt64) throws -> Qwen3GenerationResult {
        var random = SeededRandomSource(seed: seed)
        return try generate(prompt: prompt, configuration: configuration, maxNewTokens: maxNewTokens, random: &random)
    }
}
