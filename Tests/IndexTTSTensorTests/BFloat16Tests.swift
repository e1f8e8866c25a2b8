import CIndexTTSDNNL
import IndexTTSNN
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// bfloat16 products (oneDNN) against fp32 on the same operands. A bfloat16 product differs from fp32 by the
/// operands' rounding (≤ 2⁻⁹ relative each), so the bound is a relative RMS difference of 1e-2 — and it must not be
/// exactly fp32 (which would mean the bfloat16 path did not run).
@Suite(.enabled(if: ComputePrecision.bfloat16Supported, "needs a CPU with AVX512-BF16 or AMX-BF16"))
struct BFloat16Tests {
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed | 1
        return Tensor.make(shape) { out in
            for i in out.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                out[i] = Float(state >> 40) / Float(1 << 24) - 0.5
            }
        }
    }

    static func expectBFloat16Close(_ a: Tensor, _ e: Tensor, _ label: String) {
        #expect(a.shape == e.shape, "\(label): shape")
        let r = relativeRMSDifference(a, e)
        #expect(r < 1e-2, "\(label): relative RMS difference \(r)")
        #expect(r > 1e-6, "\(label): identical to fp32 (\(r)); the bfloat16 path did not run")
    }

    @Test func roundingIsNearestEven() throws {
        // 1 + 2⁻⁸ is halfway between two bfloat16 values: ties go to the even one (1.0); 1 + 3·2⁻⁸ rounds up.
        let values: [Float] = [1, 1 + 1 / 256, 1 + 3 / 256, -2.5, .infinity, 0]
        let m = try BFloat16Matrix(Tensor(shape: [1, values.count], scalars: values))
        #expect(m.float32().scalars == [1, 1, 1 + 4 / 256, -2.5, .infinity, 0])
        let nan = try BFloat16Matrix(Tensor(shape: [1, 1], scalars: [.nan]))
        #expect(nan.float32().scalars[0].isNaN)
        #expect(m.byteCount == 2 * values.count)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func productsMatchFloat32InEveryLayout(transA: Bool, transB: Bool) throws {
        let (m, n, k) = (37, 29, 70)
        let a = Self.random(transA ? [k, m] : [m, k], seed: 1), b = Self.random(transB ? [n, k] : [k, n], seed: 2)
        let c0 = Self.random([m, n], seed: 3)
        for beta: Float in [0, 1] {
            let expected = Tensor.make([m, n]) { out in
                out.baseAddress!.update(from: c0.basePointer, count: m * n)
                Tensor.gemm(m: m, n: n, k: k, a: a.basePointer, transA: transA, lda: transA ? m : k, b: b.basePointer,
                            transB: transB, ldb: transB ? k : n, c: out.baseAddress!, ldc: n, beta: beta)
            }
            let actual = Tensor.make([m, n]) { out in
                out.baseAddress!.update(from: c0.basePointer, count: m * n)
                Tensor.bfloat16Product(m: m, n: n, k: k, a: .float32(a.basePointer), transA: transA, lda: transA ? m : k,
                                       b: .float32(b.basePointer), transB: transB, ldb: transB ? k : n,
                                       c: out.baseAddress!, ldc: n, beta: beta)
            }
            Self.expectBFloat16Close(actual, expected, "transA \(transA) transB \(transB) beta \(beta)")
        }
    }

    @Test func linearConvolutionAndAttentionMatchFloat32() throws {
        let x = Self.random([2, 45, 64], seed: 4)
        let linear = Linear(weight: Self.random([48, 64], seed: 5), bias: Self.random([48], seed: 6))
        let half = try linear.bfloat16()
        guard case .bfloat16 = half.weights else { Issue.record("weights not bfloat16"); return }
        Self.expectBFloat16Close(try half(x), try linear(x), "Linear")
        // [in, out] (GPT-2 Conv1D) weights are transposed on conversion.
        let inOut = Linear(weight: Self.random([64, 48], seed: 7), bias: nil, layout: .inOut)
        Self.expectBFloat16Close(try inOut.bfloat16()(x), try inOut(x), "Linear [in, out]")

        let signal = Self.random([2, 32, 50], seed: 8)
        let weight = Self.random([24, 32, 5], seed: 9), bias = Self.random([24], seed: 10)
        let bf = try BFloat16Matrix(weight.reshaped([24, 160]))
        Self.expectBFloat16Close(try signal.conv1d(weight: weight, bias: bias, padding: 4, dilation: 2, bfloat16Weight: bf),
                                 try signal.conv1d(weight: weight, bias: bias, padding: 4, dilation: 2), "conv1d")
        #expect(throws: TensorError.self) {
            try signal.conv1d(weight: weight, bias: bias, bfloat16Weight: try BFloat16Matrix(weight.reshaped([48, 80])))
        }

        let q = Self.random([2, 3, 40, 16], seed: 11), k = Self.random([2, 3, 33, 16], seed: 12)
        let v = Self.random([2, 3, 33, 8], seed: 13)
        let mask = AttentionMask(keyLengths: [33, 20])
        Self.expectBFloat16Close(
            try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, precision: .bfloat16),
            try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask), "attention")
    }

    /// The 16-lane rounding (AVX-512) agrees bit for bit with the definition on every kind of value: ties to even
    /// both ways, carries into the exponent, infinities, NaNs, subnormals, signed zeros; the strided-rows variant too.
    @Test func vectorRoundingMatchesTheDefinition() {
        var values: [Float] = [1, 1 + 1 / 256, 1 + 3 / 256, -(1 + 1 / 256), -(1 + 3 / 256), .infinity, -.infinity, .nan,
                               -.nan, 0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
                               Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x7F7F_FFFF),
                               Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC0_0001)]
        values += (0..<61).map { Float(bitPattern: UInt32(truncatingIfNeeded: ($0 &* 0x9E37_79B9) ^ 0x3F00_0000)) }
        func reference(_ f: Float) -> UInt16 {
            let u = f.bitPattern
            if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(u >> 16) | 0x40 }
            return UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
        }
        var bits = [UInt16](repeating: 0, count: values.count)
        indextts_to_bf16(values, &bits, values.count)
        #expect(bits == values.map(reference))
        // 3 rows of 20 from a source with rows 23 apart into rows 21 apart.
        var rows = [UInt16](repeating: 0xAAAA, count: 3 * 21)
        indextts_to_bf16_rows(values, 23, &rows, 21, 3, 20)
        for r in 0..<3 {
            #expect(Array(rows[(r * 21)..<(r * 21 + 20)]) == values[(r * 23)..<(r * 23 + 20)].map(reference), "row \(r)")
            #expect(rows[r * 21 + 20] == 0xAAAA, "row \(r) padding untouched")
        }
    }

    /// A Linear layer's bfloat16 weight is held in oneDNN's packed layout: products with it equal those with the
    /// plain layout bit for bit (same kernels, no copy), and the plain values come back out of it exactly.
    @Test func packedWeightsEqualPlainWeights() throws {
        let weight = Self.random([72, 96], seed: 21)
        let plain = try BFloat16Matrix(weight)
        let packed = try BFloat16Matrix(weight, packedAsTransposedRightOperand: true)
        #expect(packed.isPacked && !plain.isPacked)
        #expect(packed.float32().scalars == plain.float32().scalars)
        for rows in [1, 5, 130] {
            let x = Self.random([rows, 96], seed: UInt64(22 + rows))
            let bias = Self.random([72], seed: 23)
            // The packed product itself runs (a failure would fall back to the plain layout unnoticed).
            var direct = [Float](repeating: 0, count: rows * 72)
            let status = withExtendedLifetime(x) {
                indextts_dnnl_matmul_packed(rows, x.basePointer, 0, 96, packed.packedTranspose, &direct, 72, 0)
            }
            #expect(status == 0, "\(rows) rows: packed product refused (\(status))")
            #expect(direct == (try x.linear(bfloat16: plain).scalars), "\(rows) rows, direct")
            #expect(try x.linear(bfloat16: packed, bias: bias).scalars == x.linear(bfloat16: plain, bias: bias).scalars,
                    "\(rows) rows")
        }
        // Used any other way (here as the left operand) it is unpacked first.
        let b = Self.random([96, 7], seed: 24)
        var viaPacked = [Float](repeating: 0, count: 72 * 7), viaPlain = viaPacked
        withExtendedLifetime(b) {
            Tensor.bfloat16Product(m: 72, n: 7, k: 96, a: .bfloat16(packed), transA: false, lda: 96,
                                   b: .float32(UnsafePointer(b.basePointer)), transB: false, ldb: 7, c: &viaPacked, ldc: 7, beta: 0)
            Tensor.bfloat16Product(m: 72, n: 7, k: 96, a: .bfloat16(plain), transA: false, lda: 96,
                                   b: .float32(UnsafePointer(b.basePointer)), transB: false, ldb: 7, c: &viaPlain, ldc: 7, beta: 0)
        }
        #expect(viaPacked == viaPlain)
        #expect(try Linear(weight: weight, bias: nil).bfloat16().weightByteCount >= 72 * 96 * 2)
    }

    /// A bfloat16 convolution rounds its input rows straight into the bfloat16 column matrix: bit for bit the
    /// product of the weight with the fp32 im2col matrix rounded by the product itself (kernel 3, dilation 2, two
    /// items; and a pointwise convolution).
    @Test func bfloat16ConvolutionEqualsTheProductWithFloat32Columns() throws {
        let (channels, outChannels, time) = (24, 40, 37)
        for (kernel, dilation, padding) in [(3, 2, 2), (1, 1, 0)] {
            let weight = Self.random([outChannels, channels, kernel], seed: UInt64(60 + kernel))
            let bias = Self.random([outChannels], seed: 62)
            let signal = Self.random([2, channels, time], seed: 63)
            let bf = try BFloat16Matrix(weight.reshaped([outChannels, channels * kernel]))
            let y = try signal.conv1d(weight: weight, bias: bias, padding: padding, dilation: dilation, bfloat16Weight: bf)
            let padded = time + 2 * padding, outTime = padded - dilation * (kernel - 1)
            #expect(y.shape == [2, outChannels, outTime])
            let x = signal.scalars, got = y.scalars, b = bias.scalars
            for item in 0..<2 {
                var cols = [Float](repeating: 0, count: channels * kernel * outTime)
                for c in 0..<channels {
                    for k in 0..<kernel {
                        for t in 0..<outTime {
                            let p = t + k * dilation - padding
                            cols[(c * kernel + k) * outTime + t] = p >= 0 && p < time ? x[(item * channels + c) * time + p] : 0
                        }
                    }
                }
                var expected = [Float](repeating: 0, count: outChannels * outTime)
                cols.withUnsafeBufferPointer { colsPointer in
                    Tensor.bfloat16Product(m: outChannels, n: outTime, k: channels * kernel, a: .bfloat16(bf), transA: false,
                                           lda: channels * kernel, b: .float32(colsPointer.baseAddress!), transB: false,
                                           ldb: outTime, c: &expected, ldc: outTime, beta: 0)
                }
                for o in 0..<outChannels {
                    for t in 0..<outTime { expected[o * outTime + t] += b[o] }
                }
                let start = item * outChannels * outTime
                #expect(Array(got[start..<(start + outChannels * outTime)]) == expected, "kernel \(kernel), item \(item)")
            }
        }
    }

    /// SwiGLU's fused down projection rounds `silu(gate)·up` once, as the product would round the fp32
    /// intermediate: bit for bit the unfused `down(gate.siluMultiplying(up))` on the portable activation (run here
    /// whatever the CPU), within 3e-3 relative RMS on the AVX512-BF16 kernel (its e^x may move a value to the
    /// neighbouring bfloat16), with and without bias, for one row, a few and more rows than one core's chunk.
    @Test func siluGatedLinearEqualsTheUnfusedProduct() throws {
        let (hidden, outputs) = (40, 24)
        let down = try BFloat16Matrix(Self.random([outputs, hidden], seed: 31), packedAsTransposedRightOperand: true)
        let bias = Self.random([outputs], seed: 32)
        for rows in [1, 7, 530] {
            let both = Self.random([rows, 2 * hidden], seed: UInt64(33 + rows)).affine(scale: 6)
            let halves = try both.split(sizes: [hidden, hidden], axis: 1)
            let intermediate = try halves[0].siluMultiplying(halves[1])
            for b in [nil, bias] {
                let unfused = try intermediate.linear(bfloat16: down, bias: b)
                let portable = try both.siluGatedLinear(bfloat16: down, bias: b, rowKernel: false)
                #expect(portable.shape == [rows, outputs])
                #expect(portable.scalars == unfused.scalars, "\(rows) rows, bias \(b != nil), portable activation")
                // The kernel's e^x may move an activation to the neighbouring bfloat16 (2⁻⁸ of it).
                let fused = try both.siluGatedLinear(bfloat16: down, bias: b)
                #expect(relativeRMSDifference(fused, unfused) < 3e-3, "\(rows) rows, bias \(b != nil)")
            }
        }
        #expect(throws: TensorError.self) { try Self.random([3, 2 * hidden + 1], seed: 1).siluGatedLinear(bfloat16: down) }
        #expect(throws: TensorError.self) {
            try Self.random([3, 2 * hidden], seed: 1).siluGatedLinear(bfloat16: down, bias: Self.random([outputs + 1], seed: 2))
        }
    }

    /// A SwiGLU block in bfloat16 stacks its gate and up weights into one product (gated, with or without biases;
    /// any weight layout) and matches the fp32 block; the unstacked bfloat16 block agrees with it.
    @Test func stackedSwiGLUMatchesFloat32() throws {
        let (dim, hidden) = (48, 72)
        let w1 = Self.random([hidden, dim], seed: 41), w3 = Self.random([dim, hidden], seed: 42), w2 = Self.random([dim, hidden], seed: 43)
        let b1 = Self.random([hidden], seed: 44), b3 = Self.random([hidden], seed: 45), b2 = Self.random([dim], seed: 46)
        let x = Self.random([2, 33, dim], seed: 47)
        for biases in [false, true] {
            let block = FeedForward(.gated(gate: Linear(weight: w1, bias: biases ? b1 : nil),
                                           up: Linear(weight: w3, bias: biases ? b3 : nil, layout: .inOut),
                                           down: Linear(weight: w2, bias: biases ? b2 : nil)))
            let converted = try block.bfloat16()
            guard case .gatedStacked = converted.kind else {
                Issue.record("bfloat16() kept the gate and up products apart (biases \(biases))")
                continue
            }
            Self.expectBFloat16Close(try converted(x), try block(x), "stacked SwiGLU, biases \(biases)")
            let apart = FeedForward(.gated(gate: try Linear(weight: w1, bias: biases ? b1 : nil).bfloat16(),
                                           up: try Linear(weight: w3, bias: biases ? b3 : nil, layout: .inOut).bfloat16(),
                                           down: try Linear(weight: w2, bias: biases ? b2 : nil).bfloat16()))
            // Apart: the portable activation, rounded; stacked: the AVX512-BF16 kernel where the CPU has it.
            #expect(relativeRMSDifference(try converted(x), try apart(x)) < 3e-3, "stacked vs apart, biases \(biases)")
        }
    }

    /// The chunked SwiGLU (the `[gate | up]` product a few rows at a time, activated while in cache) equals the
    /// whole product followed by ``Tensor/siluGatedLinear(bfloat16:bias:)`` bit for bit: chunks of 7 rows (a
    /// shorter last one), one chunk, biases or none, the activation on the kernel and on the portable path.
    @Test(arguments: [(7, false), (7, true), (1000, true)])
    func chunkedSwiGLUEqualsWholeProduct(chunkRows: Int, biases: Bool) throws {
        let (dim, hidden, out) = (48, 40, 24)
        let gateUp = try BFloat16Matrix(Self.random([2 * hidden, dim], seed: 51), packedAsTransposedRightOperand: true)
        let down = try BFloat16Matrix(Self.random([out, hidden], seed: 52), packedAsTransposedRightOperand: true)
        let (upBias, downBias) = biases ? (Self.random([2 * hidden], seed: 53), Self.random([out], seed: 54)) : (nil, nil)
        let x = Self.random([3, 17, dim], seed: 55)
        for rowKernel in [false, true] {
            let whole = try x.linear(bfloat16: gateUp, bias: upBias).siluGatedLinear(bfloat16: down, bias: downBias,
                                                                                    rowKernel: rowKernel)
            let chunked = try x.swiGLU(bfloat16: gateUp, gateUpBias: upBias, down: down, downBias: downBias,
                                       chunkRows: chunkRows, rowKernel: rowKernel)
            #expect(chunked.shape == [3, 17, out])
            #expect(chunked.scalars == whole.scalars, "chunks of \(chunkRows), biases \(biases), row kernel \(rowKernel)")
        }
        #expect(throws: TensorError.self) {
            try x.swiGLU(bfloat16: gateUp, gateUpBias: Self.random([3], seed: 1), down: down, downBias: nil)
        }
        #expect(throws: TensorError.self) { try x.swiGLU(bfloat16: down, gateUpBias: nil, down: down, downBias: nil) }
    }

    /// Activations rounded by their producer (``BFloat16Rows``) give the products exactly what oneDNN's own
    /// conversion of the fp32 activations gives: a linear layer, the chunked SwiGLU, an attention block; the
    /// modulated RMS norm and the concatenation written as bfloat16 equal their fp32 results rounded.
    @Test func roundedActivationsFeedProductsBitForBit() throws {
        let x = Self.random([2, 37, 48], seed: 61)
        let weight = try BFloat16Matrix(Self.random([40, 48], seed: 62), packedAsTransposedRightOperand: true)
        let bias = Self.random([40], seed: 63)
        let rows = BFloat16Rows(x)
        #expect(rows.shape == [2, 37, 48] && rows.rows == 74 && rows.columns == 48)
        #expect(try Tensor.linear(bfloat16Rows: rows, weight: weight, bias: bias).scalars
                == x.linear(bfloat16: weight, bias: bias).scalars)
        #expect(throws: TensorError.self) { try Tensor.linear(bfloat16Rows: BFloat16Rows(Self.random([3, 5], seed: 1)), weight: weight) }
        // No input features: the bias alone, as the fp32 input path gives (rows still count without columns).
        let empty = BFloat16Rows(Tensor.zeros([3, 0]))
        #expect(empty.rows == 3 && empty.columns == 0)
        let noInputs = try BFloat16Matrix(Tensor.zeros([4, 0]))
        #expect(try Tensor.linear(bfloat16Rows: empty, weight: noInputs, bias: bias.sliced(axis: 0, range: 0..<4)).scalars
                == Tensor.zeros([3, 0]).linear(bfloat16: noInputs, bias: bias.sliced(axis: 0, range: 0..<4)).scalars)

        let gateUp = try BFloat16Matrix(Self.random([64, 48], seed: 64), packedAsTransposedRightOperand: true)
        let down = try BFloat16Matrix(Self.random([24, 32], seed: 65), packedAsTransposedRightOperand: true)
        #expect(try Tensor.swiGLU(bfloat16Rows: rows, gateUp: gateUp, gateUpBias: nil, down: down, downBias: bias.sliced(axis: 0, range: 0..<24)).scalars
                == x.swiGLU(bfloat16: gateUp, gateUpBias: nil, down: down, downBias: bias.sliced(axis: 0, range: 0..<24)).scalars)

        let modulation = Self.random([2, 96], seed: 66), gain = Self.random([48], seed: 67)
        let normed = try x.rmsNormModulated(weight: gain, eps: 1e-5, scale: modulation, scaleOffset: 0, shift: modulation,
                                            shiftOffset: 48)
        let normedRows = try x.rmsNormModulated(bfloat16: gain, eps: 1e-5, scale: modulation, scaleOffset: 0,
                                                shift: modulation, shiftOffset: 48)
        #expect(try normedRows.float32().scalars == BFloat16Rows(normed).float32().scalars)
        #expect(try normedRows.float32().shape == [2, 37, 48])

        let other = Self.random([2, 37, 16], seed: 68)
        let joined = try BFloat16Rows.concatenated([x, other])
        #expect(try joined.float32().scalars == BFloat16Rows(Tensor.concatenate([x, other], axis: 2)).float32().scalars)
        #expect(throws: TensorError.self) { try BFloat16Rows.concatenated([x, Self.random([2, 36, 16], seed: 2)]) }

        let attention = try MultiHeadAttention(
            projections: .fused(Linear(weight: Self.random([144, 48], seed: 69), bias: nil)),
            output: Linear(weight: Self.random([48, 48], seed: 70), bias: nil), heads: 4, headDimensions: 12).bfloat16()
        let rotary = RotaryEmbedding(dimensions: 12, style: .interleaved)
        #expect(try attention(rows, rotary: rotary, queryRows: 5..<37).scalars
                == attention(x, rotary: rotary, queryRows: 5..<37).scalars)
    }

    /// Attention in bfloat16 works through the queries in blocks (``Tensor/queryBlockRows``) with each head on one
    /// core: several blocks, uneven last blocks, causal masking across block boundaries and key lengths all agree
    /// with fp32.
    /// Keys and values are strided views (rows 40 apart, as heads of a fused projection or a KV cache); with more
    /// queries than keys the causal mask leaves the first rows nothing (zeros); `(257, 301, true)` also applies key
    /// lengths on top of the causal mask.
    @Test(arguments: [(300, 300, false), (257, 301, true), (129, 129, true), (400, 90, false), (200, 150, true)])
    func blockedAttentionMatchesFloat32(queries: Int, keys: Int, causal: Bool) throws {
        let q = Self.random([2, 3, queries, 16], seed: 31)
        let kv = Self.random([2, 3, keys, 40], seed: 32)
        let (k, v) = (try kv.sliced(axis: 3, range: 0..<16), try kv.sliced(axis: 3, range: 20..<28))
        #expect(k.strides[2] == 40 && v.strides[2] == 40)
        let lengths = queries == 257 ? [keys, keys / 2] : nil
        let mask = AttentionMask(isCausal: causal, keyLengths: causal ? lengths : [keys, keys / 2])
        Self.expectBFloat16Close(
            try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, precision: .bfloat16),
            try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask),
            "attention \(queries)×\(keys)\(causal ? " causal" : "")")
    }

    /// No keys at all: zeros, as the fp32 path gives.
    @Test func attentionWithoutKeysIsZero() throws {
        let q = Self.random([1, 2, 130, 16], seed: 34)
        let out = try Tensor.scaledDotProductAttention(query: q, key: Tensor.zeros([1, 2, 0, 16]),
                                                       value: Tensor.zeros([1, 2, 0, 8]), precision: .bfloat16)
        #expect(out.shape == [1, 2, 130, 8] && out.scalars.allSatisfy { $0 == 0 })
    }

    @Test func choicesParse() {
        #expect(ComputePrecision(choice: "bf16") == .bfloat16 && ComputePrecision(choice: "FP32") == .float32)
        #expect(ComputePrecision(choice: "auto") == .bfloat16)  // this suite only runs where bf16 is native
        #expect(ComputePrecision(choice: "fp8") == nil)
        #expect(throws: Never.self) { try ComputePrecision.bfloat16.checkSupported() }
    }
}

/// Where bfloat16 is not native it is refused with the reason, and `auto` means fp32.
@Suite(.enabled(if: !ComputePrecision.bfloat16Supported, "runs only on CPUs without native bfloat16"))
struct BFloat16UnsupportedTests {
    @Test func bfloat16IsRefusedWithTheReason() {
        #expect(ComputePrecision(choice: "auto") == .float32)
        #expect(throws: TensorError.self) { try ComputePrecision.bfloat16.checkSupported() }
    }
}
