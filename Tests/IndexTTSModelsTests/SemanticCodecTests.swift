import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// MaskGCT's semantic codec against upstream's `RepCodec` as IndexTTS2 builds it
/// (tools/fixtures/generate_conditioning.py: `build_semantic_codec` on a tiny random config, saved as
/// `semantic_codec/model.safetensors` with the decoder half included).
struct SemanticCodecTests {
    static let directory = "models/conditioning/semantic_codec"
    static let io = try! WeightStore.open(path: Fixtures.path("models/conditioning/codec_io.safetensors"))
    static let codec = try! SemanticCodec.load(checkpoint: Fixtures.path("\(directory)/model.safetensors"),
                                               configYAML: Fixtures.path("\(directory)/config.yaml"))

    static func codes(_ key: String) throws -> [[Int]] { try io.integerRows(key) }

    @Test func configurationComesFromConfigYAML() throws {
        let c = Self.codec.configuration
        #expect(c == SemanticCodecConfiguration(codebookSize: 64, hiddenSize: 32, codebookDim: 8, vocosDim: 16,
                                                vocosIntermediateDim: 24, vocosNumLayers: 2))
        // IndexTTS2's config.yaml values are the defaults.
        let real = try SemanticCodecConfiguration.parse(yaml: """
            semantic_codec:
              codebook_size: 8192
              hidden_size: 1024
              codebook_dim: 8
              vocos_dim: 384
              vocos_intermediate_dim: 2048
              vocos_num_layers: 12
            """)
        #expect(real == SemanticCodecConfiguration())
    }

    @Test func encoderMatchesUpstream() throws {
        expectClose(try Self.codec.encode(Self.io.tensor("features")), try Self.io.tensor("latents"), "encoder output")
    }

    @Test func quantizeMatchesUpstream() throws {
        let (codes, embeddings) = try Self.codec.quantize(Self.io.tensor("features"))
        #expect(codes == (try Self.codes("codes")))
        #expect(Set(codes[0]).count > 4)
        expectClose(embeddings, try Self.io.tensor("embeddings"), "S_ref")

        let (batchCodes, batchEmbeddings) = try Self.codec.quantize(Self.io.tensor("features_batch"))
        #expect(batchCodes == (try Self.codes("codes_batch")))
        expectClose(batchEmbeddings, try Self.io.tensor("embeddings_batch"), "S_ref, batch 2")
    }

    @Test func vq2embMatchesUpstream() throws {
        expectClose(try Self.codec.embeddings(codes: Self.codes("vq_codes")), try Self.io.tensor("vq_embeddings"), "vq2emb")
        expectClose(try Self.codec.embeddings(codes: Self.codes("vq_codes_batch")), try Self.io.tensor("vq_embeddings_batch"),
                    "vq2emb, batch 2")
    }

    @Test func loadingChecksKeysAndIgnoresOnlyTheDecoder() throws {
        let store = try WeightStore.open(path: Fixtures.path("\(Self.directory)/model.safetensors"))
        #expect(store.keys.contains { $0.hasPrefix("decoder.0.convnext.1.") })  // as MaskGCT ships it
        try expectKeyMismatch(store, missing: "quantizer.quantizers.0.in_project.weight_g",
                              unexpected: "encoder.0.convnext.2.gamma") {
            try SemanticCodec.load(from: $0, configuration: Self.codec.configuration)
        }
        // IndexTTS2's sizes do not fit the tiny file: a key mismatch naming the misshapen tensors.
        do {
            _ = try SemanticCodec.load(from: store)
            Issue.record("the tiny codec loaded with IndexTTS2's sizes")
        } catch let WeightsError.keyMismatch(_, _, _, wrongShapes) {
            #expect(wrongShapes.contains { $0.hasPrefix("quantizer.quantizers.0.codebook.weight is [64, 8]") })
        }
        #expect(throws: WeightsError.self) {
            try SemanticCodec.load(checkpoint: Fixtures.path("\(Self.directory)/absent.safetensors"))
        }
    }

    @Test func badInputsAndConfigurationsAreTypedErrors() throws {
        #expect(throws: ModelError.self) { try Self.codec.quantize(Tensor.zeros([1, 0, 32])) }
        #expect(throws: ModelError.self) { try Self.codec.quantize(Tensor.zeros([1, 5, 31])) }
        #expect(throws: ModelError.self) { try Self.codec.quantize(Tensor.zeros([5, 32])) }
        #expect(throws: ModelError.self) { try Self.codec.embeddings(codes: [[1, 64]]) }
        #expect(throws: ModelError.self) { try Self.codec.embeddings(codes: [[1, 2], [3]]) }
        #expect(throws: ModelError.self) { try Self.codec.embeddings(codes: []) }
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "semantic_codec", reason: "missing section")) {
            try SemanticCodecConfiguration.parse(yaml: "gpt:\n  model_dim: 1280\n", source: "c.yaml")
        }
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "semantic_codec.codebook_size", reason: "expected Int")) {
            try SemanticCodecConfiguration.parse(yaml: "semantic_codec:\n  codebook_size: many\n", source: "c.yaml")
        }
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "semantic_codec.vocos_dim", reason: "must be in 1...1048576, got 0")) {
            try SemanticCodecConfiguration.parse(yaml: "semantic_codec:\n  vocos_dim: 0\n", source: "c.yaml")
        }
        #expect(throws: ModelError.self) {
            try SemanticCodecConfiguration.parse(yaml: "semantic_codec:\n  num_quantizers: 2\n")
        }
        #expect(throws: ModelError.self) {
            try SemanticCodecConfiguration.load(configYAML: Fixtures.path("\(Self.directory)/absent.yaml"))
        }
    }
}
