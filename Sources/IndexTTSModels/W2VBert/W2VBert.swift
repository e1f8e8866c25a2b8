import Foundation
import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// w2v-BERT 2.0 (`facebook/w2v-bert-2.0`, transformers `Wav2Vec2BertModel`) as IndexTTS2 uses it: stacked fbank
/// features `[batch, frames, 160]` (``IndexTTSAudio/SeamlessM4TFeatureExtractor``) → `hidden_states[17]`
/// `[batch, frames, 1024]`, the semantic features of the reference clip.
///
/// Feature projection (LayerNorm → Linear 160 → hidden), padded rows zeroed, then conformer layers
/// (``W2VBertLayer``). `hidden_states[0]` is the projection's output and `hidden_states[k]` the output of layer
/// `k`, so only the first `k` layers are loaded and run; the later layers' tensors, `masked_spec_embed` (a
/// training-time mask vector) and any adapter are skipped on purpose. Immutable after loading; safe to share
/// between threads.
public struct W2VBert: Sendable {
    /// The hidden state IndexTTS2 reads (`get_emb`: `hidden_states[17]`).
    public static let indexTTS2Layer = 17
    /// The Hugging Face repository whose cache entry ``load(directory:layers:)`` also accepts.
    public static let repository = "facebook/w2v-bert-2.0"

    public let configuration: W2VBertConfiguration
    let featureNorm: LayerNorm
    var featureProjection: Linear
    var layers: [W2VBertLayer]
    /// The arithmetic of the products (``converted(to:)``).
    public private(set) var precision: ComputePrecision = .float32

    /// This encoder with its projections, attention and pointwise convolutions in `precision` (``ComputePrecision``);
    /// norms, the depthwise convolution and the relative position bias stay fp32.
    /// - Parameter afterEachLayer: called after each layer is converted (a loader lets the fp32 source pages go
    ///   there, so that load never holds both copies of the whole stack).
    public func converted(to precision: ComputePrecision, afterEachLayer: () -> Void = {}) throws -> W2VBert {
        guard precision == .bfloat16 else { return self }
        try precision.checkSupported()
        var copy = self
        copy.featureProjection = try featureProjection.bfloat16()
        copy.layers = try layers.map { layer in
            defer { afterEachLayer() }
            return try layer.bfloat16()
        }
        copy.precision = .bfloat16
        return copy
    }

    init(_ loader: ParameterLoader, configuration c: W2VBertConfiguration, layers count: Int) {
        configuration = c
        let projection = loader.scoped("feature_projection")
        featureNorm = LayerNorm(projection.scoped("layer_norm"), dimensions: c.featureProjectionInputDim, eps: Float(c.layerNormEps))
        featureProjection = Linear(projection.scoped("projection"), inFeatures: c.featureProjectionInputDim, outFeatures: c.hiddenSize)
        let encoder = loader.scoped("encoder").scoped("layers")
        layers = (0..<count).map { W2VBertLayer(encoder.scoped("\($0)"), configuration: c) }
        loader.ignore("masked_spec_embed")
    }

    /// Number of conformer layers loaded: the deepest hidden state this instance can return.
    public var loadedLayers: Int { layers.count }

    /// Builds the first `layers` conformer layers from `store` (w2v-BERT's `model.safetensors`), checking their keys
    /// and those of the feature projection exactly.
    /// - Throws: ``ModelError`` for an unsupported configuration or a layer count outside `0...num_hidden_layers`,
    ///   ``IndexTTSWeights/WeightsError/keyMismatch(module:missing:unexpected:wrongShapes:)`` naming every missing,
    ///   unexpected or misshapen tensor.
    public static func load(from store: WeightStore, configuration: W2VBertConfiguration,
                            layers: Int = W2VBert.indexTTS2Layer) throws -> W2VBert {
        try configuration.validate(source: store.source)
        guard (0...configuration.numHiddenLayers).contains(layers) else {
            throw ModelError.invalidInput(component: "w2v-BERT",
                                          reason: "\(layers) layers requested, the model has \(configuration.numHiddenLayers)")
        }
        // Deliberately unused: the layers past the requested hidden state, and what follows the encoder.
        let skipped = (layers..<configuration.numHiddenLayers).map { "encoder.layers.\($0)." }
            + ["adapter.", "intermediate_ffn."]
        return try ModuleLoader.load("w2v-BERT (\(store.source))", from: store, ignoring: skipped) { loader in
            W2VBert(loader, configuration: configuration, layers: layers)
        }
    }

    /// Loads w2v-BERT 2.0 as users have it: a folder with `config.json` + `model.safetensors`, or the Hugging Face
    /// cache IndexTTS2 fills (`hf_cache/`, its `models--facebook--w2v-bert-2.0/` entry, or a snapshot in it), or the
    /// IndexTTS2 model folder holding either under `hf_cache/` (or a plain `w2v-bert-2.0/` copy).
    /// - Throws: ``IndexTTSWeights/WeightsError/unreadable(path:reason:)`` when no model is found there,
    ///   ``ModelError/invalidConfiguration(file:field:reason:)`` for a bad `config.json`, and the errors of
    ///   ``load(from:configuration:layers:)``.
    public static func load(directory: String, layers: Int = W2VBert.indexTTS2Layer) throws -> W2VBert {
        let folder = try resolve(directory: directory)
        let configuration = try W2VBertConfiguration.load(path: folder.appendingPathComponent("config.json").path)
        return try WeightStore.load(path: folder.appendingPathComponent("model.safetensors").path) {
            try load(from: $0, configuration: configuration, layers: layers)
        }
    }

    /// The folder holding `config.json` and `model.safetensors` for `directory` (see ``load(directory:layers:)``).
    /// In a cache entry the snapshot `refs/main` names is used, or the only snapshot when there is no ref; a cache
    /// entry wins over a plain `w2v-bert-2.0/` copy.
    public static func resolve(directory: String) throws -> URL {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: directory)
        func isModel(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("config.json").path) }
        if isModel(url) { return url }
        let entryName = "models--" + repository.replacingOccurrences(of: "/", with: "--")
        let candidates = [url, url.appendingPathComponent(entryName), url.appendingPathComponent("hf_cache").appendingPathComponent(entryName)]
        for entry in candidates where fm.fileExists(atPath: entry.appendingPathComponent("snapshots").path) {
            let snapshots = entry.appendingPathComponent("snapshots")
            if let ref = try? String(contentsOf: entry.appendingPathComponent("refs").appendingPathComponent("main"), encoding: .utf8) {
                let snapshot = snapshots.appendingPathComponent(ref.trimmingCharacters(in: .whitespacesAndNewlines))
                if isModel(snapshot) { return snapshot }
                throw WeightsError.unreadable(path: snapshot.path, reason: "the snapshot refs/main names has no config.json")
            }
            let revisions = ((try? fm.contentsOfDirectory(atPath: snapshots.path)) ?? []).filter { !$0.hasPrefix(".") }
            if revisions.count == 1, isModel(snapshots.appendingPathComponent(revisions[0])) {
                return snapshots.appendingPathComponent(revisions[0])
            }
            throw WeightsError.unreadable(path: entry.path, reason: "no refs/main and \(revisions.count) snapshots with a config.json")
        }
        // A plain copy named after the model, in the folder or in its hf_cache/ (`ensure_models_available`'s layout).
        for plain in [url.appendingPathComponent("w2v-bert-2.0"), url.appendingPathComponent("hf_cache").appendingPathComponent("w2v-bert-2.0")]
        where isModel(plain) {
            return plain
        }
        throw WeightsError.unreadable(path: directory, reason: "neither config.json + model.safetensors nor a Hugging Face cache entry \(entryName)")
    }

    /// `hidden_states[layer]` for stacked features `[batch, frames, feature_projection_input_dim]`.
    /// - Parameters:
    ///   - attentionMask: per batch item, which rows are real (the extractor's `attention_mask`, non-zero = real);
    ///     nil when all are. Padded rows are zeroed after the projection, hidden from attention as keys and zeroed
    ///     before each depthwise convolution, as transformers does; their own outputs are computed but meaningless.
    ///   - layer: `0...loadedLayers`; IndexTTS2 reads 17.
    /// - Returns: `[batch, frames, hidden_size]`.
    public func hiddenStates(_ features: Tensor, attentionMask: [[Int32]]? = nil, layer: Int = W2VBert.indexTTS2Layer) throws -> Tensor {
        let c = configuration
        guard features.rank == 3, features.shape[0] >= 1, features.shape[1] >= 1, features.shape[2] == c.featureProjectionInputDim else {
            throw ModelError.invalidInput(component: "w2v-BERT",
                                          reason: "features \(features.shape), expected [batch ≥ 1, frames ≥ 1, \(c.featureProjectionInputDim)]")
        }
        guard (0...layers.count).contains(layer) else {
            throw ModelError.invalidInput(component: "w2v-BERT", reason: "hidden state \(layer) requested, \(layers.count) layers loaded")
        }
        let (batch, frames) = (features.shape[0], features.shape[1])
        var valid: [[Bool]]? = nil
        if let attentionMask {
            guard attentionMask.count == batch, attentionMask.allSatisfy({ $0.count == frames }) else {
                throw ModelError.invalidInput(component: "w2v-BERT",
                                              reason: "attention mask of \(attentionMask.map(\.count)) rows for features \(features.shape)")
            }
            valid = attentionMask.map { $0.map { $0 != 0 } }
            if let empty = valid!.firstIndex(where: { !$0.contains(true) }) {
                throw ModelError.invalidInput(component: "w2v-BERT", reason: "batch item \(empty) has no real frame in its attention mask")
            }
        }
        let mask = try W2VBertMask(valid, frames: frames)
        var x = try mask.zeroPadding(featureProjection(featureNorm(features)))
        for l in layers.prefix(layer) { x = try l(x, mask: mask) }
        return x
    }
}

/// IndexTTS2's normalisation of the w2v-BERT features (`wav2vec2bert_stats.pt`, `{"mean": [1024], "var": [1024]}`):
/// `(h − mean) / sqrt(var)` per channel (`IndexTTS2.get_emb`).
public struct W2VBertStatistics: Sendable {
    public let mean: Tensor
    /// `sqrt(var)`, computed once in fp32 as upstream does.
    public let standardDeviation: Tensor

    public init(mean: Tensor, variance: Tensor) throws {
        guard mean.rank == 1, variance.shape == mean.shape, mean.count > 0 else {
            throw ModelError.invalidInput(component: "w2v-BERT statistics", reason: "mean \(mean.shape) and var \(variance.shape) must be equal vectors")
        }
        if let bad = variance.scalars.first(where: { !($0 > 0) || !$0.isFinite }) {
            throw ModelError.invalidInput(component: "w2v-BERT statistics", reason: "variance \(bad) is not positive and finite")
        }
        self.mean = mean.contiguous()
        standardDeviation = try Tensor(shape: variance.shape, scalars: variance.scalars.map { $0.squareRoot() })
    }

    /// Reads `wav2vec2bert_stats.pt` (or a safetensors file with `mean` and `var`).
    /// - Throws: ``IndexTTSWeights/WeightsError`` naming the file or the missing tensor, ``ModelError`` for bad values.
    public static func load(path: String) throws -> W2VBertStatistics {
        let store = try WeightStore.open(path: path)
        for key in ["mean", "var"] where !store.contains(key) {
            throw WeightsError.missingTensor(key: key, source: store.source)
        }
        return try W2VBertStatistics(mean: store.tensor("mean"), variance: store.tensor("var"))
    }

    /// Channels the statistics cover.
    public var channels: Int { mean.count }

    /// `(hidden − mean) / std` over the last axis of `[…, channels]`.
    public func callAsFunction(_ hidden: Tensor) throws -> Tensor {
        guard hidden.rank >= 1, hidden.shape.last == channels else {
            throw ModelError.invalidInput(component: "w2v-BERT statistics", reason: "features \(hidden.shape) for \(channels) channels")
        }
        return try hidden.subtracting(mean).dividing(standardDeviation)
    }
}
