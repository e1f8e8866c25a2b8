import Foundation

/// Finished hypotheses of one beam search (transformers 4.52.1 `BeamHypotheses`, `early_stopping=False`): keeps the
/// `capacity` best by `sum_logprobs / generated_len^length_penalty`.
struct BeamHypotheses {
    struct Hypothesis {
        var score: Float
        var tokens: [Int]
        var hidden: [[Float]]
        var endedWithStop: Bool
    }

    let capacity: Int
    let lengthPenalty: Float
    private(set) var beams: [Hypothesis] = []
    private(set) var worstScore: Float = 1e9

    init(capacity: Int, lengthPenalty: Float) {
        self.capacity = capacity
        self.lengthPenalty = lengthPenalty
    }

    static func normalised(_ sumLogProbs: Float, length: Int, penalty: Float) -> Float {
        penalty == 0 ? sumLogProbs : sumLogProbs / Float(Foundation.pow(Double(length), Double(penalty)))
    }

    mutating func add(tokens: [Int], hidden: [[Float]], sumLogProbs: Float, generatedLength: Int, endedWithStop: Bool) {
        let score = Self.normalised(sumLogProbs, length: generatedLength, penalty: lengthPenalty)
        guard beams.count < capacity || score > worstScore else { return }
        beams.append(Hypothesis(score: score, tokens: tokens, hidden: hidden, endedWithStop: endedWithStop))
        if beams.count > capacity {
            // Python's sorted() over (score, index): the lowest score, first index among ties, goes.
            let ranked = beams.indices.sorted { (beams[$0].score, $0) < (beams[$1].score, $1) }
            worstScore = beams[ranked[1]].score
            beams.remove(at: ranked[0])
        } else {
            worstScore = min(score, worstScore)
        }
    }

    /// No running beam can beat the worst kept hypothesis any more.
    func isDone(bestSumLogProbs: Float, generatedLength: Int) -> Bool {
        guard beams.count >= capacity else { return false }
        return worstScore >= Self.normalised(bestSumLogProbs, length: generatedLength, penalty: lengthPenalty)
    }

    /// The best hypothesis (`sorted(...).pop()`: highest score, the last added among ties).
    var best: Hypothesis? {
        guard var result = beams.first else { return nil }
        for hypothesis in beams.dropFirst() where hypothesis.score >= result.score { result = hypothesis }
        return result
    }
}

