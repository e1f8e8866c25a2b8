import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// The UnifiedVoice GPT-2 core against transformers' GPT2Model built as IndexTTS2 builds it
/// (tools/fixtures/generate_models.py).
struct GPT2ModelTests {
    static let configuration = GPT2Configuration(modelDimension: 64, layers: 3, heads: 4)
    static let io = try! WeightStore.open(path: Fixtures.path("models/gpt2_core_io.safetensors"))

    static func model() throws -> GPT2Model {
        try GPT2Model.load(from: WeightStore.open(path: Fixtures.path("models/gpt2_core.pth")), prefix: "model.",
                           configuration: configuration)
    }

    @Test func fullSequenceMatchesTransformers() throws {
        let gpt = try Self.model()
        let x = try Self.io.tensor("inputs_embeds")
        let out = try gpt(x, state: gpt.makeState(batch: 2, capacity: 16))
        expectClose(out, try Self.io.tensor("last_hidden_state"), "last_hidden_state")
    }

    /// Prefill 4 positions, then decode one at a time with the KV cache: every step equals the full pass.
    @Test func cachedDecodingMatchesTheFullPass() throws {
        let gpt = try Self.model()
        let x = try Self.io.tensor("inputs_embeds"), expected = try Self.io.tensor("last_hidden_state")
        let state = gpt.makeState(batch: 2, capacity: 11)
        var outputs = [try gpt(x.sliced(axis: 1, range: 0..<4), state: state)]
        for t in 4..<11 { outputs.append(try gpt(x.sliced(axis: 1, range: t..<(t + 1)), state: state)) }
        expectClose(try Tensor.concatenate(outputs, axis: 1), expected, "incremental")
        #expect(state.length == 11)
        #expect(throws: TensorError.self) { try gpt(x.sliced(axis: 1, range: 0..<1), state: state) }  // cache full
    }

    /// A decoding step's rows do not depend on which batch item holds them, which beam search relies on to keep its
    /// beams' caches in place (`UnifiedVoice.beamSlots`): three items with different histories, stepped as they are
    /// and again after the items were permuted (`State.reorder`, a 3-cycle) and the step's inputs with them, give the
    /// same rows bit for bit.
    @Test func aStepsRowsDoNotDependOnTheirBatchItem() throws {
        let gpt = try Self.model()
        let x = try Self.io.tensor("inputs_embeds")  // [2, 11, 64]
        let third = try x.sliced(axis: 0, range: 0..<1).affine(scale: 0.5, shift: 0.25)
        let h = try Tensor.concatenate([x, third], axis: 0).contiguous()  // [3, 11, 64]
        func items(_ t: Tensor, _ order: [Int]) throws -> Tensor {
            try Tensor.concatenate(order.map { try t.sliced(axis: 0, range: $0..<($0 + 1)) }, axis: 0).contiguous()
        }
        let plain = gpt.makeState(batch: 3, capacity: 11), moved = gpt.makeState(batch: 3, capacity: 11)
        _ = try gpt(h.sliced(axis: 1, range: 0..<6), state: plain)
        _ = try gpt(h.sliced(axis: 1, range: 0..<6), state: moved)
        let order = [2, 0, 1]
        try moved.reorder(order)
        for t in 6..<9 {
            let step = try h.sliced(axis: 1, range: t..<(t + 1))
            let a = try gpt(step, state: plain), b = try gpt(items(step, order), state: moved)
            #expect(try items(a, order).scalars == b.contiguous().scalars, "position \(t)")
        }
    }

    @Test func leftPaddingMaskMatchesTransformersOnRealPositions() throws {
        let gpt = try Self.model()
        let x = try Self.io.tensor("inputs_embeds")
        let out = try gpt(x, state: gpt.makeState(batch: 2, capacity: 11), attentionMask: Self.io.tensor("attention_mask"))
        let expected = try Self.io.tensor("last_hidden_state_masked")
        // Item 0 has no padding; item 1's first three positions are padding (their outputs are meaningless).
        expectClose(try out.sliced(axis: 0, range: 0..<1), try expected.sliced(axis: 0, range: 0..<1), "unpadded item")
        expectClose(try out.sliced(axis: 0, range: 1..<2).sliced(axis: 1, range: 3..<11),
                    try expected.sliced(axis: 0, range: 1..<2).sliced(axis: 1, range: 3..<11), "padded item")
    }

    @Test func wrongConfigurationNamesTheKeys() throws {
        var wrong = Self.configuration
        wrong.layers = 4
        do {
            _ = try GPT2Model.load(from: WeightStore.open(path: Fixtures.path("models/gpt2_core.pth")), prefix: "model.",
                                   configuration: wrong)
            Issue.record("a fourth layer cannot load")
        } catch let WeightsError.keyMismatch(_, missing, unexpected, _) {
            #expect(missing.contains("model.gpt.h.3.attn.c_attn.weight"))
            #expect(unexpected.isEmpty)
        }
    }

    @Test func configurationDecodesFromConfigYAMLNames() throws {
        let json = #"{"model_dim": 1280, "layers": 24, "heads": 20}"#
        let c = try JSONDecoder().decode(GPT2Configuration.self, from: Data(json.utf8))
        #expect(c == GPT2Configuration())
        #expect(c.headDimension == 64)
    }
}

import Foundation

extension GPT2ModelTests {
    /// fp16 projection weights: hidden states (after ln_f, so order 1) stay within 2e-2 of transformers' fp32
    /// output, and cached decoding still equals the full pass computed with the same weights.
    @Test func halfPrecisionWeightsStayClose() throws {
        let gpt = try Self.model().halfPrecision()
        let x = try Self.io.tensor("inputs_embeds")
        let full = try gpt(x, state: gpt.makeState(batch: 2, capacity: 11))
        expectClose(full, try Self.io.tensor("last_hidden_state"), tolerance: .init(rtol: 0, atol: 2e-2), "fp16 weights")
        let state = gpt.makeState(batch: 2, capacity: 11)
        var steps = [try gpt(x.sliced(axis: 1, range: 0..<5), state: state)]
        for t in 5..<11 { steps.append(try gpt(x.sliced(axis: 1, range: t..<(t + 1)), state: state)) }
        // Prefill (GEMM path) and single steps (GEMV path) sum in different orders: fp32 round-off only.
        expectClose(try Tensor.concatenate(steps, axis: 1), full, tolerance: .init(rtol: 1e-4, atol: 1e-4), "fp16 cached")
        #expect(gpt.projectionWeightBytes * 2 == (try Self.model()).projectionWeightBytes)
    }
}
