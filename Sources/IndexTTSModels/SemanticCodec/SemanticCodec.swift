import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// MaskGCT's semantic codec (`RepCodec`, `amphion/MaskGCT` `semantic_codec/model.safetensors`) as IndexTTS2 uses it:
/// normalised w2v-BERT layer-17 features `[batch, frames, 1024]` → 50 Hz semantic codes and their quantized
/// embeddings (`S_ref`), and codes → embeddings (`quantizer.vq2emb`, used on the GPT's codes).
///
/// Encoder: ``VocosBackbone`` → Linear `vocos_dim → hidden_size`, then the ``FactorizedVectorQuantizer``. The
/// checkpoint's `decoder.*` tensors (the reconstruction half, unused by IndexTTS2) are skipped on purpose. Immutable
/// after loading; safe to share between threads.
public struct SemanticCodec: Sendable {
    public let configuration: SemanticCodecConfiguration
    let backbone: VocosBackbone
    let projection: Linear
    let quantizer: FactorizedVectorQuantizer

    init(_ loader: ParameterLoader, configuration c: SemanticCodecConfiguration) {
        configuration = c
        backbone = VocosBackbone(loader.scoped("encoder").scoped("0"), inputChannels: c.hiddenSize, dim: c.vocosDim,
                                 intermediateDim: c.vocosIntermediateDim, layers: c.vocosNumLayers)
        projection = Linear(loader.scoped("encoder").scoped("1"), inFeatures: c.vocosDim, outFeatures: c.hiddenSize)
        quantizer = FactorizedVectorQuantizer(loader.scoped("quantizer").scoped("quantizers").scoped("0"),
                                              hiddenSize: c.hiddenSize, codebookSize: c.codebookSize, codebookDim: c.codebookDim)
    }

    /// Builds the codec from `store` (MaskGCT's `semantic_codec/model.safetensors`), checking every encoder and
    /// quantizer key exactly; `decoder.*` is deliberately ignored.
    /// - Throws: ``ModelError`` for an unsupported configuration,
    ///   ``IndexTTSWeights/WeightsError/keyMismatch(module:missing:unexpected:wrongShapes:)`` naming every missing,
    ///   unexpected or misshapen tensor.
    public static func load(from store: WeightStore, configuration: SemanticCodecConfiguration = SemanticCodecConfiguration()) throws -> SemanticCodec {
        try configuration.validate(source: store.source)
        return try ModuleLoader.load("semantic codec (\(store.source))", from: store, ignoring: ["decoder."]) { loader in
            SemanticCodec(loader, configuration: configuration)
        }
    }

    /// Loads `checkpoint` (`model.safetensors`) with the sizes of the `semantic_codec` section of `configYAML`
    /// (IndexTTS2's `config.yaml`), or IndexTTS2's sizes when `configYAML` is nil.
    public static func load(checkpoint: String, configYAML: String? = nil) throws -> SemanticCodec {
        let configuration = try configYAML.map { try SemanticCodecConfiguration.load(configYAML: $0) } ?? SemanticCodecConfiguration()
        return try WeightStore.load(path: checkpoint) { try load(from: $0, configuration: configuration) }
    }

    /// Width of the features and embeddings.
    public var hiddenSize: Int { configuration.hiddenSize }

    /// Encoder output (the continuous latents the quantizer reads), `[batch, frames, hidden]`.
    func encode(_ features: Tensor) throws -> Tensor {
        guard features.rank == 3, features.shape[2] == configuration.hiddenSize, features.shape[0] >= 1, features.shape[1] >= 1 else {
            throw ModelError.invalidInput(component: "semantic codec",
                                          reason: "features \(features.shape), expected [batch ≥ 1, frames ≥ 1, \(configuration.hiddenSize)]")
        }
        return try projection(backbone(features))
    }

    /// `RepCodec.quantize`: features `[batch, frames, hidden]` (IndexTTS2: the normalised w2v-BERT layer-17 output)
    /// → codes `[batch][frames]` in `0..<codebook_size` and their embeddings `[batch, frames, hidden]` (`S_ref`).
    public func quantize(_ features: Tensor) throws -> (codes: [[Int]], embeddings: Tensor) {
        try quantizer.quantize(encode(features))
    }

    /// `quantizer.vq2emb` as IndexTTS2 calls it (then transposed to time-major): codes `[batch][frames]` (equal
    /// lengths, each in `0..<codebook_size`) → embeddings `[batch, frames, hidden]`.
    public func embeddings(codes: [[Int]]) throws -> Tensor {
        try quantizer.embeddings(codes, component: "semantic codec")
    }
}
