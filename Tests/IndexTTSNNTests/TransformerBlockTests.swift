import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// The shared attention and feed-forward blocks against straightforward scalar loops written from the formulas.
/// (Parity with PyTorch modules is covered by the models that use them, e.g. the S2M DiT.)
struct TransformerBlockTests {
    /// Deterministic values in [−1, 1).
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        return try! Tensor(shape: shape, scalars: values)
    }

    /// y = x·Wᵀ + b on `[rows, in]` arrays.
    static func naiveLinear(_ x: [Float], rows: Int, _ w: Tensor, _ b: Tensor?) -> [Float] {
        let (out, inF) = (w.shape[0], w.shape[1])
        let wv = w.scalars, bv = b?.scalars
        var y = [Float](repeating: 0, count: rows * out)
        for r in 0..<rows {
            for o in 0..<out {
                var s = bv?[o] ?? 0
                for i in 0..<inF { s += x[r * inF + i] * wv[o * inF + i] }
                y[r * out + o] = s
            }
        }
        return y
    }

    /// Self-attention with a fused `[q | k | v]` projection and grouped key/value heads, interleaved-pair rotary
    /// embedding, key padding and a query-dependent score bias, all written out as loops.
    @Test func attentionMatchesLoops() throws {
        let (batch, time, dim, heads, kvHeads, d) = (2, 5, 8, 4, 2, 2)
        let wqkv = Self.random([(heads + 2 * kvHeads) * d, dim], seed: 1), bqkv = Self.random([(heads + 2 * kvHeads) * d], seed: 2)
        let wo = Self.random([dim, heads * d], seed: 3), bo = Self.random([dim], seed: 4)
        let block = MultiHeadAttention(projections: .fused(Linear(weight: wqkv, bias: bqkv)), output: Linear(weight: wo, bias: bo),
                                       heads: heads, keyValueHeads: kvHeads, headDimensions: d)
        let x = Self.random([batch, time, dim], seed: 5)
        let rotary = RotaryEmbedding(dimensions: d, base: 10_000, style: .interleaved)
        let keyLengths = [5, 3]
        // Bias(q)[b, h, i, j] = 0.1·q[b, h, i, 0]·(j + 1).
        let bias: MultiHeadAttention.ScoreBias = { q, lk in
            let (b, h, l) = (q.shape[0], q.shape[1], q.shape[2])
            let qs = q.scalars
            var values = [Float](repeating: 0, count: b * h * l * lk)
            for r in 0..<(b * h * l) { for j in 0..<lk { values[r * lk + j] = 0.1 * qs[r * q.shape[3]] * Float(j + 1) } }
            return try Tensor(shape: [b, h, l, lk], scalars: values)
        }
        let y = try block(x, rotary: rotary, mask: AttentionMask(keyLengths: keyLengths), scoreBias: bias)

        let qkv = Self.naiveLinear(x.scalars, rows: batch * time, wqkv, bqkv)
        let width = (heads + 2 * kvHeads) * d
        func rotate(_ v: [Float], position: Int) -> [Float] {
            var r = v
            for i in 0..<(d / 2) {
                let theta = Float(position) / powf(10_000, Float(2 * i) / Float(d))
                r[2 * i] = v[2 * i] * cosf(theta) - v[2 * i + 1] * sinf(theta)
                r[2 * i + 1] = v[2 * i + 1] * cosf(theta) + v[2 * i] * sinf(theta)
            }
            return r
        }
        var attended = [Float](repeating: 0, count: batch * time * heads * d)
        for b in 0..<batch {
            for h in 0..<heads {
                let kvh = h / (heads / kvHeads)
                func slice(_ t: Int, _ start: Int) -> [Float] { Array(qkv[((b * time + t) * width + start)...].prefix(d)) }
                for i in 0..<time {
                    let q = rotate(slice(i, h * d), position: i)
                    var scores = [Float](repeating: -.infinity, count: time)
                    for j in 0..<keyLengths[b] {
                        let k = rotate(slice(j, heads * d + kvh * d), position: j)
                        scores[j] = zip(q, k).map(*).reduce(0, +) / Float(d).squareRoot() + 0.1 * q[0] * Float(j + 1)
                    }
                    let m = scores.max()!
                    let e = scores.map { expf($0 - m) }
                    let total = e.reduce(0, +)
                    for j in 0..<time {
                        let v = slice(j, (heads + kvHeads) * d + kvh * d)
                        for c in 0..<d { attended[(b * time + i) * heads * d + h * d + c] += e[j] / total * v[c] }
                    }
                }
            }
        }
        let expected = try Tensor(shape: [batch, time, dim], scalars: Self.naiveLinear(attended, rows: batch * time, wo, bo))
        expectClose(y, expected, "attention")
    }

    /// Separate projections used as cross-attention (keys from a context of another length and width).
    @Test func crossAttentionMatchesLoops() throws {
        let (time, contextTime, dim, contextDim, heads, d) = (3, 4, 4, 6, 2, 2)
        let wq = Self.random([heads * d, dim], seed: 11), wk = Self.random([heads * d, contextDim], seed: 12)
        let wv = Self.random([heads * d, contextDim], seed: 13), wo = Self.random([dim, heads * d], seed: 14)
        let block = MultiHeadAttention(projections: .separate(query: Linear(weight: wq, bias: nil), key: Linear(weight: wk, bias: nil),
                                                              value: Linear(weight: wv, bias: nil)),
                                       output: Linear(weight: wo, bias: nil), heads: heads, headDimensions: d)
        let x = Self.random([1, time, dim], seed: 15), c = Self.random([1, contextTime, contextDim], seed: 16)
        let y = try block(x, context: c)
        let q = Self.naiveLinear(x.scalars, rows: time, wq, nil)
        let k = Self.naiveLinear(c.scalars, rows: contextTime, wk, nil), v = Self.naiveLinear(c.scalars, rows: contextTime, wv, nil)
        var attended = [Float](repeating: 0, count: time * heads * d)
        for h in 0..<heads {
            for i in 0..<time {
                let scores = (0..<contextTime).map { j in
                    (0..<d).map { q[i * heads * d + h * d + $0] * k[j * heads * d + h * d + $0] }.reduce(0, +) / Float(d).squareRoot()
                }
                let e = scores.map { expf($0 - scores.max()!) }
                for j in 0..<contextTime {
                    for ch in 0..<d { attended[i * heads * d + h * d + ch] += e[j] / e.reduce(0, +) * v[j * heads * d + h * d + ch] }
                }
            }
        }
        expectClose(y, try Tensor(shape: [1, time, dim], scalars: Self.naiveLinear(attended, rows: time, wo, nil)), "cross")
    }

    @Test func feedForwardMatchesLoops() throws {
        let (rows, dim, hidden) = (3, 4, 6)
        let w1 = Self.random([hidden, dim], seed: 21), w3 = Self.random([hidden, dim], seed: 22), w2 = Self.random([dim, hidden], seed: 23)
        let b1 = Self.random([hidden], seed: 24), b2 = Self.random([dim], seed: 25)
        let x = Self.random([1, rows, dim], seed: 26)
        let silu = { (v: Float) in v / (1 + expf(-v)) }

        let gated = FeedForward(.gated(gate: Linear(weight: w1, bias: nil), up: Linear(weight: w3, bias: nil), down: Linear(weight: w2, bias: nil)))
        let g = Self.naiveLinear(x.scalars, rows: rows, w1, nil), u = Self.naiveLinear(x.scalars, rows: rows, w3, nil)
        let expectedGated = Self.naiveLinear(zip(g, u).map { silu($0) * $1 }, rows: rows, w2, nil)
        expectClose(try gated(x), try Tensor(shape: [1, rows, dim], scalars: expectedGated), "SwiGLU")

        let plain = FeedForward(.plain(up: Linear(weight: w1, bias: b1), activation: .relu, down: Linear(weight: w2, bias: b2)))
        let expectedPlain = Self.naiveLinear(Self.naiveLinear(x.scalars, rows: rows, w1, b1).map { max($0, 0) }, rows: rows, w2, b2)
        expectClose(try plain(x), try Tensor(shape: [1, rows, dim], scalars: expectedPlain), "plain")
    }

    /// The residual forms (`adding:`) of the linear layer, both feed-forward kinds, the stacked SwiGLU and the
    /// attention block equal the block followed by the addition (fp32 products that run as one SGEMM start from the
    /// residual); ``FeedForward/stacked()`` equals the two products it replaces, with and without biases, whatever
    /// the up weights' layout, and leaves other blocks as they are.
    @Test func residualFormsAndStackedSwiGLU() throws {
        let (batch, time, dim, hidden, heads) = (2, 19, 16, 24, 4)
        let w1 = Self.random([hidden, dim], seed: 31), w3 = Self.random([hidden, dim], seed: 32)
        let w2 = Self.random([dim, hidden], seed: 33)
        let b1 = Self.random([hidden], seed: 34), b3 = Self.random([hidden], seed: 35), b2 = Self.random([dim], seed: 36)
        let x = Self.random([batch, time, dim], seed: 37), residual = Self.random([batch, time, dim], seed: 38)
        for biases in [false, true] {
            let gated = FeedForward(.gated(gate: Linear(weight: w1, bias: biases ? b1 : nil),
                                           up: Linear(weight: try w3.transposed(0, 1).contiguous(), bias: biases ? b3 : nil,
                                                      layout: .inOut),
                                           down: Linear(weight: w2, bias: biases ? b2 : nil)))
            let stacked = try gated.stacked()
            guard case .gatedStacked = stacked.kind else {
                Issue.record("stacked() kept the gate and up products apart (biases \(biases))")
                continue
            }
            expectClose(try stacked(x), try gated(x), "stacked SwiGLU, biases \(biases)")
            expectClose(try stacked(x, adding: residual), try gated(x).adding(residual), "stacked + residual, biases \(biases)")
            expectClose(try gated(x, adding: residual), try gated(x).adding(residual), "SwiGLU + residual, biases \(biases)")
            let plain = FeedForward(.plain(up: Linear(weight: w1, bias: b1), activation: .gelu(.tanh),
                                           down: Linear(weight: w2, bias: biases ? b2 : nil)))
            expectClose(try plain(x, adding: residual), try plain(x).adding(residual), "plain + residual, biases \(biases)")
            guard case .plain = try plain.stacked().kind else {
                Issue.record("stacked() changed a plain block")
                continue
            }
            let linear = Linear(weight: try w2.transposed(0, 1).contiguous(), bias: biases ? b2 : nil, layout: .inOut)
            let wide = Self.random([batch, time, hidden], seed: 39)
            expectClose(try linear(wide, adding: residual), try linear(wide).adding(residual), "Linear + residual, biases \(biases)")
        }
        // fp16 weights: the product, then the addition.
        let half = FeedForward(.plain(up: Linear(weight: w1, bias: b1), activation: .relu,
                                      down: try Linear(weight: w2, bias: b2).halfPrecision()))
        expectClose(try half(x, adding: residual), try half(x).adding(residual), "fp16 down + residual")

        let attention = MultiHeadAttention(projections: .fused(Linear(weight: Self.random([3 * dim, dim], seed: 40), bias: nil)),
                                           output: Linear(weight: Self.random([dim, dim], seed: 41), bias: Self.random([dim], seed: 42)),
                                           heads: heads, headDimensions: dim / heads)
        let rotary = RotaryEmbedding(dimensions: dim / heads, base: 10_000, style: .interleaved)
        expectClose(try attention(x, rotary: rotary, adding: residual), try attention(x, rotary: rotary).adding(residual),
                    "attention + residual")
        let rows = 5..<time
        let part = try residual.sliced(axis: 1, range: rows)
        expectClose(try attention(x, rotary: rotary, queryRows: rows, adding: part),
                    try attention(x, rotary: rotary, queryRows: rows).adding(part), "query rows + residual")
    }

    /// The bfloat16 forms (where the CPU runs bfloat16 products): `adding:` on bfloat16 weights, from fp32 rows and
    /// from rows already rounded to bfloat16, equals the block followed by the addition — the stacked SwiGLU, the
    /// attention block (its merged bfloat16 output product), query rows.
    @Test(.enabled(if: ComputePrecision.bfloat16Supported, "needs a CPU with AVX512-BF16 or AMX-BF16"))
    func bfloat16ResidualForms() throws {
        let (batch, time, dim, hidden, heads) = (2, 19, 32, 48, 4)
        let gated = try FeedForward(.gated(gate: Linear(weight: Self.random([hidden, dim], seed: 51), bias: nil),
                                           up: Linear(weight: Self.random([hidden, dim], seed: 52), bias: nil),
                                           down: Linear(weight: Self.random([dim, hidden], seed: 53), bias: nil))).bfloat16()
        let x = Self.random([batch, time, dim], seed: 54), residual = Self.random([batch, time, dim], seed: 55)
        let rounded = BFloat16Rows(x)
        expectClose(try gated(x, adding: residual), try gated(x).adding(residual), "bf16 SwiGLU + residual")
        expectClose(try gated(rounded, adding: residual), try gated(rounded).adding(residual), "bf16 rows SwiGLU + residual")
        var attention = MultiHeadAttention(projections: .fused(Linear(weight: Self.random([3 * dim, dim], seed: 56), bias: nil)),
                                           output: Linear(weight: Self.random([dim, dim], seed: 57), bias: nil),
                                           heads: heads, headDimensions: dim / heads)
        attention = try attention.bfloat16()
        let rotary = RotaryEmbedding(dimensions: dim / heads, base: 10_000, style: .interleaved)
        expectClose(try attention(rounded, rotary: rotary, adding: residual),
                    try attention(rounded, rotary: rotary).adding(residual), "bf16 attention + residual")
        let rows = 5..<time
        let part = try residual.sliced(axis: 1, range: rows)
        expectClose(try attention(rounded, rotary: rotary, queryRows: rows, adding: part),
                    try attention(rounded, rotary: rotary, queryRows: rows).adding(part), "bf16 query rows + residual")
        let linear = try Linear(weight: Self.random([dim, dim], seed: 58), bias: Self.random([dim], seed: 59)).bfloat16()
        expectClose(try linear(rounded, adding: residual), try linear(rounded).adding(residual), "bf16 Linear + residual")
    }

    @Test func badShapesAreErrors() throws {
        let block = MultiHeadAttention(projections: .fused(Linear(weight: Self.random([6, 2], seed: 1), bias: nil)),
                                       output: Linear(weight: Self.random([2, 2], seed: 2), bias: nil), heads: 2, headDimensions: 1)
        #expect(throws: TensorError.self) { try block(Self.random([3, 2], seed: 3)) }
        #expect(throws: TensorError.self) { try block(Self.random([1, 3, 2], seed: 3), context: Self.random([1, 3, 2], seed: 4)) }
        #expect(throws: TensorError.self) { try block(Self.random([1, 3, 5], seed: 3)) }
    }
}
