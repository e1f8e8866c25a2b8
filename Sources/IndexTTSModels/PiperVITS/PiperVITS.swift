import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// Architecture of a Piper VITS voice (Piper's `vits` model, one speaker). The defaults are Piper's "medium"
/// quality settings (the en_US-joe-medium voice); the ONNX file does not record them, so the loader checks every
/// weight's shape against these and reads each convolution's padding and dilation from the graph node it feeds.
public struct PiperVITSConfiguration: Codable, Sendable, Equatable {
    public var symbols = 256
    public var hiddenChannels = 192
    public var interChannels = 192
    public var encoderFilterChannels = 768
    public var encoderHeads = 2
    public var encoderLayers = 6
    public var encoderKernel = 3
    public var encoderWindow = 4
    public var durationKernel = 3
    public var durationFlows = 4
    public var flowCount = 4
    public var flowLayers = 4
    public var flowKernel = 5
    public var upsampleInitialChannels = 256
    public var upsampleRates = [8, 8, 4]
    public var upsampleKernels = [16, 16, 8]
    public var resBlockKernels = [3, 5, 7]
    public var resBlockDilations = [[1, 2], [2, 6], [3, 12]]

    public init() {}

    /// Output samples per latent frame.
    public var hopLength: Int { upsampleRates.reduce(1, *) }
}

/// Binds an exported Piper graph's initializers to module paths. PyTorch's exporter keeps parameter names where a
/// parameter reaches a node unchanged, but constant-folds weight norm (the flows' WaveNet convs), so those weights
/// arrive under generated names such as `onnx::Conv_8168`; node names keep the module path
/// (`/flow/flows.6/enc/in_layers.0/Conv`), so every Conv/ConvTranspose input is renamed `<module>.weight`/`.bias`
/// after the node it feeds. Two more come from their nodes: the embedding table (`/enc_p/emb/Gather`, exported
/// as `sid`) and the duration predictor's folded exp(−logs) (`/dp/flows.0/Mul` → `dp.flows.0.exp_neg_logs`).
/// Graph plumbing constants (`/…/Constant_…`, integer tensors, scalars) are left out; any other initializer that
/// no module claims is reported by name.
public final class PiperGraphBinder {
    let model: ONNXModel
    /// Module path → the Conv or ConvTranspose node that computes it.
    let convNodes: [String: ONNXNode]
    public let store: WeightStore
    var problems: [String] = []

    init(model: ONNXModel) throws {
        self.model = model
        var convNodes: [String: ONNXNode] = [:]
        var renames: [String: String] = [:]
        for node in model.nodes where node.opType == "Conv" || node.opType == "ConvTranspose" {
            let module = Self.modulePath(ofNode: node.name)
            convNodes[module] = node
            if node.inputs.count > 1 { renames[node.inputs[1]] = module + ".weight" }
            if node.inputs.count > 2, !node.inputs[2].isEmpty { renames[node.inputs[2]] = module + ".bias" }
        }
        let initializers = model.initializers
        if let gather = model.node(named: "/enc_p/emb/Gather"), let table = gather.inputs.first {
            renames[table] = "enc_p.emb.weight"
        }
        if let mul = model.node(named: "/dp/flows.0/Mul"),
           let constant = mul.inputs.first(where: { initializers.contains($0) }) {
            renames[constant] = "dp.flows.0.exp_neg_logs"
        }
        var entries: [TensorEntry] = []
        for entry in initializers.entries {
            if let name = renames[entry.name] {
                entries.append(entry.renamed(name))
            } else if entry.dtype.isFloatingPoint, !entry.shape.isEmpty, !entry.name.hasPrefix("/") {
                entries.append(entry)  // a named parameter, or an unclaimed generated one (reported unexpected)
            }
        }
        self.convNodes = convNodes
        store = WeightStore(source: model.path, format: .onnx, entries: entries)
    }

    /// `/flow/flows.6/enc/in_layers.0/Conv` → `flow.flows.6.enc.in_layers.0`.
    static func modulePath(ofNode name: String) -> String {
        var parts = name.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if !parts.isEmpty { parts.removeLast() }
        return parts.joined(separator: ".")
    }

    /// The node attributes of `module`'s convolution, checked against what the architecture expects.
    func attributes(_ module: String, stride: Int, dilation: Int, groups: Int, padding: Int?, transposed: Bool) {
        guard let node = convNodes[module] else {
            problems.append("no \(transposed ? "ConvTranspose" : "Conv") node for \(module)")
            return
        }
        let pads = node.ints("pads") ?? [0, 0]
        let expected = (strides: [stride], dilations: [dilation], group: groups)
        if (node.ints("strides") ?? [1]) != expected.strides || (node.ints("dilations") ?? [1]) != expected.dilations
            || (node.int("group") ?? 1) != expected.group || (padding.map { pads != [$0, $0] } ?? false) {
            problems.append("node \(node.name): strides \(node.ints("strides") ?? [1]), dilations \(node.ints("dilations") ?? [1]), group \(node.int("group") ?? 1), pads \(pads); expected \(expected.strides), \(expected.dilations), \(groups), pads \(padding.map { [$0, $0] } ?? pads)")
        }
    }

    /// The convolution whose parameters are `scope`'s `weight`/`bias`, its node's attributes checked.
    /// - Parameter padding: zero padding on both ends; checked against the node's `pads` except for the text
    ///   encoder's feed-forward, whose graph pads with a separate Pad node (the Conv then has pads 0).
    func conv(scope: ParameterLoader, in inChannels: Int, out outChannels: Int, kernel: Int,
              groups: Int = 1, dilation: Int = 1, padding: Int = 0, bias: Bool = true) -> Conv1d {
        let module = String(scope.prefix.dropLast())
        // The feed-forward convs (kernel > 1 fed by a Pad node) carry pads 0 in the graph.
        let padsInNode = !(module.contains(".ffn_layers.") && kernel > 1)
        attributes(module, stride: 1, dilation: dilation, groups: groups, padding: padsInNode ? padding : 0, transposed: false)
        return Conv1d(scope, Conv1dConfiguration(inChannels: inChannels, outChannels: outChannels, kernelSize: kernel,
                                                 padding: padding, dilation: dilation, groups: groups, bias: bias))
    }

    /// The convolution `name` under `loader`; padding defaults to "same" for an odd kernel.
    func conv(_ loader: ParameterLoader, _ name: String, in inChannels: Int, out outChannels: Int, kernel: Int,
              padding: Int? = nil, bias: Bool = true) -> Conv1d {
        conv(scope: loader.scoped(name), in: inChannels, out: outChannels, kernel: kernel, padding: padding ?? (kernel - 1) / 2,
             bias: bias)
    }

    func convTranspose(_ loader: ParameterLoader, in inChannels: Int, out outChannels: Int, kernel: Int, stride: Int,
                       padding: Int) -> ConvTranspose1d {
        attributes(String(loader.prefix.dropLast()), stride: stride, dilation: 1, groups: 1, padding: padding, transposed: true)
        return ConvTranspose1d(loader, Conv1dConfiguration(inChannels: inChannels, outChannels: outChannels,
                                                           kernelSize: kernel, stride: stride, padding: padding))
    }
}

/// Errors of the Piper voice that are not checkpoint key problems.
public enum PiperVITSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The graph's nodes do not have the structure the port implements (named node, what was found).
    case graphMismatch(path: String, problems: [String])

    public var description: String {
        switch self {
        case .graphMismatch(let path, let problems):
            return "\(path): the graph does not match Piper's VITS (\(problems.count) problems): " + problems.joined(separator: "; ")
        }
    }
}

/// Piper's VITS inference (`SynthesizerTrn.infer`, one speaker) on weights read from the voice's ONNX file:
/// text encoder → stochastic duration predictor (reverse) → durations ⌈exp(log w)·length_scale⌉ → prior sample
/// m + ε·exp(logs)·noise_scale expanded over the frames → reversed coupling flow → HiFi-GAN. Tensors are
/// `[1, channels, time]`; time is phonemes (T) before the expansion and frames (F) after; audio is 256 samples per
/// frame at the voice's sample rate. Immutable after load; safe to share across threads.
public struct PiperVITS: Sendable {
    public let configuration: PiperVITSConfiguration
    let encoder: PiperTextEncoder
    let durationPredictor: PiperDurationPredictor
    let flow: PiperResidualFlow
    private(set) var decoder: PiperHiFiGAN

    /// Every intermediate of one run (for parity checks and diagnostics).
    public struct Stages: Sendable {
        public var hidden: Tensor
        public var mean: Tensor
        public var logScale: Tensor
        public var logDurations: Tensor
        public var durations: [Int]
        public var prior: Tensor
        public var latent: Tensor
        public var audio: Tensor
    }

    /// The random draws of one run: standard normal `[1, 2, T]` for the duration predictor and `[1, C, F]` for the
    /// prior sample (F is known only after the durations, so the second is asked for by frame count).
    public protocol NoiseSource {
        mutating func durationNoise(phonemes: Int) -> Tensor
        mutating func priorNoise(channels: Int, frames: Int) -> Tensor
    }

    /// Reads the weights of a Piper `.onnx` voice.
    /// - Throws: ``IndexTTSWeights/WeightsError`` for an unreadable file or (``WeightsError/keyMismatch``) every
    ///   missing, unclaimed or misshapen weight by name; ``PiperVITSError/graphMismatch(path:problems:)`` naming every
    ///   node whose attributes differ from the architecture.
    public static func load(path: String, configuration: PiperVITSConfiguration = PiperVITSConfiguration()) throws -> PiperVITS {
        try load(model: ONNXModel.read(path: path), configuration: configuration)
    }

    public static func load(model: ONNXModel, configuration c: PiperVITSConfiguration = PiperVITSConfiguration()) throws -> PiperVITS {
        let graph = try PiperGraphBinder(model: model)
        let vits = try ModuleLoader.load("Piper VITS (\(model.path))", from: graph.store) { loader in
            PiperVITS(configuration: c,
                      encoder: PiperTextEncoder(loader.scoped("enc_p"), configuration: c, graph: graph),
                      durationPredictor: PiperDurationPredictor(loader.scoped("dp"), configuration: c, graph: graph),
                      flow: PiperResidualFlow(loader.scoped("flow"), configuration: c, graph: graph),
                      decoder: PiperHiFiGAN(loader.scoped("dec"), configuration: c, graph: graph))
        }
        if !graph.problems.isEmpty { throw PiperVITSError.graphMismatch(path: model.path, problems: graph.problems) }
        return vits.decodingTimeMajor(true)
    }

    /// Whether the HiFi-GAN runs on time-major activations with prepared convolutions (the default where oneDNN is
    /// used) or on PyTorch's channel-major layout (`false`, or where oneDNN is not used): the same arithmetic in
    /// another order, within 1e-5 of each other.
    public var decodesTimeMajor: Bool { decoder.timeMajor != nil }

    /// This voice decoding time-major (`true`, where oneDNN is used) or channel-major; time-major with each stage's
    /// residual blocks fused over time tiles (`fusedStages`, the default) or layer by layer.
    public func decodingTimeMajor(_ enabled: Bool, fusedStages: Bool = true) -> PiperVITS {
        var copy = self
        copy.decoder = enabled ? decoder.preparingTimeMajor(fusedStages: fusedStages) : decoder.withoutTimeMajor()
        return copy
    }

    /// Whether the time-major decoder runs each stage's residual blocks fused over time tiles.
    public var decodesFusedStages: Bool { decoder.timeMajor?.stages != nil }

    /// Text encoder: ids `[T]` → hidden `[1, C, T]`, prior mean and log-scale `[1, C, T]`.
    public func encode(_ ids: [Int]) throws -> (hidden: Tensor, mean: Tensor, logScale: Tensor) {
        guard !ids.isEmpty else { throw ModelError.invalidInput(component: "Piper VITS", reason: "no phoneme ids") }
        if let bad = ids.first(where: { $0 < 0 || $0 >= configuration.symbols }) {
            throw ModelError.invalidInput(component: "Piper VITS", reason: "phoneme id \(bad) outside 0..<\(configuration.symbols)")
        }
        let out = try encoder(ids)
        return (out.x, out.m, out.logs)
    }

    /// Duration predictor in reverse: hidden `[1, C, T]`, scaled noise `[1, 2, T]` → log-durations `[1, 1, T]`.
    public func logDurations(hidden: Tensor, noise: Tensor) throws -> Tensor {
        try durationPredictor(hidden, noise: noise)
    }

    /// ⌈exp(log w)·length_scale⌉ per phoneme (as the graph computes it in fp32).
    public static func durations(logDurations: Tensor, lengthScale: Float) -> [Int] {
        logDurations.scalars.map { value in
            let w = exp(value) * lengthScale
            return w.isFinite ? max(Int(w.rounded(.up)), 0) : 0
        }
    }

    /// The prior sample over frames: column i of `mean` + noise·exp(logScale)·noiseScale, repeated durations[i]
    /// times. `noise` is `[1, C, F]` with F = max(Σ durations, 1); an all-zero duration vector gives one silent frame.
    public static func prior(mean: Tensor, logScale: Tensor, durations: [Int], noise: Tensor, noiseScale: Float) throws -> Tensor {
        let channels = mean.shape[1], t = mean.shape[2]
        let frames = max(durations.reduce(0, +), 1)
        guard noise.shape == [1, channels, frames], durations.count == t else {
            throw ModelError.invalidInput(component: "Piper VITS", reason: "prior noise \(noise.shape) for \(t) phonemes and \(frames) frames")
        }
        let m = mean.scalars, s = logScale.scalars, e = noise.scalars
        var out = [Float](repeating: 0, count: channels * frames)
        var frame = 0
        for (i, d) in durations.enumerated() {
            for _ in 0..<d {
                for c in 0..<channels {
                    out[c * frames + frame] = m[c * t + i] + e[c * frames + frame] * exp(s[c * t + i]) * noiseScale
                }
                frame += 1
            }
        }
        return try Tensor(shape: [1, channels, frames], scalars: out)
    }

    /// Reversed flow: prior `[1, C, F]` → latent `[1, C, F]`.
    public func latent(prior: Tensor) throws -> Tensor { try flow.reverse(prior) }

    /// HiFi-GAN: latent `[1, C, F]` → audio `[1, 1, 256·F]` in [−1, 1].
    public func decode(latent: Tensor) throws -> Tensor { try decoder(latent) }

    /// One utterance end to end. `scales` are Piper's (noise_scale, length_scale, noise_w).
    public func synthesize(ids: [Int], scales: PiperVoiceConfig.Inference, noise: inout some NoiseSource) throws -> Stages {
        let encoded = try encode(ids)
        let dpNoise = noise.durationNoise(phonemes: ids.count).affine(scale: scales.noiseW)
        let logw = try logDurations(hidden: encoded.hidden, noise: dpNoise)
        let durations = Self.durations(logDurations: logw, lengthScale: scales.lengthScale)
        let frames = max(durations.reduce(0, +), 1)
        let prior = try Self.prior(mean: encoded.mean, logScale: encoded.logScale, durations: durations,
                                   noise: noise.priorNoise(channels: configuration.interChannels, frames: frames),
                                   noiseScale: scales.noiseScale)
        let latent = try latent(prior: prior)
        let audio = try decode(latent: latent)
        return Stages(hidden: encoded.hidden, mean: encoded.mean, logScale: encoded.logScale, logDurations: logw,
                      durations: durations, prior: prior, latent: latent, audio: audio)
    }
}

/// Seeded standard-normal draws (SplitMix64 → Box–Muller), for reproducible synthesis from a seed.
public struct PiperGaussianNoise: PiperVITS.NoiseSource {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    mutating func nextUniform() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Float(z >> 40) + 0.5) / Float(1 << 24)  // (0, 1)
    }

    mutating func normals(_ count: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(count + 1)
        while out.count < count {
            let u1 = nextUniform(), u2 = nextUniform()
            let r = (-2 * log(u1)).squareRoot()
            out.append(r * cos(2 * .pi * u2))
            out.append(r * sin(2 * .pi * u2))
        }
        return Array(out.prefix(count))
    }

    public mutating func durationNoise(phonemes: Int) -> Tensor {
        (try? Tensor(shape: [1, 2, phonemes], scalars: normals(2 * phonemes))) ?? Tensor.zeros([1, 2, phonemes])
    }

    public mutating func priorNoise(channels: Int, frames: Int) -> Tensor {
        (try? Tensor(shape: [1, channels, frames], scalars: normals(channels * frames))) ?? Tensor.zeros([1, channels, frames])
    }
}

/// Fixed draws (injected noise, as the parity fixtures record them).
public struct PiperFixedNoise: PiperVITS.NoiseSource {
    public var duration: Tensor
    public var prior: Tensor

    public init(duration: Tensor, prior: Tensor) {
        self.duration = duration
        self.prior = prior
    }

    public func durationNoise(phonemes: Int) -> Tensor { duration }
    public func priorNoise(channels: Int, frames: Int) -> Tensor { prior }
}
