import Foundation
@testable import IndexTTSModels
import IndexTTSNN
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// BigVGAN v2 against the vocoder code IndexTTS2 runs (tools/fixtures/generate_bigvgan.py: upstream
/// `indextts.s2mel.modules.bigvgan` with the torch anti-aliased activation; tiny random generators saved as
/// `config.json` + `bigvgan_generator.pt`).
struct BigVGANTests {
    static let io = try! WeightStore.open(path: Fixtures.path("models/bigvgan_io.safetensors"))
    static let model = try! BigVGAN.load(directory: Fixtures.path("models/bigvgan"))
    static let snakeModel = try! BigVGAN.load(directory: Fixtures.path("models/bigvgan_snake"))

    @Test func configurationReadsConfigJSON() throws {
        let c = Self.model.configuration
        #expect(c.numMels == 12 && c.upsampleRates == [4, 2, 2] && c.upsampleKernelSizes == [8, 4, 4])
        #expect(c.upsampleInitialChannel == 32 && c.resblockKernelSizes == [3, 7, 11])
        #expect(c.activation == "snakebeta" && c.snakeLogscale && !c.useTanhAtFinal && !c.useBiasAtFinal)
        #expect(Self.model.hopLength == 16 && Self.model.sampleRate == 22050)
        // Without the two use_* flags upstream's defaults apply: tanh and a bias on conv_post.
        let s = Self.snakeModel.configuration
        #expect(s.activation == "snake" && !s.snakeLogscale && s.useTanhAtFinal && s.useBiasAtFinal)
        #expect(s.hopSize == 4 && s.resblockDilationSizes == [[1, 2], [2, 3]])
        // The official nvidia/bigvgan_v2_22khz_80band_256x config.json (training fields trimmed) is the default.
        let official = try BigVGANConfiguration.parse(json: Data("""
            {"resblock": "1", "num_gpus": 0, "batch_size": 32, "learning_rate": 0.0001,
             "upsample_rates": [4,4,2,2,2,2], "upsample_kernel_sizes": [8,8,4,4,4,4], "upsample_initial_channel": 1536,
             "resblock_kernel_sizes": [3,7,11], "resblock_dilation_sizes": [[1,3,5], [1,3,5], [1,3,5]],
             "use_tanh_at_final": false, "use_bias_at_final": false, "activation": "snakebeta", "snake_logscale": true,
             "use_cqtd_instead_of_mrd": true, "mpd_reshapes": [2, 3, 5, 7, 11], "num_mels": 80, "num_freq": 1025,
             "n_fft": 1024, "hop_size": 256, "win_size": 1024, "sampling_rate": 22050, "fmin": 0, "fmax": null,
             "dist_config": {"dist_backend": "nccl", "dist_url": "tcp://localhost:54321", "world_size": 1}}
            """.utf8))
        #expect(official == BigVGANConfiguration())
        #expect(official.hopLength == 256 && official.channels(afterStage: 5) == 24)
    }

    @Test func badConfigurationsNameTheField() throws {
        func field(_ json: String) -> String? {
            do {
                _ = try BigVGANConfiguration.parse(json: Data(json.utf8), source: "config.json")
                return nil
            } catch let ModelError.invalidConfiguration(file, field, _) {
                #expect(file == "config.json")
                return field
            } catch { return "unexpected \(error)" }
        }
        #expect(field(#"{"upsample_rates": [4, "x"]}"#) == "upsample_rates.1")
        #expect(field(#"{"num_mels": "eighty"}"#) == "num_mels")
        #expect(field(#"{"upsample_kernel_sizes": [8, 8]}"#) == "upsample_kernel_sizes")
        #expect(field(#"{"upsample_kernel_sizes": [8, 8, 4, 4, 4, 5]}"#) == "upsample_kernel_sizes.5")
        #expect(field(#"{"activation": "relu"}"#) == "activation")
        #expect(field(#"{"hop_size": 300}"#) == "hop_size")
        #expect(field(#"{"upsample_initial_channel": 100}"#) == "upsample_initial_channel")
        #expect(field(#"{"resblock_dilation_sizes": [[1, 3, 5], [1, 0], [1]]}"#) == "resblock_dilation_sizes.1.1")
        #expect(field("{not json") == "-")
        // Sizes far beyond any model are refused before anything is computed or allocated with them.
        #expect(field(#"{"upsample_rates": [4096], "upsample_kernel_sizes": [4096]}"#) == "upsample_rates.0")
        #expect(field(#"{"upsample_rates": [\#(Array(repeating: "2", count: 70).joined(separator: ","))]}"#) == "upsample_rates")
        #expect(field(#"{"resblock_dilation_sizes": [[1, 3, 4611686018427387904], [1, 3, 5], [1, 3, 5]]}"#) == "resblock_dilation_sizes.0.2")
        #expect(field(#"{"upsample_initial_channel": 4611686018427387904}"#) == "upsample_initial_channel")
        #expect(throws: ModelError.unsupported(component: "BigVGAN", reason: "resblock '2' (released BigVGAN v2 models use \"1\")")) {
            try BigVGANConfiguration.parse(json: Data(#"{"resblock": "2"}"#.utf8))
        }
        #expect(throws: ModelError.self) { try BigVGAN.load(directory: "/nonexistent/bigvgan") }
    }

    @Test func loadingNamesMissingAndUnexpectedKeys() throws {
        let store = try WeightStore.open(path: Fixtures.path("models/bigvgan/bigvgan_generator.pt"))
        #expect(store.keys.contains("generator.conv_pre.weight_g"))  // upstream's wrapper and weight norm, verbatim
        // conv_post.bias is unexpected: the configuration says use_bias_at_final: false.
        try expectKeyMismatch(store, missing: "generator.resblocks.4.activations.3.downsample.lowpass.filter",
                              unexpected: "generator.conv_post.bias") {
            try BigVGAN.load(from: $0, configuration: Self.model.configuration)
        }
        var wrong = Self.model.configuration
        wrong.upsampleInitialChannel = 64
        #expect(throws: WeightsError.self) { try BigVGAN.load(from: store, configuration: wrong) }
    }

    /// `Activation1d` alone: up-sample, SnakeBeta, down-sample, with the checkpoint's filters.
    @Test func antiAliasedActivationMatchesActivation1d() throws {
        let store = try WeightStore.open(path: Fixtures.path("models/bigvgan/bigvgan_generator.pt"))
        let activation = try ModuleLoader.load("act", from: store, prefix: "generator.resblocks.0.activations.0.") { loader in
            AntiAliasedActivation(loader, channels: 16, kind: .snakeBeta, logScale: true)
        }
        let input = try Self.io.tensor("act_in")
        expectClose(try activation(input), try Self.io.tensor("act_out"), "Activation1d")
        // Short signals: below 6 samples the replicate padding reaches every output; from 6 on the kernel's interior
        // path (outputs 2…T−4) starts, so 5–9 cover the switch between the two paths.
        for length in [1, 2, 3, 5, 6, 7, 8, 9] {
            expectClose(try activation(input.sliced(axis: 2, range: 0..<length)), try Self.io.tensor("act_out_\(length)"),
                        "Activation1d, \(length) samples")
        }
        #expect(throws: ModelError.self) { try activation(Tensor.zeros([1, 15, 4])) }
    }

    @Test func stagesMatchUpstream() throws {
        let mel = try Self.io.tensor("mel")
        let x = try Self.model.convPre(mel)
        expectClose(x, try Self.io.tensor("conv_pre"), "conv_pre")
        let stage = Self.model.stages[0]
        let up = try stage.upsample(x)
        var sum = try stage.blocks[0](up)
        for block in stage.blocks.dropFirst() { sum = try sum.adding(block(up)) }
        expectClose(sum.divided(by: 3), try Self.io.tensor("stage0"), "ups.0 + AMP blocks")
    }

    @Test func waveformsMatchUpstream() throws {
        let wave = try Self.model(Self.io.tensor("mel"))
        expectClose(wave, try Self.io.tensor("wave"), "9 frames")
        #expect(wave.scalars.contains { abs($0) == 1 })  // the clamp engaged
        expectClose(try Self.model(Self.io.tensor("mel_one")), try Self.io.tensor("wave_one"), "1 frame")
        expectClose(try Self.snakeModel(Self.io.tensor("snake_mel")), try Self.io.tensor("snake_wave"), "snake, batch 2")
        let samples = try Self.model.waveform(mel: Self.io.tensor("mel").squeezed(0))
        #expect(samples == (try Self.model(Self.io.tensor("mel")).scalars))
    }

    /// Every resblock convolution as Winograd F(4, 4), and none, against the same upstream outputs (at the default
    /// threshold these tiny models, 16 channels and narrower, keep every convolution direct).
    @Test(arguments: [0, Int.max])
    func winogradAndDirectConvolutionsMatchUpstream(_ threshold: Int) throws {
        let model = try BigVGAN.load(directory: Fixtures.path("models/bigvgan"), winogradThreshold: threshold)
        let snake = try BigVGAN.load(directory: Fixtures.path("models/bigvgan_snake"), winogradThreshold: threshold)
        let counts = model.winogradConvolutions
        #expect(counts.total == 54 && counts.winograd == (threshold == 0 ? 54 : 0))
        #expect(snake.winogradConvolutions.winograd == (threshold == 0 ? snake.winogradConvolutions.total : 0))
        expectClose(try model(Self.io.tensor("mel")), try Self.io.tensor("wave"), "9 frames, threshold \(threshold)")
        expectClose(try model(Self.io.tensor("mel_one")), try Self.io.tensor("wave_one"), "1 frame, threshold \(threshold)")
        expectClose(try snake(Self.io.tensor("snake_mel")), try Self.io.tensor("snake_wave"), "snake, batch 2, threshold \(threshold)")
    }

    @Test func theThresholdIsChannelsTimesKernel() throws {
        // Stage 0 has 16 channels: kernel 11 reaches 176, kernel 7 112; stage 1 (8 channels) reaches 88 at most.
        let model = try BigVGAN.load(directory: Fixtures.path("models/bigvgan"), winogradThreshold: 112)
        #expect(model.winogradConvolutions == (12, 54))
        #expect(try BigVGAN.load(directory: Fixtures.path("models/bigvgan"), winogradThreshold: 177).winogradConvolutions == (0, 54))
        if getenv("INDEXTTS_WINOGRAD") == nil && getenv("INDEXTTS_WINOGRAD_THRESHOLD") == nil {
            #expect(BigVGAN.defaultWinogradThreshold == 288)
        }
    }

    /// `bench vocoder --compare-direct` on a small random model: both models run and their waveforms agree.
    @Test func benchmarkComparesWithDirectConvolutions() throws {
        var c = BigVGANConfiguration()
        (c.numMels, c.upsampleRates, c.upsampleKernelSizes, c.upsampleInitialChannel, c.hopSize) = (12, [4, 2, 2], [8, 4, 4], 64, 16)
        let r = try BigVGANBenchmark.run(configuration: c, frames: 9, runs: 1, compareDirect: true,
                                         temporaryDirectory: Fixtures.temporaryDirectory())
        #expect(r.samples == 9 * 16 && r.winogradConvolutions.total == 54)
        if BigVGAN.defaultWinogradThreshold == 288 { #expect(r.winogradConvolutions.winograd == 6) }  // 32 channels × 11
        let direct = try #require(r.direct)
        #expect(direct.seconds > 0 && direct.peak > 0)
        #expect(direct.maximumDifference <= 1e-4 * direct.peak + 1e-6, "largest difference \(direct.maximumDifference), peak \(direct.peak)")
        #expect(try BigVGANBenchmark.run(configuration: c, frames: 9, runs: 1, temporaryDirectory: Fixtures.temporaryDirectory()).direct == nil)
    }

    @Test func invalidMelsAreRejected() {
        #expect(throws: ModelError.self) { try Self.model(Tensor.zeros([1, 11, 5])) }
        #expect(throws: ModelError.self) { try Self.model(Tensor.zeros([1, 12, 0])) }
        #expect(throws: ModelError.self) { try Self.model(Tensor.zeros([12, 5])) }
        #expect(throws: ModelError.self) { try Self.model.waveform(mel: Tensor.zeros([1, 12, 5])) }
    }
}
