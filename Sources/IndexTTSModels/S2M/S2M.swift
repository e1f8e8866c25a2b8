import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// IndexTTS2's semantic-to-mel stage as `s2mel.pth` holds it (`{"net": {"cfm", "length_regulator", "gpt_layer"}}`):
/// ``gptLayer`` (GPT latent → content width), ``lengthRegulator`` (content → conditions at mel rate) and ``flow``
/// (the CFM solver around the DiT estimator). Built from the `s2mel` section of `config.yaml`. Immutable after
/// loading; safe to share between threads.
///
/// The inference path (`infer_v2.py`): `latent = gpt_layer(latent)`; `S_infer = vq2emb(codes) + latent`;
/// `cond = length_regulator(S_infer, frames: ⌊1.72·T⌋)`; `prompt_condition = length_regulator(S_ref, frames: ref_mel
/// length)`; `mel = flow.generate(mu: [prompt_condition, cond], promptMel: ref_mel, style: CAM++ embedding)`.
public struct S2M: Sendable {
    public let configuration: S2MConfiguration
    /// Nil for IndexTTS-2.5 (``S2MConfiguration/usesGPTLayer``).
    public let gptLayer: GPTLayer?
    public let lengthRegulator: LengthRegulator
    public let flow: FlowMatching

    /// `gpt_layer`: Linear layers without activations (1280 → 256 → 128 → 1024 in IndexTTS2).
    public struct GPTLayer: Sendable {
        let layers: [Linear]
        public let inFeatures: Int

        init(_ loader: ParameterLoader, widths: [Int]) {
            inFeatures = widths[0]
            layers = (0..<(widths.count - 1)).map { i in
                Linear(loader.scoped("\(i)"), inFeatures: widths[i], outFeatures: widths[i + 1])
            }
        }

        /// `[batch, codes, in]` → `[batch, codes, out]`.
        public func callAsFunction(_ latent: Tensor) throws -> Tensor {
            guard latent.rank == 3, latent.shape[2] == inFeatures, latent.shape[1] > 0 else {
                throw ModelError.invalidInput(component: "S2M gpt_layer", reason: "latent \(latent.shape) is not [batch, codes ≥ 1, \(inFeatures)]")
            }
            try S2M.checkFinite(latent, "S2M gpt_layer", "latent")
            return try layers.reduce(latent) { try $1($0) }
        }
    }

    /// The stage prepared for `precision`, as the engine runs it: bfloat16 puts the CFM estimator's products in
    /// bfloat16 (``DiffusionTransformer/bfloat16()``); fp32 stacks each block's SwiGLU gate and up products into one
    /// (``DiffusionTransformer/stackedFeedForward()``) and runs the WaveNet head's convolutions as Winograd F(4, 5)
    /// (``DiffusionTransformer/winograd()``, unless `INDEXTTS_WINOGRAD=off`). The length regulator and `gpt_layer` (a
    /// few hundred rows, once per request) stay fp32. Convert the loaded stage (``load(from:configuration:)``), once.
    public func converted(to precision: ComputePrecision) throws -> S2M {
        let estimator: DiffusionTransformer
        switch precision {
        case .bfloat16: estimator = try flow.estimator.bfloat16()
        case .float32:
            let stacked = try flow.estimator.stackedFeedForward()
            estimator = Winograd.enabledByEnvironment ? try stacked.winograd() : stacked
        }
        return S2M(configuration: configuration, gptLayer: gptLayer, lengthRegulator: lengthRegulator,
                   flow: FlowMatching(estimator: estimator))
    }

    /// Builds the stage from `store`, whose keys are those of `s2mel.pth` (`net.cfm.…`, `net.length_regulator.…`,
    /// `net.gpt_layer.…`), checking the key set exactly. Weight-norm pairs are fused. Without
    /// ``S2MConfiguration/usesGPTLayer`` (2.5) `gpt_layer` is not built and its tensors are ignored where present
    /// (2.5's released `s2mel.pth` carries six, which upstream's loader skips).
    public static func load(from store: WeightStore, configuration: S2MConfiguration = S2MConfiguration()) throws -> S2M {
        try configuration.validate(source: store.source)
        let unused = configuration.usesGPTLayer ? [] : ["gpt_layer."]
        return try ModuleLoader.load("S2M (\(store.source))", from: store, prefix: "net.", ignoring: unused) { loader in
            S2M(configuration: configuration,
                gptLayer: configuration.usesGPTLayer ? GPTLayer(loader.scoped("gpt_layer"), widths: configuration.gptLayerWidths) : nil,
                lengthRegulator: LengthRegulator(loader.scoped("length_regulator"), configuration: configuration.lengthRegulator),
                flow: FlowMatching(estimator: DiffusionTransformer(loader.scoped("cfm").scoped("estimator"), configuration: configuration)))
        }
    }

    /// Loads `s2mel.pth` (or a safetensors file with the same keys) with the `s2mel` section of `config.yaml`.
    public static func load(checkpoint: String, configuration: S2MConfiguration) throws -> S2M {
        try WeightStore.load(path: checkpoint) { try load(from: $0, configuration: configuration) }
    }

    /// Loads `s2mel.pth` with the configuration read from `configYAML` (``S2MConfiguration/read(_:)``).
    public static func load(checkpoint: String, configYAML: String) throws -> S2M {
        try load(checkpoint: checkpoint, configuration: S2MConfiguration.read(ConfigYAMLDocument(contentsOf: configYAML)))
    }

    /// `gpt_layer` of a 2.0 stage; a typed error for a stage without one.
    public func requireGPTLayer() throws -> GPTLayer {
        guard let gptLayer else {
            throw ModelError.unsupported(component: "S2M", reason: "this stage has no gpt_layer (IndexTTS-2.5 builds none)")
        }
        return gptLayer
    }

    // MARK: - Helpers shared by the S2M modules

    /// Throws ``ModelError/invalidInput(component:reason:)`` when `x` holds a NaN or an infinity.
    static func checkFinite(_ x: Tensor, _ component: String, _ name: String) throws {
        let bad = x.withUnsafeBufferPointer { buffer in buffer.firstIndex { !$0.isFinite } }
        if let bad {
            throw ModelError.invalidInput(component: component, reason: "\(name) \(x.shape) holds a non-finite value at flat index \(bad)")
        }
    }

    /// `x · (scaleBias + scale[b, scaleOffset + d]) + shift[b, shiftOffset + d]` for `x` `[batch, time, dim]` and
    /// per-item `scale`/`shift` rows `[batch, ≥ offset + dim]` (AdaLN modulation).
    static func modulate(_ x: Tensor, scale: Tensor, scaleOffset: Int, shift: Tensor, shiftOffset: Int,
                         scaleBias: Float = 0) throws -> Tensor {
        let (batch, time, dim) = (x.shape[0], x.shape[1], x.shape[2])
        guard x.rank == 3, scale.rank == 2, shift.rank == 2, scale.shape[0] == batch, shift.shape[0] == batch,
              scale.shape[1] >= scaleOffset + dim, shift.shape[1] >= shiftOffset + dim else {
            throw ModelError.invalidInput(component: "S2M", reason: "modulation of \(x.shape) by \(scale.shape)/\(shift.shape)")
        }
        let dense = x.contiguous(), sc = scale.contiguous(), sh = shift.contiguous()
        return Tensor.make(x.shape) { out in
            for b in 0..<batch {
                let s = sc.basePointer + b * sc.shape[1] + scaleOffset, o = sh.basePointer + b * sh.shape[1] + shiftOffset
                var factor = [Float](repeating: 0, count: dim)
                for d in 0..<dim { factor[d] = scaleBias + s[d] }
                for t in 0..<time {
                    let src = dense.basePointer + (b * time + t) * dim, dst = out.baseAddress! + (b * time + t) * dim
                    for d in 0..<dim { dst[d] = src[d] * factor[d] + o[d] }
                }
            }
        }
    }
}
