import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// IndexTTS-2.5's semantic codec (`EnhancedCodec`, `indextts/codec/models.py` at index-tts ee40fa7; the model folder's
/// `codec.pth`) as `infer_v2_5` uses it: `decode` turns the GPT's 25 Hz codes into the 50 Hz content features the
/// S2M's length regulator reads (2.0 took `vq2emb(codes) + gpt_layer(latent)` at 50 Hz instead).
///
/// `decode(codes)`: `quantizer.vq2emb` (the un-normalised codebook row, then a weight-normalised 1×1 conv
/// `codebook_dim → hidden_size`, ``FactorizedVectorQuantizer``) → `decoder` (a ``VocosBackbone`` `hidden_size →
/// vocos_dim`, then Linear `vocos_dim → hidden_size`) → nearest-neighbour ×2 in time → `up` (Conv1d k3, padding 1,
/// `hidden_size → hidden_size`). The encoding half (`down`, `encoder.*`: 50 Hz features → codes) is training and data
/// tooling upstream — `infer_v2_5` never calls it — and its tensors are skipped on purpose. Immutable after loading;
/// safe to share between threads.
public struct EnhancedCodec: Sendable {
    public let configuration: EnhancedCodecConfiguration
    let quantizer: FactorizedVectorQuantizer
    let decoder: VocosBackbone
    let projection: Linear
    let up: Conv1d

    init(_ loader: ParameterLoader, configuration: EnhancedCodecConfiguration) {
        self.configuration = configuration
        let c = configuration.sizes
        quantizer = FactorizedVectorQuantizer(loader.scoped("quantizer").scoped("quantizers").scoped("0"),
                                              hiddenSize: c.hiddenSize, codebookSize: c.codebookSize, codebookDim: c.codebookDim)
        decoder = VocosBackbone(loader.scoped("decoder").scoped("0"), inputChannels: c.hiddenSize, dim: c.vocosDim,
                                intermediateDim: c.vocosIntermediateDim, layers: c.vocosNumLayers)
        projection = Linear(loader.scoped("decoder").scoped("1"), inFeatures: c.vocosDim, outFeatures: c.hiddenSize)
        up = Conv1d(loader.scoped("up"), Conv1dConfiguration(inChannels: c.hiddenSize, outChannels: c.hiddenSize,
                                                             kernelSize: 3, padding: 1))
    }

    /// Builds the codec from `store`, whose keys are those of `codec.pth` (`{"model": state_dict}`: `model.up.…`,
    /// `model.decoder.…`, `model.quantizer.quantizers.0.…`), checking those keys exactly — the quantizer's
    /// `in_project` included, which `decode` does not use but every `EnhancedCodec` has; `model.encoder.*` and
    /// `model.down.*` are deliberately ignored. (Upstream's `load_checkpoint` keeps whatever matches and leaves the
    /// rest randomly initialised; here a missing, unexpected or misshapen tensor is an error.)
    /// - Throws: ``ModelError`` for an unsupported configuration,
    ///   ``IndexTTSWeights/WeightsError/keyMismatch(module:missing:unexpected:wrongShapes:)`` naming every missing,
    ///   unexpected or misshapen tensor.
    public static func load(from store: WeightStore, configuration: EnhancedCodecConfiguration = EnhancedCodecConfiguration()) throws -> EnhancedCodec {
        try configuration.validate(source: store.source)
        return try ModuleLoader.load("IndexTTS-2.5 codec (\(store.source))", from: store, prefix: "model.",
                                     ignoring: ["encoder.", "down."]) { loader in
            EnhancedCodec(loader, configuration: configuration)
        }
    }

    /// Loads `checkpoint` (`codec.pth`) with the sizes of the `semantic_codec` section of `configYAML` (the model
    /// folder's `config.yaml`), or IndexTTS-2.5's sizes when `configYAML` is nil.
    public static func load(checkpoint: String, configYAML: String? = nil) throws -> EnhancedCodec {
        let configuration = try configYAML.map { try EnhancedCodecConfiguration.load(configYAML: $0) } ?? EnhancedCodecConfiguration()
        return try WeightStore.load(path: checkpoint) { try load(from: $0, configuration: configuration) }
    }

    /// Width of the features `decode` returns.
    public var hiddenSize: Int { configuration.sizes.hiddenSize }

    /// `EnhancedCodec.decode`: codes `[batch][frames]` (25 Hz; equal lengths, each in `0..<codebook_size`) →
    /// content features `[batch, 2·frames, hidden]` (50 Hz).
    /// - Throws: ``ModelError/invalidInput(component:reason:)`` for an empty, ragged or out-of-range batch.
    public func decode(codes: [[Int]]) throws -> Tensor {
        let embeddings = try quantizer.embeddings(codes, component: "IndexTTS-2.5 codec")  // [batch, frames, hidden]
        let frames = codes[0].count
        let decoded = try projection(decoder(embeddings))                // [batch, frames, hidden]
        // F.interpolate(scale_factor=2, mode="nearest") on [batch, hidden, frames], then `up`.
        let doubled = try decoded.transposed(1, 2).interpolateNearest(size: 2 * frames, scaleFactor: 2)
        return try up(doubled).transposed(1, 2).contiguous()             // [batch, 2·frames, hidden]
    }

    /// Codes each side of a stretch that `decode` reads to make that stretch's features: the backbone's radius
    /// (3 + 3 per ConvNeXt block, 39 for IndexTTS-2.5's 12) and one more for `up`'s 3 taps at 50 Hz, whose outer
    /// taps reach the neighbouring codes' frames. Windows decoded with this much context on each side (or the
    /// sequence's own ends) equal the whole sequence decoded at once.
    public var contextRadius: Int { decoder.receptiveRadius + 1 }

    /// The features of `window` (positions in `codes`) when `codes` is decoded: `decode(codes: [codes])` cropped to
    /// frames `2·window.lowerBound ..< 2·window.upperBound`, `[1, 2·window.count, hidden]`. With ``contextRadius``
    /// codes of context on each side of `window` (or the ends of the whole sequence), they are the features the whole
    /// sequence's decode has at those frames; less context changes the frames near the window's edges (zero padding
    /// where codes would be). Streaming decodes its windows this way.
    /// - Throws: ``ModelError/invalidInput(component:reason:)`` for an empty window, one outside `codes`, or bad codes.
    public func decode(codes: [Int], keeping window: Range<Int>) throws -> Tensor {
        guard !window.isEmpty, window.lowerBound >= 0, window.upperBound <= codes.count else {
            throw ModelError.invalidInput(component: "IndexTTS-2.5 codec",
                                          reason: "window \(window) of \(codes.count) codes")
        }
        return try decode(codes: [codes]).sliced(axis: 1, range: (2 * window.lowerBound)..<(2 * window.upperBound)).contiguous()
    }
}
