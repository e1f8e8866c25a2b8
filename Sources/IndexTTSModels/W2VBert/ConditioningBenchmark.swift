import Dispatch
import Foundation
import IndexTTSTensor
import IndexTTSWeights

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timings behind `indextts bench conditioning`: w2v-BERT 2.0 up to `hidden_states[17]`, the stats normalisation
/// and the MaskGCT codec's `quantize`, at IndexTTS2's sizes with random weights (written to a temporary
/// safetensors file — about 1.7 GB for the 17 layers — and loaded through the normal path).
public enum ConditioningBenchmark {
    public struct Result: Sendable {
        public var frames: Int
        public var w2vParameters: Int
        public var codecParameters: Int
        public var loadSeconds: Double
        /// Best of the timed runs, per stage.
        public var w2vSeconds: Double
        public var normalizeSeconds: Double
        public var codecSeconds: Double
    }

    /// - Parameters:
    ///   - features: stacked w2v-BERT input features `[1, frames, 160]` (the extractor's output for the clip).
    ///   - attentionMask: the extractor's mask for them.
    public static func run(features: Tensor, attentionMask: [[Int32]]?, runs: Int = 3,
                           w2v: W2VBertConfiguration = W2VBertConfiguration(),
                           codec: SemanticCodecConfiguration = SemanticCodecConfiguration(),
                           precision: ComputePrecision = .float32,
                           temporaryDirectory: URL = FileManager.default.temporaryDirectory) throws -> Result {
        guard runs >= 1 else { throw ModelError.invalidInput(component: "conditioning benchmark", reason: "runs \(runs)") }
        var seed: UInt64 = 0xC0_4D17
        func random(_ shape: [Int], scale: Float, offset: Float = 0) -> Tensor {
            Tensor.make(shape) { out in
                for i in out.indices {
                    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                    out[i] = (Float(seed >> 40) / Float(1 << 24) - 0.5) * 2 * scale + offset
                }
            }
        }
        func linear(_ t: inout [String: Tensor], _ name: String, out: Int, in input: Int, bias: Bool = true, kernel: Int? = nil) {
            let shape = kernel.map { [out, input, $0] } ?? [out, input]
            t[name + ".weight"] = random(shape, scale: 1 / Float(input * (kernel ?? 1)).squareRoot())
            if bias { t[name + ".bias"] = random([out], scale: 0.02) }
        }
        func norm(_ t: inout [String: Tensor], _ name: String, _ width: Int) {
            t[name + ".weight"] = random([width], scale: 0.1, offset: 1)
            t[name + ".bias"] = random([width], scale: 0.02)
        }
        let layers = W2VBert.indexTTS2Layer
        let d = w2v.hiddenSize
        var w: [String: Tensor] = [:]
        norm(&w, "feature_projection.layer_norm", w2v.featureProjectionInputDim)
        linear(&w, "feature_projection.projection", out: d, in: w2v.featureProjectionInputDim)
        for l in 0..<layers {
            let p = "encoder.layers.\(l)."
            for ffn in ["ffn1", "ffn2"] {
                norm(&w, p + ffn + "_layer_norm", d)
                linear(&w, p + ffn + ".intermediate_dense", out: w2v.intermediateSize, in: d)
                linear(&w, p + ffn + ".output_dense", out: d, in: w2v.intermediateSize)
            }
            norm(&w, p + "self_attn_layer_norm", d)
            for name in ["linear_q", "linear_k", "linear_v", "linear_out"] { linear(&w, p + "self_attn." + name, out: d, in: d) }
            w[p + "self_attn.distance_embedding.weight"] = random([w2v.relativePositions, w2v.headSize], scale: 1)
            norm(&w, p + "conv_module.layer_norm", d)
            linear(&w, p + "conv_module.pointwise_conv1", out: 2 * d, in: d, bias: false, kernel: 1)
            w[p + "conv_module.depthwise_conv.weight"] = random([d, 1, w2v.convDepthwiseKernelSize], scale: 0.2)
            norm(&w, p + "conv_module.depthwise_layer_norm", d)
            linear(&w, p + "conv_module.pointwise_conv2", out: d, in: d, bias: false, kernel: 1)
            norm(&w, p + "final_layer_norm", d)
        }
        var c: [String: Tensor] = [:]
        let v = codec.vocosDim
        linear(&c, "encoder.0.embed", out: v, in: codec.hiddenSize, kernel: 7)
        norm(&c, "encoder.0.norm", v)
        for b in 0..<codec.vocosNumLayers {
            let p = "encoder.0.convnext.\(b)."
            linear(&c, p + "dwconv", out: v, in: 1, kernel: 7)
            norm(&c, p + "norm", v)
            linear(&c, p + "pwconv1", out: codec.vocosIntermediateDim, in: v)
            linear(&c, p + "pwconv2", out: v, in: codec.vocosIntermediateDim)
            c[p + "gamma"] = random([v], scale: 0.1)
        }
        norm(&c, "encoder.0.final_layer_norm", v)
        linear(&c, "encoder.1", out: codec.hiddenSize, in: v)
        let q = "quantizer.quantizers.0."
        c[q + "in_project.weight_g"] = random([codec.codebookDim, 1, 1], scale: 0.5, offset: 1)
        c[q + "in_project.weight_v"] = random([codec.codebookDim, codec.hiddenSize, 1], scale: 1)
        c[q + "in_project.bias"] = random([codec.codebookDim], scale: 0.02)
        c[q + "out_project.weight_g"] = random([codec.hiddenSize, 1, 1], scale: 0.5, offset: 1)
        c[q + "out_project.weight_v"] = random([codec.hiddenSize, codec.codebookDim, 1], scale: 1)
        c[q + "out_project.bias"] = random([codec.hiddenSize], scale: 0.02)
        c[q + "codebook.weight"] = random([codec.codebookSize, codec.codebookDim], scale: 1)
        let w2vParameters = w.values.reduce(0) { $0 + $1.count }, codecParameters = c.values.reduce(0) { $0 + $1.count }

        let w2vPath = temporaryDirectory.appendingPathComponent("indextts-bench-w2vbert-\(getpid()).safetensors").path
        let codecPath = temporaryDirectory.appendingPathComponent("indextts-bench-codec-\(getpid()).safetensors").path
        defer {
            try? FileManager.default.removeItem(atPath: w2vPath)
            try? FileManager.default.removeItem(atPath: codecPath)
        }
        try SafeTensorsWriter.write(w, to: w2vPath)
        w = [:]
        try SafeTensorsWriter.write(c, to: codecPath)
        c = [:]
        let stats = try W2VBertStatistics(mean: random([d], scale: 0.1), variance: random([d], scale: 0.2, offset: 1))

        let loadStart = DispatchTime.now().uptimeNanoseconds
        let model = try W2VBert.load(from: WeightStore.open(path: w2vPath), configuration: w2v, layers: layers)
            .converted(to: precision)
        let codecModel = try SemanticCodec.load(from: WeightStore.open(path: codecPath), configuration: codec)
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9

        func time(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var (bestW2V, bestNorm, bestCodec) = (Double.infinity, Double.infinity, Double.infinity)
        for _ in 0..<runs {
            var hidden = Tensor.zeros([0]), normalized = Tensor.zeros([0])
            bestW2V = min(bestW2V, try time { hidden = try model.hiddenStates(features, attentionMask: attentionMask, layer: layers) })
            bestNorm = min(bestNorm, try time { normalized = try stats(hidden) })
            bestCodec = min(bestCodec, try time { _ = try codecModel.quantize(normalized) })
        }
        return Result(frames: features.shape[1], w2vParameters: w2vParameters, codecParameters: codecParameters,
                      loadSeconds: loadSeconds, w2vSeconds: bestW2V, normalizeSeconds: bestNorm, codecSeconds: bestCodec)
    }
}
