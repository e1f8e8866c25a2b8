import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// IndexTTS-2.5's codec against upstream's `EnhancedCodec.decode` (index-tts ee40fa7;
/// tools/fixtures/generate_enhanced_codec.py: a tiny random codec saved as `codec.pth` the way upstream's
/// `load_checkpoint` reads it, then decoded by a second instance that loaded that file).
struct EnhancedCodecTests {
    static let directory = "models/enhanced_codec"
    static let io = try! WeightStore.open(path: Fixtures.path("\(directory)/codec_io.safetensors"))
    static let codec = try! EnhancedCodec.load(checkpoint: Fixtures.path("\(directory)/codec.pth"),
                                               configYAML: Fixtures.path("\(directory)/config.yaml"))

    static func codes(_ key: String) throws -> [[Int]] { try io.integerRows(key) }

    @Test func configurationComesFromConfigYAMLWithTheClassDefaultFactor() throws {
        let c = Self.codec.configuration
        #expect(c.sizes == SemanticCodecConfiguration(codebookSize: 64, hiddenSize: 32, codebookDim: 8, vocosDim: 16,
                                                      vocosIntermediateDim: 24, vocosNumLayers: 2))
        #expect(c.sizes.downsampleScale == nil && c.downsampleScale == 2)
        // 2.5's config.yaml carries 2.0's semantic_codec block unchanged: IndexTTS-2.5's codec is the default.
        let real = try EnhancedCodecConfiguration.parse(yaml: """
            semantic_codec:
              codebook_size: 8192
              hidden_size: 1024
              codebook_dim: 8
              vocos_dim: 384
              vocos_intermediate_dim: 2048
              vocos_num_layers: 12
            """)
        #expect(real == EnhancedCodecConfiguration())
        #expect(try EnhancedCodecConfiguration.parse(yaml: "semantic_codec:\n  downsample_scale: 2\n").downsampleScale == 2)
        // The same block means no down-sampling to 2.0's codec.
        #expect(try SemanticCodecConfiguration.parse(yaml: "semantic_codec:\n  vocos_dim: 384\n").downsampleScale == nil)
    }

    @Test func decodeMatchesUpstream() throws {
        let features = try Self.codec.decode(codes: Self.codes("codes"))
        #expect(features.shape == [1, 18, 32])
        expectClose(features, try Self.io.tensor("features"), "decode, 9 codes")
        expectClose(try Self.codec.decode(codes: Self.codes("codes_batch")), try Self.io.tensor("features_batch"),
                    "decode, batch 2")
    }

    @Test func decoderBeforeTheUpsamplingMatchesUpstream() throws {
        for (codesKey, decodedKey) in [("codes", "decoded"), ("codes_batch", "decoded_batch")] {
            let embeddings = try Self.codec.quantizer.embeddings(Self.codes(codesKey), component: "test")
            expectClose(try Self.codec.projection(Self.codec.decoder(embeddings)), try Self.io.tensor(decodedKey),
                        decodedKey)
        }
    }

    @Test func loadingChecksKeysAndIgnoresOnlyTheEncodingHalf() throws {
        let store = try WeightStore.open(path: Fixtures.path("\(Self.directory)/codec.pth"))
        // As upstream saves it: everything under "model", the encoder and `down` included.
        #expect(store.keys.contains("model.down.weight") && store.keys.contains("model.encoder.1.weight"))
        try expectKeyMismatch(store, missing: "model.up.weight", unexpected: "model.decoder.0.convnext.2.gamma") {
            try EnhancedCodec.load(from: $0, configuration: Self.codec.configuration)
        }
        // IndexTTS-2.5's sizes do not fit the tiny file: a key mismatch naming the misshapen tensors.
        do {
            _ = try EnhancedCodec.load(from: store)
            Issue.record("the tiny codec loaded with IndexTTS-2.5's sizes")
        } catch let WeightsError.keyMismatch(_, _, _, wrongShapes) {
            #expect(wrongShapes.contains { $0.hasPrefix("model.quantizer.quantizers.0.codebook.weight is [64, 8]") })
        }
        // 2.0's codec file (no `model.` prefix, no `up`) is not a 2.5 codec.
        #expect(throws: WeightsError.self) {
            try EnhancedCodec.load(checkpoint: Fixtures.path("models/conditioning/semantic_codec/model.safetensors"),
                                   configYAML: Fixtures.path("\(Self.directory)/config.yaml"))
        }
        #expect(throws: WeightsError.self) {
            try EnhancedCodec.load(checkpoint: Fixtures.path("\(Self.directory)/absent.pth"))
        }
    }

    /// Streaming decodes windows with context codes: with ``EnhancedCodec/contextRadius`` codes each side (3 + 3 per
    /// block + 1 for `up` = 10 here) a window's features are the whole decode's at its frames, at the sequence's
    /// ends and inside it; one code less changes the frames at an interior window's edges.
    @Test func windowsWithTheContextRadiusEqualTheWholeDecode() throws {
        let codec = Self.codec
        #expect(codec.contextRadius == 10)
        var random = SeededRandomSource(seed: 3)
        let codes = (0..<64).map { _ in Int(random.nextUniform() * 64) }
        let whole = try codec.decode(codes: [codes])                             // [1, 128, 32]
        func window(_ w: Range<Int>, context: Int) throws -> (Tensor, Tensor) {
            let slice = max(0, w.lowerBound - context)..<min(codes.count, w.upperBound + context)
            let local = (w.lowerBound - slice.lowerBound)..<(w.upperBound - slice.lowerBound)
            let decoded = try codec.decode(codes: Array(codes[slice]), keeping: local)
            return (decoded, try whole.sliced(axis: 1, range: (2 * w.lowerBound)..<(2 * w.upperBound)).contiguous())
        }
        for w in [0..<12, 5..<17, 20..<40, 50..<64, 0..<64] {
            let (decoded, expected) = try window(w, context: codec.contextRadius)
            #expect(decoded.shape == [1, 2 * w.count, 32])
            expectClose(decoded, expected, "window \(w) with \(codec.contextRadius) codes of context")
        }
        let (short, expected) = try window(20..<40, context: codec.contextRadius - 1)
        let gap = zip(short.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(gap > 1e-3, "one code less context changed the window by only \(gap)")
        #expect(throws: ModelError.self) { try codec.decode(codes: codes, keeping: 60..<65) }
        #expect(throws: ModelError.self) { try codec.decode(codes: codes, keeping: 3..<3) }
    }

    @Test func badInputsAndConfigurationsAreTypedErrors() throws {
        #expect(throws: ModelError.invalidInput(component: "IndexTTS-2.5 codec", reason: "code 64 outside 0..<64")) {
            try Self.codec.decode(codes: [[1, 64]])
        }
        #expect(throws: ModelError.self) { try Self.codec.decode(codes: [[1, -1]]) }
        #expect(throws: ModelError.self) { try Self.codec.decode(codes: [[1, 2], [3]]) }
        #expect(throws: ModelError.self) { try Self.codec.decode(codes: [[]]) }
        #expect(throws: ModelError.self) { try Self.codec.decode(codes: []) }
        #expect(throws: ModelError.unsupported(component: "IndexTTS-2.5 codec",
                                               reason: "downsample_scale 1 (EnhancedCodec decodes at 2× only)")) {
            try EnhancedCodecConfiguration.parse(yaml: "semantic_codec:\n  downsample_scale: 1\n")
        }
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "semantic_codec.vocos_dim",
                                                        reason: "must be in 1...1048576, got 0")) {
            try EnhancedCodecConfiguration.parse(yaml: "semantic_codec:\n  vocos_dim: 0\n", source: "c.yaml")
        }
        #expect(throws: ModelError.unsupported(component: "IndexTTS-2.5 codec",
                                               reason: "num_quantizers 2 (the released codecs have 1)")) {
            try EnhancedCodecConfiguration.parse(yaml: "semantic_codec:\n  num_quantizers: 2\n")
        }
        // 2.0's codec still refuses a down-sampling factor.
        #expect(throws: ModelError.unsupported(component: "semantic codec",
                                               reason: "downsample_scale 2 (IndexTTS2's codec has none)")) {
            try SemanticCodecConfiguration.parse(yaml: "semantic_codec:\n  downsample_scale: 2\n")
        }
    }
}
