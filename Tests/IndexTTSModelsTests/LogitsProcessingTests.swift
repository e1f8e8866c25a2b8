@testable import IndexTTSModels
import IndexTTSTestSupport
import Testing

/// Top-k and nucleus filtering against the sort-based definitions they replace (HF's `TopKLogitsWarper`:
/// threshold `sorted(by: >)[k − 1]`; `TopPLogitsWarper`: ascending sort of every entry, softmax, cumulative sum),
/// on rows with ties, −∞ entries (a previous top-k or a suppressed stop code) and k or minKeep beyond the finite count.
struct LogitsProcessingTests {
    static func row(_ n: Int, seed: UInt64, levels: Int, infinities: Bool) -> [Float] {
        // Few levels: many ties.
        TestRandom.integers(n, seed: seed, modulus: Int64(levels)).enumerated().map { j, v in
            infinities && j % 7 == 2 ? -.infinity : Float(v) / 4
        }
    }

    static func referenceTopK(_ scores: [Float], k: Int, minKeep: Int) -> [Float] {
        let k = min(max(k, minKeep), scores.count)
        guard k > 0, k < scores.count else { return scores }
        let threshold = scores.sorted(by: >)[k - 1]
        return scores.map { $0 < threshold ? -.infinity : $0 }
    }

    static func referenceTopP(_ scores: [Float], p: Float, minKeep: Int) -> [Float] {
        guard p < 1 else { return scores }
        var result = scores
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        let probabilities = LogitsProcessing.softmax(order.map { scores[$0] })
        let limit = Float(1 - Double(p))
        var cumulative = 0.0
        for (rank, index) in order.enumerated() {
            cumulative += Double(probabilities[rank])
            if Float(cumulative) <= limit && rank < order.count - minKeep { result[index] = -.infinity }
        }
        return result
    }

    @Test func topKAndTopPEqualTheSortBasedDefinitions() {
        var cases = 0
        for seed in UInt64(1)...8 {
            for (n, levels) in [(1, 3), (5, 2), (37, 9), (300, 40), (8194, 4000)] {
                for infinities in [false, true] {
                    let scores = Self.row(n, seed: seed, levels: levels, infinities: infinities)
                    for k in [1, 2, 3, 30, n - 1, n, n + 5] where k > 0 {
                        var mine = scores
                        LogitsProcessing.topK(&mine, k: k, minKeep: 2)
                        #expect(mine == Self.referenceTopK(scores, k: k, minKeep: 2), "top-k n \(n) k \(k) seed \(seed)")
                        for p: Float in [0.2, 0.8, 0.99, 1] {
                            var nucleus = mine
                            LogitsProcessing.topP(&nucleus, p: p, minKeep: 2)
                            #expect(nucleus == Self.referenceTopP(mine, p: p, minKeep: 2), "top-p n \(n) k \(k) p \(p)")
                            cases += 1
                        }
                    }
                }
            }
        }
        #expect(cases > 400)
    }
}
