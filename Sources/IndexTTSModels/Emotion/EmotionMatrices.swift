import Foundation
import IndexTTSTensor
import IndexTTSWeights

/// IndexTTS2's emotion exemplars and its emotion-vector mode (`infer_v2.py`, `emo_vector=[8 weights]`):
/// `feat2.pt` holds emotion vectors (rows of the GPT's 1280-d `emovec` space) and `feat1.pt` the CAM++ speaker
/// embedding of the clip each came from, both grouped by emotion in `emo_num` rows
/// (`[3, 17, 2, 8, 4, 5, 10, 24]` for happy, angry, sad, afraid, disgusted, melancholic, surprised, calm).
///
/// For each emotion one row is chosen — the one whose speaker embedding is most cosine-similar to the target
/// voice's CAM++ style, or a uniformly random one — and the weighted rows replace part of the voice's own emotion
/// vector: `emovec = Σ_i w_i·E_i + (1 − Σ_i w_i)·emovec`. Immutable; safe to share between threads.
public struct EmotionMatrices: Sendable {
    /// The order of the eight weights everywhere upstream.
    public static let emotions = ["happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm"]
    /// `emo_num` of IndexTTS2's config.yaml.
    public static let indexTTS2Groups = [3, 17, 2, 8, 4, 5, 10, 24]

    /// `feat2.pt`, `[Σ groups, emovec width]`.
    public let emotionRows: Tensor
    /// `feat1.pt`, `[Σ groups, style width]`.
    public let speakerRows: Tensor
    /// Rows per emotion (`emo_num`).
    public let groups: [Int]
    /// First row of each group.
    let offsets: [Int]

    /// - Throws: ``ModelError/invalidInput(component:reason:)`` when the matrices and the grouping disagree.
    public init(emotionRows: Tensor, speakerRows: Tensor, groups: [Int] = EmotionMatrices.indexTTS2Groups) throws {
        let rows = groups.reduce(0, +)
        guard !groups.isEmpty, groups.allSatisfy({ $0 > 0 }), emotionRows.rank == 2, speakerRows.rank == 2,
              emotionRows.shape[0] == rows, speakerRows.shape[0] == rows, emotionRows.shape[1] > 0, speakerRows.shape[1] > 0 else {
            throw ModelError.invalidInput(component: "emotion matrices",
                                          reason: "feat2 \(emotionRows.shape) and feat1 \(speakerRows.shape) for emo_num \(groups) (\(rows) rows)")
        }
        self.emotionRows = emotionRows.contiguous()
        self.speakerRows = speakerRows.contiguous()
        self.groups = groups
        var offsets: [Int] = []
        var next = 0
        for g in groups {
            offsets.append(next)
            next += g
        }
        self.offsets = offsets
    }

    /// Reads `feat2.pt` (emotion rows) and `feat1.pt` (speaker rows), each a bare tensor saved by `torch.save`.
    /// - Throws: ``IndexTTSWeights/WeightsError`` naming an unreadable file, ``ModelError`` for shapes that do not fit `groups`.
    public static func load(emotionMatrix: String, speakerMatrix: String,
                            groups: [Int] = EmotionMatrices.indexTTS2Groups) throws -> EmotionMatrices {
        func bare(_ path: String) throws -> Tensor {
            let store = try WeightStore.open(path: path)
            guard store.keys.count == 1, let key = store.keys.first else {
                throw WeightsError.unsupported(path: path, reason: "expected one bare tensor, found \(store.keys.count) tensors")
            }
            return try store.tensor(key)
        }
        return try EmotionMatrices(emotionRows: bare(emotionMatrix), speakerRows: bare(speakerMatrix), groups: groups)
    }

    /// Width of the emotion vectors.
    public var emotionWidth: Int { emotionRows.shape[1] }
    /// Width of the speaker embeddings (CAM++ style).
    public var styleWidth: Int { speakerRows.shape[1] }

    /// Per group, the row (index within the group) whose speaker embedding has the highest cosine similarity to
    /// `style` (`find_most_similar_cosine`; the first on ties, as `torch.argmax`).
    /// - Parameter style: the CAM++ embedding, `[style width]` or `[1, style width]`.
    public func speakerMatchedRows(style: Tensor) throws -> [Int] {
        guard style.count == styleWidth, style.rank <= 2, style.rank == 1 || style.shape[0] == 1 else {
            throw ModelError.invalidInput(component: "emotion matrices", reason: "style \(style.shape), expected [1, \(styleWidth)]")
        }
        let s = style.scalars, width = styleWidth
        let eps: Float = 1e-8
        var styleSquares: Float = 0
        for v in s { styleSquares += v * v }
        let styleNorm = max(styleSquares.squareRoot(), eps)
        return speakerRows.withUnsafeBufferPointer { m in
            zip(offsets, groups).map { offset, count in
                var best = 0
                var bestSimilarity = -Float.infinity
                for j in 0..<count {
                    let row = m.baseAddress! + (offset + j) * width
                    var squares: Float = 0
                    for i in 0..<width { squares += row[i] * row[i] }
                    let rowNorm = max(squares.squareRoot(), eps)
                    var dot: Float = 0
                    for i in 0..<width { dot += (s[i] / styleNorm) * (row[i] / rowNorm) }
                    if dot > bestSimilarity {
                        bestSimilarity = dot
                        best = j
                    }
                }
                return best
            }
        }
    }

    /// One uniformly random row per group (`use_random=True`); one draw of `random` per group.
    public func randomRows(using random: inout some UniformRandomSource) -> [Int] {
        groups.map { count in min(count - 1, Int(random.nextUniform() * Double(count))) }
    }

    /// The emotion-vector mix: `Σ_i w_i·E_i[rows_i] + (1 − Σ_i w_i)·emovec`.
    /// - Parameters:
    ///   - weights: one per group (IndexTTS2: eight, in ``emotions`` order), after ``scaled(_:alpha:)``.
    ///   - rows: the row chosen in each group (``speakerMatchedRows(style:)`` or ``randomRows(using:)``).
    ///   - emovec: the voice's own emotion vector, `[1, width]` or `[width]`; the result has its shape.
    public func mix(weights: [Float], rows: [Int], emovec: Tensor) throws -> Tensor {
        guard weights.count == groups.count, rows.count == groups.count,
              zip(rows, groups).allSatisfy({ $0 >= 0 && $0 < $1 }), emovec.count == emotionWidth,
              emovec.rank == 1 || (emovec.rank == 2 && emovec.shape[0] == 1) else {
            throw ModelError.invalidInput(component: "emotion matrices",
                                          reason: "\(weights.count) weights, rows \(rows) and emovec \(emovec.shape) for groups \(groups) of width \(emotionWidth)")
        }
        let width = emotionWidth
        var mixed = [Float](repeating: 0, count: width)
        emotionRows.withUnsafeBufferPointer { m in
            for (g, (w, row)) in zip(weights, rows).enumerated() {
                let source = m.baseAddress! + (offsets[g] + row) * width
                for i in 0..<width { mixed[i] += w * source[i] }
            }
        }
        var total: Float = 0
        for w in weights { total += w }
        let keep = 1 - total
        let own = emovec.scalars
        for i in 0..<width { mixed[i] += keep * own[i] }
        return try Tensor(shape: emovec.shape, scalars: mixed)
    }

    /// `emo_alpha` applied to the weights as `infer_v2` does before mixing: scale = clamp(α, 0, 1), and when it is
    /// not 1 each weight becomes `int(w·scale·10000) / 10000` (truncated to four decimals, in double precision).
    public static func scaled(_ weights: [Double], alpha: Double) -> [Double] {
        let scale = max(0, min(1, alpha))
        guard scale != 1 else { return weights }
        return weights.map { (($0 * scale * 10_000).rounded(.towardZero)) / 10_000 }
    }

    /// The WebUI's `normalize_emo_vec`: optionally multiply by the per-emotion bias
    /// `[0.9375, 0.875, 1, 1, 0.9375, 0.9375, 0.6875, 0.5625]`, then rescale so the weights sum to at most 0.8.
    public static func normalizedForWebUI(_ weights: [Double], applyBias: Bool = true) -> [Double] {
        let bias = [0.9375, 0.875, 1.0, 1.0, 0.9375, 0.9375, 0.6875, 0.5625]
        var w = applyBias ? zip(weights, bias).map { $0 * $1 } : weights
        let sum = w.reduce(0, +)
        if sum > 0.8 {
            let factor = 0.8 / sum
            w = w.map { $0 * factor }
        }
        return w
    }
}
