import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// CAM++ against the speaker encoder IndexTTS2 runs (tools/fixtures/generate_campplus.py: upstream
/// `indextts.s2mel.modules.campplus.DTDNN.CAMPPlus` in eval mode, tiny random model saved as
/// `campplus_cn_common.bin`).
struct CAMPPlusTests {
    static let io = try! WeightStore.open(path: Fixtures.path("models/campplus_io.safetensors"))
    static let configuration = CAMPPlusConfiguration(featDim: 16, embeddingSize: 8, growthRate: 4, bnSize: 2, initChannels: 16)
    static let model = try! CAMPPlus.load(checkpoint: Fixtures.path("models/campplus/campplus_cn_common.bin"),
                                          configuration: configuration)

    @Test func headMatchesFCM() throws {
        let feats = try Self.io.tensor("feats")
        expectClose(try Self.model.head(feats.transposed(1, 2)), try Self.io.tensor("head"), "FCM head")
    }

    /// 230 frames: the CAM layers pool one full and one partial 100-frame segment.
    @Test func embeddingsMatchUpstream() throws {
        expectClose(try Self.model(Self.io.tensor("feats")), try Self.io.tensor("embedding"), "230 frames")
        expectClose(try Self.model(Self.io.tensor("feats_batch")), try Self.io.tensor("embedding_batch"), "3 frames, batch 2")
    }

    @Test func segmentContextAveragesPartialSegments() throws {
        // 250 frames of value t: overall mean 124.5; segments [0,100), [100,200), [200,250) average 49.5, 149.5, 224.5.
        let x = try Tensor(shape: [1, 1, 250], scalars: (0..<250).map(Float.init))
        let context = try CAMDenseTDNNLayer.context(x).scalars
        #expect(context[0] == 124.5 + 49.5 && context[99] == 124.5 + 49.5)
        #expect(context[100] == 124.5 + 149.5 && context[249] == 124.5 + 224.5)
    }

    @Test func loadingChecksKeysAndShapes() throws {
        let store = try WeightStore.open(path: Fixtures.path("models/campplus/campplus_cn_common.bin"))
        #expect(store.contains("xvector.block3.tdnnd16.cam_layer.linear2.bias"))
        try expectKeyMismatch(store, missing: "xvector.dense.nonlinear.batchnorm.running_var",
                              unexpected: "xvector.block4.tdnnd1.linear1.weight") {
            try CAMPPlus.load(from: $0, configuration: Self.configuration)
        }
        // IndexTTS2's default sizes (80 bins, 192-d) do not fit the tiny checkpoint: every misshapen tensor is named.
        #expect(throws: WeightsError.self) { try CAMPPlus.load(from: store) }
    }

    @Test func badInputsAndConfigurationsAreTypedErrors() {
        #expect(throws: ModelError.self) { try Self.model(Tensor.zeros([1, 2, 16])) }  // too short for the std
        #expect(throws: ModelError.self) { try Self.model(Tensor.zeros([1, 10, 15])) }
        #expect(throws: ModelError.self) { try Self.model(Tensor.zeros([10, 16])) }
        var c = CAMPPlusConfiguration()
        #expect(CAMPPlusConfiguration().headChannels == 320)
        c.featDim = 81
        #expect(throws: ModelError.invalidConfiguration(file: "c", field: "feat_dim", reason: "81 is not a multiple of 8")) {
            try c.validate(source: "c")
        }
        c = CAMPPlusConfiguration()
        c.blockKernelSizes = [3, 4, 3]
        #expect(throws: ModelError.self) { try c.validate() }
        c = CAMPPlusConfiguration()
        c.blockDilations = [1, 2]
        #expect(throws: ModelError.self) { try c.validate() }
    }
}
