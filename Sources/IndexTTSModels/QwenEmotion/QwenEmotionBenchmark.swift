import Foundation
import IndexTTSNN
import IndexTTSTensor

/// Timings behind `indextts bench emotion`: the emotion-text Qwen3 at full size (Qwen3-0.6B shapes by default) with
/// random weights built in memory (no 1.2 GB file), held as fp16 as the shipped bf16 checkpoint would be; a prompt of
/// `promptTokens` ids, then `newTokens` greedy tokens through the KV cache — a typical QwenEmotion call (the chat
/// prompt of a short description is about 40 tokens, the eight-key JSON answer about 40).
public enum QwenEmotionBenchmark {
    public struct Result: Sendable {
        public var prefillSeconds: Double
        public var decodeSecondsPerToken: Double
        public var totalSeconds: Double
        public var weightBytes: Int
        public var label: String
    }

    public static func run(configuration c: Qwen3Configuration = .qwen3_0_6B, promptTokens: Int = 40, newTokens: Int = 40,
                           halfPrecision: Bool = true) throws -> Result {
        var seed: UInt64 = 0x5EED
        func random(_ shape: [Int], scale: Float) -> Tensor {
            Tensor.make(shape) { out in
                for i in out.indices {
                    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                    out[i] = (Float(seed >> 40) / Float(1 << 24) - 0.5) * 2 * scale
                }
            }
        }
        func linear(_ inFeatures: Int, _ outFeatures: Int) throws -> Linear {
            let l = Linear(weight: random([outFeatures, inFeatures], scale: 1 / Float(inFeatures).squareRoot()), bias: nil)
            return halfPrecision ? try l.halfPrecision() : l
        }
        func norm(_ n: Int) -> RMSNorm { RMSNorm(weight: Tensor.full([n], value: 1), eps: Float(c.rmsNormEps)) }
        let h = c.hiddenSize, d = c.headDim
        let table = random([c.vocabSize, h], scale: 0.05)
        let embedding: Qwen3CausalLM.TokenTable = halfPrecision ? .float16(try HalfMatrix(table)) : .float32(table)
        var layers: [Qwen3CausalLM.Layer] = []
        for _ in 0..<c.numHiddenLayers {
            var attention = MultiHeadAttention(
                projections: .separate(query: try linear(h, c.numAttentionHeads * d), key: try linear(h, c.numKeyValueHeads * d),
                                       value: try linear(h, c.numKeyValueHeads * d)),
                output: try linear(c.numAttentionHeads * d, h), heads: c.numAttentionHeads, keyValueHeads: c.numKeyValueHeads,
                headDimensions: d)
            attention.headNorms = (norm(d), norm(d))
            layers.append(Qwen3CausalLM.Layer(
                attention: attention,
                mlp: FeedForward(.gated(gate: try linear(h, c.intermediateSize), up: try linear(h, c.intermediateSize),
                                        down: try linear(c.intermediateSize, h))),
                inputNorm: norm(h), postAttentionNorm: norm(h)))
        }
        let head: Linear
        switch embedding {
        case .float32(let t): head = Linear(weight: t, bias: nil)
        case .float16(let m): head = Linear(weights: .float16(m), bias: nil)
        }
        let model = Qwen3CausalLM(configuration: c, embedding: embedding, layers: layers, norm: norm(h), head: head,
                                  rotary: RotaryEmbedding(dimensions: d, base: Float(c.ropeTheta), style: .halves),
                                  storedDType: halfPrecision ? .bfloat16 : .float32, isHalfPrecision: halfPrecision)
        var ids = [Int]()
        var state = seed
        for _ in 0..<promptTokens {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            ids.append(Int(state >> 33) % c.vocabSize)
        }
        let greedy = Qwen3GenerationConfiguration(doSample: false, eosTokenIds: [])
        // warm-up (maps fresh buffers, spins up the thread pool)
        _ = try model.generate(prompt: ids, configuration: greedy, maxNewTokens: 2, seed: 0)
        let clock = ContinuousClock()
        let start = clock.now
        let run = try model.generate(prompt: ids, configuration: greedy, maxNewTokens: newTokens, seed: 0)
        let total = clock.now - start
        return Result(prefillSeconds: run.prefillSeconds,
                      decodeSecondsPerToken: run.decodeSeconds / Double(max(run.tokens.count - 1, 1)),
                      totalSeconds: Double(total.components.seconds) + Double(total.components.attoseconds) * 1e-18,
                      weightBytes: model.weightByteCount,
                      label: "\(c.numHiddenLayers)×\(h), \(c.numAttentionHeads)/\(c.numKeyValueHeads) heads of \(d), MLP \(c.intermediateSize), "
                          + "vocabulary \(c.vocabSize), \(halfPrecision ? "fp16" : "fp32") weights")
    }
}
