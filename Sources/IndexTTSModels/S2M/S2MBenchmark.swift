import Dispatch
import Foundation
import IndexTTSTensor
import IndexTTSWeights

/// Timings behind `indextts bench s2m`: the S2M stage at a given configuration (IndexTTS2's by default) with random
/// weights, written to a temporary safetensors file with `s2mel.pth`'s key names and loaded through the normal path,
/// then `gpt_layer` + both regulator passes + the CFM over `promptFrames + targetFrames(codes)` frames.
public enum S2MBenchmark {
    public struct Result: Sendable {
        public var promptFrames: Int
        public var codes: Int
        public var generatedFrames: Int
        public var steps: Int
        public var guidanceRate: Double
        public var parameters: Int
        public var loadSeconds: Double
        /// gpt_layer and the two length-regulator passes.
        public var conditionSeconds: Double
        /// The CFM solve (all steps).
        public var flowSeconds: Double
        public var totalFrames: Int { promptFrames + generatedFrames }
        /// Audio produced (22 050 Hz, hop 256).
        public var audioSeconds: Double { Double(generatedFrames) * 256 / 22_050 }
        /// Multiply-accumulates of one estimator evaluation per batch item in the projections and convolutions (not
        /// attention), as executed: the last layer's queries, output projection and SwiGLU and the head only on the
        /// frames from the prompt's end minus the head's reach (``DiffusionTransformer/callAsFunction(x:promptX:t:style:mu:validFrom:)``).
        public var macsPerStep: Int
        /// Attention multiply-accumulates (Q·Kᵀ and P·V) of one estimator evaluation per batch item, as executed.
        public var attentionMacsPerStep: Int
        /// The estimator's arithmetic in the timed run.
        public var precision: ComputePrecision = .float32
        /// WaveNet layers whose dilated convolution ran as Winograd F(4, 5), and all of them.
        public var winogradConvolutions: (count: Int, total: Int) = (0, 0)
        /// Blocks whose SwiGLU gate and up ran as one stacked product, and all blocks.
        public var stackedFeedForwards: (count: Int, total: Int) = (0, 0)
        /// The same solve on the model as loaded (fp32, im2col WaveNet, gate and up apart), when asked for.
        public var reference: Reference?
    }

    /// The same solve from the same noise on the model as loaded: fp32 products, the WaveNet's convolutions as
    /// im2col products, SwiGLU's gate and up as two products (what `compareWithFloat32` compares a bfloat16 run with,
    /// `compareDirect` the converted fp32 model).
    public struct Reference: Sendable {
        public var flowSeconds: Double
        /// ‖mel − mel_ref‖ / ‖mel_ref‖ over the generated frames, and the largest absolute difference (log-mel).
        public var relativeDifference: Double
        public var maximumDifference: Double
    }

    /// The random `s2mel.pth`-shaped tensors for `c` (only the keys the port reads; weight norm already fused).
    static func randomTensors(_ c: S2MConfiguration, seed: UInt64 = 0x52_4D) -> [String: Tensor] {
        var state = seed | 1
        func random(_ shape: [Int], scale: Float) -> Tensor {
            Tensor.make(shape) { out in
                for i in out.indices {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    out[i] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 2 * scale
                }
            }
        }
        var t: [String: Tensor] = [:]
        func linear(_ name: String, out: Int, in input: Int, bias: Bool = true) {
            t[name + ".weight"] = random([out, input], scale: 1 / Float(input).squareRoot())
            if bias { t[name + ".bias"] = random([out], scale: 0.02) }
        }
        func conv(_ name: String, out: Int, in input: Int, kernel: Int) {
            t[name + ".weight"] = random([out, input, kernel], scale: 1 / Float(input * kernel).squareRoot())
            t[name + ".bias"] = random([out], scale: 0.02)
        }
        let widths = c.gptLayerWidths
        for i in 0..<(widths.count - 1) { linear("net.gpt_layer.\(i)", out: widths[i + 1], in: widths[i]) }
        let r = c.lengthRegulator
        linear("net.length_regulator.content_in_proj", out: r.channels, in: r.inChannels)
        for i in r.samplingRatios.indices {
            conv("net.length_regulator.model.\(3 * i)", out: r.channels, in: r.channels, kernel: 3)
            t["net.length_regulator.model.\(3 * i + 1).weight"] = random([r.channels], scale: 0.2).affine(scale: 1, shift: 1)
            t["net.length_regulator.model.\(3 * i + 1).bias"] = random([r.channels], scale: 0.1)
        }
        conv("net.length_regulator.model.\(3 * r.samplingRatios.count)", out: r.channels, in: r.channels, kernel: 1)
        let e = "net.cfm.estimator.", d = c.dit, h = d.hiddenDim, w = c.wavenet.hiddenDim
        let frequencies = try! Tensor(shape: [128], scalars: (0..<128).map { Float(Foundation.exp(-Foundation.log(10_000.0) * Double($0) / 128)) })
        for (name, width) in [("t_embedder", h), ("t_embedder2", w)] {
            t[e + name + ".freqs"] = frequencies
            linear(e + name + ".mlp.0", out: width, in: 256)
            linear(e + name + ".mlp.2", out: width, in: width)
        }
        linear(e + "cond_projection", out: h, in: d.contentDim)
        linear(e + "cond_x_merge_linear", out: h, in: h + 2 * d.inChannels + c.styleDim)
        func adaptive(_ name: String) {
            linear(name + ".project_layer", out: 2 * h, in: h)
            t[name + ".norm.weight"] = random([h], scale: 0.1).affine(scale: 1, shift: 1)
        }
        for i in 0..<d.depth {
            let l = e + "transformer.layers.\(i)."
            linear(l + "attention.wqkv", out: 3 * h, in: h, bias: false)
            linear(l + "attention.wo", out: h, in: h, bias: false)
            linear(l + "feed_forward.w1", out: d.feedForwardDim, in: h, bias: false)
            linear(l + "feed_forward.w3", out: d.feedForwardDim, in: h, bias: false)
            linear(l + "feed_forward.w2", out: h, in: d.feedForwardDim, bias: false)
            adaptive(l + "attention_norm")
            adaptive(l + "ffn_norm")
            if i > d.depth / 2 { linear(l + "skip_in_linear", out: h, in: 2 * h) }
        }
        adaptive(e + "transformer.norm")
        linear(e + "skip_linear", out: h, in: h + d.inChannels)
        linear(e + "conv1", out: w, in: h)
        let n = c.wavenet.numLayers
        conv(e + "wavenet.cond_layer.conv.conv", out: 2 * w * n, in: w, kernel: 1)
        for i in 0..<n {
            conv(e + "wavenet.in_layers.\(i).conv.conv", out: 2 * w, in: w, kernel: c.wavenet.kernelSize)
            conv(e + "wavenet.res_skip_layers.\(i).conv.conv", out: i < n - 1 ? 2 * w : w, in: w, kernel: 1)
        }
        linear(e + "res_projection", out: w, in: h)
        linear(e + "final_layer.adaLN_modulation.1", out: 2 * w, in: h)
        linear(e + "final_layer.linear", out: w, in: w)
        conv(e + "conv2", out: d.inChannels, in: w, kernel: 1)
        return t
    }

    /// - Parameters:
    ///   - promptFrames: reference mel frames (IndexTTS2: 86.13 per second; 861 ≈ 10 s).
    ///   - codes: semantic codes of the generated part (50 per second; 250 → 430 frames ≈ 5 s).
    ///   - compareWithFloat32: on a bfloat16 run, also time the loaded fp32 model (``Reference``).
    ///   - compareDirect: on an fp32 run of the converted model (Winograd WaveNet, stacked SwiGLU), also time the
    ///     loaded model (im2col, gate and up apart).
    public static func run(configuration c: S2MConfiguration = S2MConfiguration(), promptFrames: Int = 861, codes: Int = 250,
                           steps: Int = 25, guidanceRate: Double = 0.7, precision: ComputePrecision = .float32,
                           compareWithFloat32: Bool = false, compareDirect: Bool = false,
                           temporaryDirectory: URL = FileManager.default.temporaryDirectory) throws -> Result {
        try c.validate(source: "benchmark configuration")
        guard promptFrames >= 1, codes >= 1, steps >= 1 else {
            throw ModelError.invalidInput(component: "S2M benchmark", reason: "prompt frames \(promptFrames), codes \(codes), steps \(steps)")
        }
        var tensors = randomTensors(c)
        let parameters = tensors.values.reduce(0) { $0 + $1.count }
        let path = temporaryDirectory.appendingPathComponent("indextts-bench-s2m-\(getpid()).safetensors").path
        try SafeTensorsWriter.write(tensors, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        tensors = [:]

        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let loadStart = now()
        let float32Model = try S2M.load(from: WeightStore.open(path: path), configuration: c)
        let model = try float32Model.converted(to: precision)
        let loadSeconds = now() - loadStart

        let latent = FlowMatching.gaussianNoise([1, codes, c.gptLayerWidths[0]], seed: 1)
        let codeEmbedding = FlowMatching.gaussianNoise([1, codes, c.lengthRegulator.inChannels], seed: 2)
        let reference = FlowMatching.gaussianNoise([1, promptFrames / 2 + 1, c.lengthRegulator.inChannels], seed: 3)
        let refMel = FlowMatching.gaussianNoise([1, c.dit.inChannels, promptFrames], seed: 4).affine(scale: 2, shift: -5)
        let style = FlowMatching.gaussianNoise([1, c.styleDim], seed: 5)
        let conditionStart = now()
        let content = try model.requireGPTLayer()(latent).adding(codeEmbedding)
        let frames = LengthRegulator.targetFrames(codes: codes)
        let mu = try Tensor.concatenate([model.lengthRegulator(reference, frames: promptFrames),
                                         model.lengthRegulator(content, frames: frames)], axis: 1)
        let conditionSeconds = now() - conditionStart
        let flowStart = now()
        let mel = try model.flow.generate(mu: mu, promptMel: refMel, style: style, steps: steps, guidanceRate: guidanceRate, seed: 6)
        let flowSeconds = now() - flowStart
        let winograd = model.flow.estimator.winogradConvolutions, stacked = model.flow.estimator.stackedFeedForwards
        var comparison: Reference?
        if (compareWithFloat32 && precision != .float32)
            || (compareDirect && precision == .float32 && (winograd.count > 0 || stacked.count > 0)) {
            let start = now()
            let reference = try float32Model.flow.generate(mu: mu, promptMel: refMel, style: style, steps: steps,
                                                           guidanceRate: guidanceRate, seed: 6)
            let seconds = now() - start
            var difference = 0.0, norm = 0.0, largest = 0.0
            let a = mel.scalars, b = reference.scalars
            for i in a.indices {
                let d = Double(a[i]) - Double(b[i])
                difference += d * d
                norm += Double(b[i]) * Double(b[i])
                largest = max(largest, abs(d))
            }
            comparison = Reference(flowSeconds: seconds, relativeDifference: (difference / max(norm, .leastNormalMagnitude)).squareRoot(),
                                   maximumDifference: largest)
        }

        let d = c.dit, h = d.hiddenDim, w = c.wavenet.hiddenDim
        let total = promptFrames + frames
        // Frames the last layer's queries and the head see (the rest only feed keys and values).
        let kept = total - max(0, promptFrames - model.flow.estimator.headLeftReach)
        let wave = c.wavenet.numLayers * (2 * w * w * c.wavenet.kernelSize + 2 * w * w)
        let block = 4 * h * h + 3 * h * d.feedForwardDim
        let skipLayers = d.depth - 1 - d.depth / 2  // layers i > depth/2 merge a U-ViT skip (2h → h)
        // Every frame: the noisy mel's part of the input merge (the prompt's, condition's and style's part and the
        // cond projection run once per solve, `DiffusionTransformer.Condition`: not counted), the first depth − 1
        // blocks, the skip merges, the last block's keys and values (its fused qkv runs on every frame). Kept
        // frames: the last block's output projection and SwiGLU, long skip, WaveNet, conv1/res_projection/final
        // linear, conv2.
        let everyFrame = d.inChannels * h + (d.depth - 1) * block + skipLayers * 2 * h * h + 3 * h * h
        let keptFrame = h * h + 3 * h * d.feedForwardDim + (h + d.inChannels) * h + wave + 3 * h * w + w * d.inChannels
        let macs = everyFrame * total + keptFrame * kept
        let attention = (d.depth - 1) * 2 * total * total * h + 2 * kept * total * h
        return Result(promptFrames: promptFrames, codes: codes, generatedFrames: frames, steps: steps, guidanceRate: guidanceRate,
                      parameters: parameters, loadSeconds: loadSeconds, conditionSeconds: conditionSeconds,
                      flowSeconds: flowSeconds, macsPerStep: macs, attentionMacsPerStep: attention,
                      precision: precision, winogradConvolutions: winograd, stackedFeedForwards: stacked,
                      reference: comparison)
    }
}
