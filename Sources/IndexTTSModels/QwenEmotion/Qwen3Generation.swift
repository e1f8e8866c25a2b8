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
            let token = Self.pick(logits.scalars, seen: seen, configuration: g, random: &random)
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

    /// One decoding step on a row of logits as `generate` does it: repetition penalty over `seen`, then argmax, or
    /// temperature, top-k, top-p, softmax and one inverse-CDF draw.
    static func pick<R: UniformRandomSource>(_ logits: [Float], seen: Set<Int>, configuration g: Qwen3GenerationConfiguration,
                                            random: inout R) -> Int {
        var scores = logits
        LogitsProcessing.repetitionPenalty(&scores, ids: seen, penalty: Float(g.repetitionPenalty))
        guard g.doSample else { return LogitsProcessing.argmax(scores) }
        LogitsProcessing.temperature(&scores, Float(g.temperature))
        // Top-k first: only the k best (and ties) stay finite, so top-p, softmax and the draw run on those candidates
        // in index order, which gives the same token as on the full row (−∞ entries have probability 0 and add
        // nothing to the cumulative sums) without sorting 151,936 scores per token.
        var indices = Array(scores.indices)
        if g.topK > 0 && g.topK < scores.count {
            let threshold = kthLargest(scores, g.topK)
            indices = indices.filter { scores[$0] >= threshold }
        }
        var candidates = indices.map { scores[$0] }
        if g.topP < 1 { LogitsProcessing.topP(&candidates, p: Float(g.topP), minKeep: 1) }
        let choice = LogitsProcessing.sampleWithoutReplacement(LogitsProcessing.softmax(candidates), count: 1, random: &random)
            .first ?? LogitsProcessing.argmax(candidates)
        return indices[choice]
    }

    /// The `k`-th largest of `values` counting repeats (`sorted(by: >)[k − 1]`), by a size-k min-heap.
    static func kthLargest(_ values: [Float], _ k: Int) -> Float {
        var heap: [Float] = []
        heap.reserveCapacity(k)
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && heap[l] < heap[m] { m = l }
                if r < heap.count && heap[r] < heap[m] { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for v in values {
            if heap.count < k {
                heap.append(v)
                var i = heap.count - 1
                while i > 0 && heap[(i - 1) / 2] > heap[i] { heap.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
            } else if v > heap[0] {
                heap[0] = v
                siftDown(0)
            }
        }
        return heap[0]
    }

    /// Seeded decoding (``SeededRandomSource``); greedy configurations draw nothing.
    public func generate(prompt: [Int], configuration: Qwen3GenerationConfiguration, maxNewTokens: Int,
                         seed: UInt64) throws -> Qwen3GenerationResult {
        var random = SeededRandomSource(seed: seed)
        return try generate(prompt: prompt, configuration: configuration, maxNewTokens: maxNewTokens, random: &random)
    }
}
