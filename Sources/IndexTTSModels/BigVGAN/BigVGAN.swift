import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// BigVGAN v2, IndexTTS2's vocoder (`indextts/s2mel/modules/bigvgan/bigvgan.py`): log-mel
/// `[batch, num_mels, frames]` → waveform `[batch, 1, frames · hop]` in [−1, 1].
///
/// `conv_pre` (k7) → for each stage i: `ups.i.0` (transposed conv, stride `upsample_rates[i]`, padding (k − u)/2),
/// then the mean of one ``AMPBlock`` per `resblock_kernel_sizes` entry → `activation_post` → `conv_post` (k7, one
/// channel) → `clamp(−1, 1)` (or `tanh` when `use_tanh_at_final`). Every convolution is weight-normalised in the
/// checkpoint and fused on load. Immutable after loading; safe to share between threads.
public struct BigVGAN: Sendable {
    struct Stage: Sendable {
        let upsample: ConvTranspose1d
        let blocks: [AMPBlock]
    }

    public let configuration: BigVGANConfiguration
    let convPre: Conv1d
    let stages: [Stage]
    let activationPost: AntiAliasedActivation
    let convPost: Conv1d

    /// Resblock convolutions whose channels × kernel size reach this run as Winograd F(4, 4)
    /// (``WinogradConvolution1d``: about half the arithmetic of the direct convolution as large matrix products,
    /// agreeing with it to a few 1e-6 relative). The default, 288 (96 channels × 3 taps, 48 × 7), leaves out the last
    /// stages' narrow convolutions, whose products are too small to gain. `INDEXTTS_WINOGRAD_THRESHOLD=N` (N ≥ 0; any
    /// other value is ignored) sets it, `INDEXTTS_WINOGRAD=off` (or `0`, `no`, `false`) keeps every convolution direct.
    public static let defaultWinogradThreshold: Int = {
        if !Winograd.enabledByEnvironment { return Int.max }
        if let value = getenv("INDEXTTS_WINOGRAD_THRESHOLD"), let threshold = Int(String(cString: value)), threshold >= 0 {
            return threshold
        }
        return 288
    }()

    init(_ loader: ParameterLoader, configuration c: BigVGANConfiguration, winogradThreshold: Int) {
        configuration = c
        let kind: AntiAliasedActivation.Kind = c.activation == "snake" ? .snake : .snakeBeta
        convPre = Conv1d(loader.scoped("conv_pre"), Conv1dConfiguration(
            inChannels: c.numMels, outChannels: c.upsampleInitialChannel, kernelSize: 7, padding: 3))
        var stages: [Stage] = []
        for (i, (rate, kernel)) in zip(c.upsampleRates, c.upsampleKernelSizes).enumerated() {
            let channels = c.channels(afterStage: i)
            let upsample = ConvTranspose1d(loader.scoped("ups").scoped("\(i)").scoped("0"), Conv1dConfiguration(
                inChannels: c.upsampleInitialChannel >> i, outChannels: channels, kernelSize: kernel, stride: rate,
                padding: (kernel - rate) / 2))
            let blocks = zip(c.resblockKernelSizes, c.resblockDilationSizes).enumerated().map { j, pair in
                AMPBlock(loader.scoped("resblocks").scoped("\(i * c.resblockKernelSizes.count + j)"), channels: channels,
                         kernelSize: pair.0, dilations: pair.1, activation: kind, logScale: c.snakeLogscale,
                         winograd: channels * pair.0 >= winogradThreshold)
            }
            stages.append(Stage(upsample: upsample, blocks: blocks))
        }
        self.stages = stages
        let last = c.channels(afterStage: c.upsampleRates.count - 1)
        activationPost = AntiAliasedActivation(loader.scoped("activation_post"), channels: last, kind: kind,
                                               logScale: c.snakeLogscale)
        convPost = Conv1d(loader.scoped("conv_post"), Conv1dConfiguration(
            inChannels: last, outChannels: 1, kernelSize: 7, padding: 3, bias: c.useBiasAtFinal))
    }

    /// Builds the generator from `store` (a bare state dict, or one under `generator` as `bigvgan_generator.pt`
    /// holds it), checking the key set exactly. Resblock convolutions whose channels × kernel size reach
    /// `winogradThreshold` run as Winograd F(4, 4) (``defaultWinogradThreshold``; 0: all of them).
    /// - Throws: ``ModelError`` for an unsupported or inconsistent configuration,
    ///   ``IndexTTSWeights/WeightsError/keyMismatch(module:missing:unexpected:wrongShapes:)`` naming every missing,
    ///   unexpected or misshapen tensor.
    public static func load(from store: WeightStore, configuration: BigVGANConfiguration,
                            winogradThreshold: Int = defaultWinogradThreshold) throws -> BigVGAN {
        try configuration.validate(source: store.source)
        let prefix = store.contains("generator.conv_pre.bias") ? "generator." : ""
        return try ModuleLoader.load("BigVGAN (\(store.source))", from: store, prefix: prefix) { loader in
            BigVGAN(loader, configuration: configuration, winogradThreshold: winogradThreshold)
        }
    }

    /// Loads `checkpoint` (`bigvgan_generator.pt`, or a safetensors file with the same keys) with `config.json`.
    public static func load(checkpoint: String, config: String,
                            winogradThreshold: Int = defaultWinogradThreshold) throws -> BigVGAN {
        let configuration = try BigVGANConfiguration.load(path: config)
        return try WeightStore.load(path: checkpoint) {
            try load(from: $0, configuration: configuration, winogradThreshold: winogradThreshold)
        }
    }

    /// Loads a BigVGAN model directory as Hugging Face ships it: `config.json` + `bigvgan_generator.pt`.
    public static func load(directory: String, winogradThreshold: Int = defaultWinogradThreshold) throws -> BigVGAN {
        let url = URL(fileURLWithPath: directory)
        return try load(checkpoint: url.appendingPathComponent("bigvgan_generator.pt").path,
                        config: url.appendingPathComponent("config.json").path, winogradThreshold: winogradThreshold)
    }

    /// Resblock convolutions running as Winograd F(4, 4), of all resblock convolutions.
    public var winogradConvolutions: (winograd: Int, total: Int) {
        let all = stages.flatMap { $0.blocks.flatMap { $0.dilated + $0.plain } }
        return (all.filter(\.isWinograd).count, all.count)
    }

    /// Output sample rate (Hz).
    public var sampleRate: Int { configuration.samplingRate }
    /// Samples per mel frame.
    public var hopLength: Int { configuration.hopLength }

    /// Log-mel `[batch, num_mels, frames]` (frames ≥ 1) → waveform `[batch, 1, frames · hop]`.
    public func callAsFunction(_ mel: Tensor) throws -> Tensor {
        guard mel.rank == 3, mel.shape[1] == configuration.numMels, mel.shape[2] >= 1 else {
            throw ModelError.invalidInput(
                component: "BigVGAN", reason: "mel \(mel.shape), expected [batch, \(configuration.numMels), frames ≥ 1]")
        }
        var x = try convPre(mel)
        for stage in stages {
            x = try stage.upsample(x)
            var sum = try stage.blocks[0](x)
            for block in stage.blocks.dropFirst() { sum = try sum.adding(block(x)) }
            x = sum.divided(by: Float(stage.blocks.count))
        }
        let y = try convPost(activationPost(x))
        return configuration.useTanhAtFinal ? y.tanh() : y.clamped(min: -1, max: 1)
    }

    /// One mel `[num_mels, frames]` → its samples.
    public func waveform(mel: Tensor) throws -> [Float] {
        guard mel.rank == 2 else {
            throw ModelError.invalidInput(component: "BigVGAN", reason: "mel \(mel.shape), expected [\(configuration.numMels), frames]")
        }
        return try self(mel.unsqueezed(0)).scalars
    }
}
