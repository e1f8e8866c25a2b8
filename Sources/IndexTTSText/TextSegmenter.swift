/// Splits a tokenized text into segments of at most ``maxTokensPerSegment`` tokens, as IndexTTS2's
/// `TextTokenizer.split_segments` does: close a segment at a sentence ender once it has more than two tokens
/// (absorbing a following apostrophe); a run that grows past the limit is split at commas, else at hyphens, else
/// into pieces of equal size; finally neighbours are merged greedily while they fit.
///
/// Upstream defects fixed here: the apostrophe after an ender is not also repeated at the start of the next
/// segment; an over-long run without commas or hyphens is cut into even pieces at word starts instead of maximal
/// chunks plus a remainder; and any one-token segment that survives merging is joined to a neighbour.
/// (A one-token segment, even a lone "▁", synthesizes as noise.) Everywhere else the output equals upstream's.
public struct TextSegmenter: Sendable {
    public var maxTokensPerSegment: Int
    /// Tokens that end a sentence (upstream `punctuation_marks_tokens`).
    public var sentenceEnders: Set<String>

    public static let defaultSentenceEnders: Set<String> = [".", "!", "?", "▁.", "▁?", "▁..."]

    public init(maxTokensPerSegment: Int = 120, sentenceEnders: Set<String> = TextSegmenter.defaultSentenceEnders) throws {
        guard maxTokensPerSegment >= 2 else {
            throw TextError.invalidArgument("max tokens per segment must be at least 2, got \(maxTokensPerSegment)")
        }
        self.maxTokensPerSegment = maxTokensPerSegment
        self.sentenceEnders = sentenceEnders
    }

    /// Segment boundaries as index ranges into `tokens` (piece strings), covering every token once, in order.
    public func segments(_ tokens: [String]) -> [Range<Int>] {
        absorbSingletons(merge(split(tokens, 0..<tokens.count, enders: sentenceEnders)))
    }

    /// Joins each one-token segment to a neighbour that has room, or else takes a token from the previous one.
    func absorbSingletons(_ segments: [Range<Int>]) -> [Range<Int>] {
        guard segments.count > 1 else { return segments }
        var result = segments
        var k = 0
        while k < result.count {
            guard result[k].count == 1 else { k += 1; continue }
            if k > 0 && result[k - 1].count < maxTokensPerSegment {
                result[k - 1] = result[k - 1].lowerBound..<result[k].upperBound
                result.remove(at: k)
            } else if k + 1 < result.count && result[k + 1].count < maxTokensPerSegment {
                result[k + 1] = result[k].lowerBound..<result[k + 1].upperBound
                result.remove(at: k)
            } else if k > 0 {
                // Both neighbours are full: move the previous segment's last token over.
                result[k - 1] = result[k - 1].lowerBound..<(result[k - 1].upperBound - 1)
                result[k] = result[k - 1].upperBound..<result[k].upperBound
                k += 1
            } else {
                result[k + 1] = (result[k + 1].lowerBound + 1)..<result[k + 1].upperBound
                result[k] = result[k].lowerBound..<result[k + 1].lowerBound
                k += 1
            }
        }
        return result
    }

    /// The segments as piece lists.
    public func split(_ tokens: [String]) -> [[String]] {
        segments(tokens).map { Array(tokens[$0]) }
    }

    private func split(_ tokens: [String], _ range: Range<Int>, enders: Set<String>) -> [Range<Int>] {
        let max = maxTokensPerSegment
        var result: [Range<Int>] = []
        var start = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            let length = i - start + 1
            if length <= max {
                if enders.contains(tokens[i]) && length > 2 {
                    var end = i + 1
                    if end < range.upperBound && (tokens[end] == "'" || tokens[end] == "▁'") { end += 1 }
                    result.append(start..<end)
                    start = end
                    i = end
                } else {
                    i += 1
                }
                continue
            }
            // The run start...i is one token over the limit.
            let run = start..<(i + 1)
            let commas: Set<String> = [",", "▁,"]
            // Sub-splits are merged within the run first, then again with their neighbours (as upstream recurses).
            let pieces: [Range<Int>]
            // Commas only from the sentence level, hyphens from there or the comma level: a run with commas and
            // hyphens close together otherwise went comma → hyphen → comma… until the stack overflowed (found by
            // the `text` fuzz harness).
            if enders.isDisjoint(with: commas) && !enders.contains("-") && tokens[run].contains(where: commas.contains) {
                pieces = merge(split(tokens, run, enders: commas))
            } else if !enders.contains("-") && tokens[run].contains("-") {
                pieces = merge(split(tokens, run, enders: ["-"]))
            } else {
                pieces = evenPieces(tokens, run)
            }
            start = i + 1
            result += pieces
            i += 1
        }
        if start < range.upperBound { result.append(start..<range.upperBound) }
        // A recursive split can still leave pieces over the limit (commas far apart); cut those evenly.
        return result.flatMap { $0.count > max ? evenPieces(tokens, $0) : [$0] }
    }

    /// Cuts `run` into ⌈count / max⌉ pieces of nearly equal size, moving each cut to the nearest word start
    /// ("▁"-prefixed token) within a quarter of a piece when there is one.
    func evenPieces(_ tokens: [String], _ run: Range<Int>) -> [Range<Int>] {
        let max = maxTokensPerSegment
        let count = (run.count + max - 1) / max
        guard count > 1 else { return [run] }
        var cuts: [Int] = [run.lowerBound]
        for k in 1..<count {
            let ideal = run.lowerBound + (run.count * k) / count
            let slack = Swift.max(1, run.count / count / 4)
            let previous = cuts.last!
            // Candidates keep every piece within the limit (including what remains for the later pieces).
            let candidates = (Swift.max(previous + 1, ideal - slack)...Swift.min(run.upperBound - 1, ideal + slack)).filter { cut in
                cut - previous <= max && run.upperBound - cut <= max * (count - k)
            }
            let wordStarts = candidates.filter { tokens[$0].hasPrefix("▁") }
            let cut = (wordStarts.isEmpty ? candidates : wordStarts).min { abs($0 - ideal) < abs($1 - ideal) }
                ?? Swift.min(previous + max, ideal)
            cuts.append(cut)
        }
        cuts.append(run.upperBound)
        return zip(cuts, cuts.dropFirst()).map { $0..<$1 }.filter { !$0.isEmpty }
    }

    private func merge(_ segments: [Range<Int>]) -> [Range<Int>] {
        var merged: [Range<Int>] = []
        for segment in segments where !segment.isEmpty {
            if let last = merged.last, last.count + segment.count <= maxTokensPerSegment {
                merged[merged.count - 1] = last.lowerBound..<segment.upperBound
            } else {
                merged.append(segment)
            }
        }
        return merged
    }
}
