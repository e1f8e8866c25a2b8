import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// w2v-BERT 2.0 against transformers 4.52.1 `Wav2Vec2BertModel` (tools/fixtures/generate_conditioning.py: a tiny
/// random model with w2v-BERT 2.0's feature size, relative-key window 64/8 and kernel 31; 4 layers, of which
/// `hidden_states[2]` stands for IndexTTS2's `hidden_states[17]`), saved by `save_pretrained` as a plain folder
/// and as a Hugging Face cache entry.
struct W2VBertTests {
    static let root = "models/conditioning"
    static let io = try! WeightStore.open(path: Fixtures.path("\(root)/w2vbert_io.safetensors"))
    static let full = try! W2VBert.load(directory: Fixtures.path("\(root)/w2v-bert-2.0"), layers: 4)

    static func mask(_ key: String) throws -> [[Int32]] { try io.integerRows(key, as: Int32.self) }

    @Test func configurationComesFromConfigJSON() throws {
        var expected = W2VBertConfiguration(hiddenSize: 16, numHiddenLayers: 4, numAttentionHeads: 2, intermediateSize: 24)
        expected.featureProjectionInputDim = 160
        #expect(Self.full.configuration == expected)
        #expect(Self.full.loadedLayers == 4)
    }

    /// Every hidden state of an 80-frame input whose last row is padding (the extractor's odd-frame case); 80
    /// frames reach both clamps of the −64/+8 relative-position window.
    @Test func hiddenStatesMatchTransformers() throws {
        let features = try Self.io.tensor("features"), mask = try Self.mask("mask")
        #expect(mask[0].last == 0 && mask[0].first == 1)
        for k in 0...4 {
            expectClose(try Self.full.hiddenStates(features, attentionMask: mask, layer: k), try Self.io.tensor("hidden_\(k)"),
                        "hidden_states[\(k)]")
        }
    }

    /// bfloat16 projections (``ComputePrecision``) against transformers' fp32 hidden state 4: relative RMS difference
    /// below 1e-2 and not identical (the bfloat16 path ran).
    @Test(.enabled(if: ComputePrecision.bfloat16Supported, "needs a CPU with AVX512-BF16 or AMX-BF16"))
    func bfloat16HiddenStatesStayCloseToTransformers() throws {
        let model = try Self.full.converted(to: .bfloat16)
        #expect(model.precision == .bfloat16)
        let relative = relativeRMSDifference(try model.hiddenStates(Self.io.tensor("features"), attentionMask: Self.mask("mask"), layer: 4),
                                             try Self.io.tensor("hidden_4"))
        print("w2v-BERT bf16 hidden_states[4]: relative RMS difference \(relative)")
        #expect(relative < 1e-2 && relative > 1e-7)
    }

    @Test func paddedBatchAndMissingMaskMatchTransformers() throws {
        expectClose(try Self.full.hiddenStates(Self.io.tensor("features_batch"), attentionMask: Self.mask("mask_batch"), layer: 2),
                    try Self.io.tensor("hidden_batch_2"), "batch of 2, second item padded after 21 rows")
        expectClose(try Self.full.hiddenStates(Self.io.tensor("features_nomask"), layer: 2), try Self.io.tensor("hidden_nomask_2"),
                    "9 frames, no attention mask")
    }

    @Test func statisticsNormaliseAsIndexTTS2() throws {
        let stats = try W2VBertStatistics.load(path: Fixtures.path("\(Self.root)/wav2vec2bert_stats.pt"))
        let hidden = try Self.full.hiddenStates(Self.io.tensor("features"), attentionMask: Self.mask("mask"), layer: 2)
        expectClose(try stats(hidden), try Self.io.tensor("normalized_2"), "(h − mean) / sqrt(var)")
        #expect(throws: ModelError.self) { try stats(Tensor.zeros([1, 3, 15])) }
    }

    /// The Hugging Face cache layout, from the cache folder, the repository entry or the snapshot itself; only the
    /// requested layers are loaded.
    @Test func loadsFromTheHuggingFaceCacheOnlyTheLayersNeeded() throws {
        let cache = Fixtures.path("\(Self.root)/hf_cache")
        let entry = cache + "/models--facebook--w2v-bert-2.0"
        let snapshot = entry + "/snapshots/0123456789abcdef0123456789abcdef01234567"
        let features = try Self.io.tensor("features"), mask = try Self.mask("mask")
        for path in [cache, entry, snapshot, Fixtures.path(Self.root)] {
            #expect(try W2VBert.resolve(directory: path).path == snapshot)
            let model = try W2VBert.load(directory: path, layers: 2)
            #expect(model.loadedLayers == 2)
            expectClose(try model.hiddenStates(features, attentionMask: mask, layer: 2), try Self.io.tensor("hidden_2"), path)
            #expect(throws: ModelError.self) { try model.hiddenStates(features, attentionMask: mask, layer: 3) }
        }
    }

    /// An IndexTTS2 model folder whose hf_cache/ holds a plain `w2v-bert-2.0/` copy, and a cache entry without
    /// `refs/main` (its only snapshot is used).
    @Test func resolvesPlainCopiesAndRefLessCacheEntries() throws {
        let fm = FileManager.default
        let checkpoints = try Fixtures.temporaryDirectory()
        let plain = checkpoints.appendingPathComponent("hf_cache/w2v-bert-2.0")
        try fm.createDirectory(at: plain, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try fm.copyItem(atPath: Fixtures.path("\(Self.root)/w2v-bert-2.0/\(name)"), toPath: plain.appendingPathComponent(name).path)
        }
        #expect(try W2VBert.resolve(directory: checkpoints.path).path == plain.path)
        #expect(try W2VBert.load(directory: checkpoints.path, layers: 1).loadedLayers == 1)

        let cache = try Fixtures.temporaryDirectory()
        let snapshot = cache.appendingPathComponent("models--facebook--w2v-bert-2.0/snapshots/abc")
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Fixtures.path("\(Self.root)/w2v-bert-2.0/config.json"), toPath: snapshot.appendingPathComponent("config.json").path)
        #expect(try W2VBert.resolve(directory: cache.path).path == snapshot.path)
        // A snapshot whose model file is missing: a typed error naming the file.
        #expect(throws: WeightsError.self) { try W2VBert.load(directory: cache.path) }
    }

    /// A checkpoint without layers 2 and 3 still yields `hidden_states[2]`: later layers are neither needed nor read.
    @Test func layersPastTheRequestedStateAreNotNeeded() throws {
        let store = try WeightStore.open(path: Fixtures.path("\(Self.root)/w2v-bert-2.0/model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for key in store.keys where !key.hasPrefix("encoder.layers.2.") && !key.hasPrefix("encoder.layers.3.") {
            tensors[key] = try store.tensor(key)
        }
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("two_layers.safetensors").path
        try SafeTensorsWriter.write(tensors, to: path)
        let truncated = try WeightStore.open(path: path)
        let model = try W2VBert.load(from: truncated, configuration: Self.full.configuration, layers: 2)
        expectClose(try model.hiddenStates(Self.io.tensor("features"), attentionMask: Self.mask("mask"), layer: 2),
                    try Self.io.tensor("hidden_2"), "two layers loaded")
        do {
            _ = try W2VBert.load(from: truncated, configuration: Self.full.configuration, layers: 3)
            Issue.record("layer 2 loaded from a checkpoint without it")
        } catch let WeightsError.keyMismatch(_, missing, unexpected, _) {
            #expect(missing.contains("encoder.layers.2.self_attn.distance_embedding.weight") && unexpected.isEmpty)
        }
        #expect(throws: ModelError.self) { try W2VBert.load(from: store, configuration: Self.full.configuration, layers: 5) }
    }

    @Test func loadingChecksKeysAndShapes() throws {
        let store = try WeightStore.open(path: Fixtures.path("\(Self.root)/w2v-bert-2.0/model.safetensors"))
        #expect(store.contains("masked_spec_embed"))  // present in the real file too, and skipped
        try expectKeyMismatch(store, missing: "encoder.layers.1.self_attn.distance_embedding.weight",
                              unexpected: "encoder.layers.1.self_attn.linear_pos.weight") {
            try W2VBert.load(from: $0, configuration: Self.full.configuration, layers: 2)
        }
        // w2v-BERT 2.0's sizes against the tiny file: every misshapen tensor is named.
        do {
            _ = try W2VBert.load(from: store, configuration: W2VBertConfiguration(), layers: 1)
            Issue.record("the tiny checkpoint loaded with w2v-BERT 2.0's sizes")
        } catch let WeightsError.keyMismatch(_, _, _, wrongShapes) {
            #expect(wrongShapes.contains { $0.hasPrefix("feature_projection.projection.weight is [16, 160]") })
        }
    }

    @Test func badInputsAndFilesAreTypedErrors() throws {
        let model = Self.full
        #expect(throws: ModelError.self) { try model.hiddenStates(Tensor.zeros([1, 0, 160])) }
        #expect(throws: ModelError.self) { try model.hiddenStates(Tensor.zeros([1, 4, 159])) }
        #expect(throws: ModelError.self) { try model.hiddenStates(Tensor.zeros([4, 160])) }
        #expect(throws: ModelError.self) { try model.hiddenStates(Tensor.zeros([1, 4, 160]), attentionMask: [[1, 1, 1]]) }
        #expect(throws: ModelError.self) { try model.hiddenStates(Tensor.zeros([1, 4, 160]), attentionMask: [[0, 0, 0, 0]]) }
        #expect(throws: ModelError.self) { try model.hiddenStates(Tensor.zeros([1, 4, 160]), layer: 5) }

        #expect(throws: ModelError.invalidConfiguration(file: "c.json", field: "hidden_size", reason: "expected Int")) {
            try W2VBertConfiguration.parse(json: Data(#"{"hidden_size": "wide"}"#.utf8), source: "c.json")
        }
        #expect(throws: ModelError.invalidConfiguration(file: "c.json", field: "num_attention_heads", reason: "3 does not divide hidden_size 16")) {
            try W2VBertConfiguration.parse(json: Data(#"{"hidden_size": 16, "num_attention_heads": 3}"#.utf8), source: "c.json")
        }
        #expect(throws: ModelError.self) {
            try W2VBertConfiguration.parse(json: Data(#"{"position_embeddings_type": "rotary"}"#.utf8))
        }
        #expect(throws: ModelError.self) {
            try W2VBertConfiguration.parse(json: Data(#"{"position_embeddings_type": null}"#.utf8))
        }
        #expect(throws: ModelError.self) { try W2VBertConfiguration.parse(json: Data(#"{"conv_depthwise_kernel_size": 30}"#.utf8)) }
        #expect(throws: ModelError.self) { try W2VBertConfiguration.parse(json: Data(#"{"hidden_act": "mish"}"#.utf8)) }
        #expect(throws: ModelError.self) { try W2VBertConfiguration.parse(json: Data("not json".utf8)) }

        // A folder without the model, a folder whose model file is missing, a stats file without `var`.
        let scratch = try Fixtures.temporaryDirectory()
        #expect(throws: WeightsError.self) { try W2VBert.load(directory: scratch.path) }
        try FileManager.default.copyItem(atPath: Fixtures.path("\(Self.root)/w2v-bert-2.0/config.json"),
                                         toPath: scratch.appendingPathComponent("config.json").path)
        #expect(throws: WeightsError.self) { try W2VBert.load(directory: scratch.path) }
        let statsPath = scratch.appendingPathComponent("stats.safetensors").path
        try SafeTensorsWriter.write(["mean": Tensor.zeros([16])], to: statsPath)
        #expect(throws: WeightsError.missingTensor(key: "var", source: statsPath)) { try W2VBertStatistics.load(path: statsPath) }
        #expect(throws: ModelError.self) { try W2VBertStatistics(mean: Tensor.zeros([2]), variance: Tensor.zeros([2])) }
    }

    /// `indextts bench conditioning` writes random weights with exactly the keys the loaders check (here at a tiny
    /// width, with all 17 layers IndexTTS2 runs).
    @Test func benchmarkWeightsLoadThroughTheCheckedPath() throws {
        var w2v = W2VBertConfiguration(hiddenSize: 16, numHiddenLayers: 24, numAttentionHeads: 2, intermediateSize: 24)
        w2v.featureProjectionInputDim = 160
        let codec = SemanticCodecConfiguration(codebookSize: 32, hiddenSize: 16, codebookDim: 8, vocosDim: 8,
                                               vocosIntermediateDim: 12, vocosNumLayers: 2)
        let r = try ConditioningBenchmark.run(features: Tensor.zeros([1, 6, 160]), attentionMask: [[1, 1, 1, 1, 1, 0]], runs: 1,
                                              w2v: w2v, codec: codec, temporaryDirectory: Fixtures.temporaryDirectory())
        #expect(r.frames == 6 && r.w2vParameters > 17 * 16 * 24 * 4 && r.codecParameters > 32 * 8)
    }
}
