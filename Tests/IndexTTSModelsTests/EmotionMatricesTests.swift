import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// The emotion-vector mode against IndexTTS2's own code (tools/fixtures/generate_conditioning.py: upstream's
/// `find_most_similar_cosine` and `normalize_emo_vec` compiled from infer_v2.py, `infer()`'s scaling and mixing
/// statements) on tiny `feat1.pt`/`feat2.pt` with IndexTTS2's grouping.
struct EmotionMatricesTests {
    static let root = "models/conditioning"
    static let io = try! WeightStore.open(path: Fixtures.path("\(root)/emotion_io.safetensors"))
    static let matrices = try! EmotionMatrices.load(emotionMatrix: Fixtures.path("\(root)/emotion/feat2.pt"),
                                                    speakerMatrix: Fixtures.path("\(root)/emotion/feat1.pt"))

    static func ints(_ key: String) throws -> [Int] { try io.tensor(key).scalars.map { Int($0) } }
    static func doubles(_ key: String) throws -> [Double] { try io.tensor(key).scalars.map { Double($0) } }
    /// The script's inputs, exactly (the reader narrows the fixture's float64 copies to fp32).
    static let weights = [0.3, 0.0, 0.1, 0.0, 0.05, 0.0, 0.25, 0.12345]
    static let webUIInputs = [[0.9, 0.5, 0.0, 0.2, 0.0, 0.1, 0.4, 0.3], [0.1, 0.2, 0.0, 0.0, 0.1, 0.0, 0.05, 0.3]]

    @Test func loadsBareTensorsWithIndexTTS2Grouping() {
        #expect(Self.matrices.groups == [3, 17, 2, 8, 4, 5, 10, 24])
        #expect(Self.matrices.emotionWidth == 12 && Self.matrices.styleWidth == 6)
    }

    @Test func speakerMatchedRowsAreUpstreams() throws {
        #expect(try Self.matrices.speakerMatchedRows(style: Self.io.tensor("style_a")) == (try Self.ints("rows_a")))
        let exact = try Self.matrices.speakerMatchedRows(style: Self.io.tensor("style_b"))
        #expect(exact == (try Self.ints("rows_b")))
        #expect(exact[4] == 0)  // style_b is feat1 row 30 (disgusted, row 0) scaled
    }

    @Test func alphaScalingAndMixMatchInferV2() throws {
        let weights = Self.weights
        #expect(weights.map(Float.init) == (try Self.io.tensor("weights").scalars))
        let rows = try Self.ints("rows_a")
        for (k, alpha) in [1.0, 0.6, 0.0].enumerated() {
            let scaled = EmotionMatrices.scaled(weights, alpha: alpha)
            #expect(scaled.map(Float.init) == (try Self.io.tensor("weights_scaled_\(k)").scalars), "alpha \(alpha)")
            let mixed = try Self.matrices.mix(weights: scaled.map(Float.init), rows: rows, emovec: Self.io.tensor("emovec"))
            expectClose(mixed, try Self.io.tensor("mixed_\(k)"), "emovec, alpha \(alpha)")
        }
        // Truncation, not rounding: 0.12345 · 0.6 = 0.07407 → 0.074.
        #expect(EmotionMatrices.scaled([0.12345], alpha: 0.6) == [0.074])
        #expect(EmotionMatrices.scaled([0.5], alpha: 3) == [0.5])
    }

    @Test func webUINormalisationMatchesUpstream() throws {
        let biased = try Self.doubles("webui_bias"), plain = try Self.doubles("webui_nobias")
        #expect(Self.webUIInputs.joined().map(Float.init) == (try Self.io.tensor("webui_in").scalars))
        for row in 0..<2 {
            let v = Self.webUIInputs[row]
            #expect(EmotionMatrices.normalizedForWebUI(v).map(Float.init) == biased[(row * 8)..<(row * 8 + 8)].map(Float.init))
            #expect(EmotionMatrices.normalizedForWebUI(v, applyBias: false).map(Float.init)
                    == plain[(row * 8)..<(row * 8 + 8)].map(Float.init))
        }
    }

    @Test func randomRowsStayInTheirGroups() {
        var source = SeededRandomSource(seed: 7)
        var seen = Set<[Int]>()
        for _ in 0..<50 {
            let rows = Self.matrices.randomRows(using: &source)
            #expect(zip(rows, Self.matrices.groups).allSatisfy { $0 >= 0 && $0 < $1 })
            seen.insert(rows)
        }
        #expect(seen.count > 40)
        var last = ReplayedRandomSource(Array(repeating: 0.999_999_999, count: 8))
        #expect(Self.matrices.randomRows(using: &last) == Self.matrices.groups.map { $0 - 1 })
    }

    @Test func badShapesAreTypedErrors() throws {
        #expect(throws: ModelError.self) { try Self.matrices.speakerMatchedRows(style: Tensor.zeros([1, 5])) }
        #expect(throws: ModelError.self) { try Self.matrices.mix(weights: [0.1], rows: [0], emovec: Tensor.zeros([1, 12])) }
        #expect(throws: ModelError.self) {
            try Self.matrices.mix(weights: [Float](repeating: 0, count: 8), rows: [3, 0, 0, 0, 0, 0, 0, 0], emovec: Tensor.zeros([1, 12]))
        }
        #expect(throws: ModelError.self) {
            try Self.matrices.mix(weights: [Float](repeating: 0, count: 8), rows: [Int](repeating: 0, count: 8), emovec: Tensor.zeros([1, 11]))
        }
        #expect(throws: ModelError.self) {
            try EmotionMatrices(emotionRows: Self.matrices.emotionRows, speakerRows: Self.matrices.speakerRows, groups: [3, 17, 2, 8, 4, 5, 10, 23])
        }
        #expect(throws: WeightsError.self) {
            try EmotionMatrices.load(emotionMatrix: Fixtures.path("\(Self.root)/emotion/absent.pt"),
                                     speakerMatrix: Fixtures.path("\(Self.root)/emotion/feat1.pt"))
        }
        #expect(throws: WeightsError.self) {  // a state dict is not a bare tensor
            try EmotionMatrices.load(emotionMatrix: Fixtures.path("\(Self.root)/wav2vec2bert_stats.pt"),
                                     speakerMatrix: Fixtures.path("\(Self.root)/emotion/feat1.pt"))
        }
    }
}
