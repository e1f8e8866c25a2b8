import Foundation

/// The logits processors and warpers of Hugging Face `generate` that IndexTTS2 uses, on one row of scores
/// (transformers 4.52.1 `RepetitionPenaltyLogitsProcessor`, `TemperatureLogitsWarper`, `TopKLogitsWarper`,
/// `TopPLogitsWarper`), plus the sampling and selection helpers of the decoding loops.
enum LogitsProcessing {
    /// Scores of every id present in `ids` become `s·penalty` when negative and `s/penalty` otherwise.
    static func repetitionPenalty(_ scores: inout [Float], ids: Set<Int>, penalty: Float) {
        guard penalty != 1 else { return }
        for id in ids where id >= 0 && id < scores.count {
            let s = scores[id]
            scores[id] = s < 0 ? s * penalty : s / penalty
        }
    }

    static func temperature(_ scores: inout [Float], _ t: Float) {
        guard t != 1 else { return }
        for i in scores.indices { scores[i] /= t }
    }

    /// Keeps scores ≥ the k-th largest (k raised to `minKeep`); the rest become −∞.
    static func topK(_ scores: inout [Float], k: Int, minKeep: Int) {
        let k = min(max(k, minKeep), scores.count)
        guard k > 0, k < scores.count else { return }
        // The k-th largest value, duplicates counted (`sorted(by: >)[k − 1]`), from a descending list of the k
        // largest seen so far: one pass over the 8k-entry vocabulary instead of a full sort per beam and step.
        var top: [Float] = []
        top.reserveCapacity(k + 1)
        for value in scores {
            if top.count == k {
                // NaN never enters (as it never sorts above a number).
                guard value > top[k - 1] else { continue }
                top.removeLast()
            }
            var position = top.count
            while position > 0 && top[position - 1] < value { position -= 1 }
            top.insert(value, at: position)
        }
        let threshold = top[k - 1]
        for i in scores.indices where scores[i] < threshold { scores[i] = -.infinity }
    }

    /// Nucleus filtering as HF does it: ascending sort, softmax, cumulative sum (accumulated in double as torch's CPU
    /// `cumsum` does), drop tokens whose cumulative mass is ≤ 1 − p, always keeping the `minKeep` most likely.
    static func topP(_ scores: inout [Float], p: Float, minKeep: Int) {
        guard p < 1 else { return }
        // −∞ entries (top-k's cut) have probability 0: they add nothing to the cumulative sum and stay −∞, so only
        // the finite ones are sorted (ranks shift by the same count on both sides of `rank < count − minKeep`).
        let finite = scores.indices.filter { scores[$0] != -.infinity }
        let order = finite.sorted { scores[$0] < scores[$1] }
        let probabilities = softmax(order.map { scores[$0] })
        let limit = Float(1 - Double(p))
        var cumulative = 0.0
        for (rank, index) in order.enumerated() {
            cumulative += Double(probabilities[rank])
            if Float(cumulative) <= limit && rank < order.count - minKeep { scores[index] = -.infinity }
        }
    }

    /// Softmax of a row (−∞ entries get probability 0).
    static func softmax(_ scores: [Float]) -> [Float] {
        let maximum = scores.max() ?? 0
        guard maximum > -.infinity else { return scores.map { _ in 0 } }
        var sum = 0.0
        let exps = scores.map { s -> Double in
            let e = Foundation.exp(Double(s - maximum))
            sum += e
            return e
        }
        return exps.map { Float($0 / sum) }
    }

    static func logSoftmax(_ scores: [Float]) -> [Float] {
        let maximum = scores.max() ?? 0
        var sum = 0.0
        for s in scores { sum += Foundation.exp(Double(s - maximum)) }
        let logSum = Float(Foundation.log(sum))
        return scores.map { $0 - maximum - logSum }
    }

    /// First index of the largest score (`torch.argmax`).
    static func argmax(_ scores: [Float]) -> Int {
        var best = 0
        for i in scores.indices where scores[i] > scores[best] { best = i }
        return best
    }

    /// `count` distinct indices drawn without replacement in proportion to `probabilities`, one uniform draw per
    /// pick by inverse CDF over the remaining mass in index order (the stand-in for `torch.multinomial` that the
    /// fixtures record). Stops early when no mass remains.
    static func sampleWithoutReplacement<R: UniformRandomSource>(_ probabilities: [Float], count: Int,
                                                                 random: inout R) -> [Int] {
        var weights = probabilities.map { Double(max($0, 0)) }
        var picks: [Int] = []
        for _ in 0..<count {
            let total = weights.reduce(0, +)
            guard total > 0 else { break }
            let target = random.nextUniform() * total
            var cumulative = 0.0
            var chosen = -1
            var lastPositive = -1
            for i in weights.indices where weights[i] > 0 {
                lastPositive = i
                cumulative += weights[i]
                if cumulative > target { chosen = i; break }
            }
            if chosen < 0 { chosen = lastPositive }
            picks.append(chosen)
            weights[chosen] = 0
        }
        return picks
    }
}
