import Foundation

/// A Qwen3 causal LM's `config.json` (transformers `Qwen3Config`): the fields the decoder reads, keys in their upstream
/// spelling. Absent fields take transformers' defaults (`Qwen3Config()` in 4.52.1). IndexTTS2's `qwen0.6bemo4-merge` is a
/// fine-tuned Qwen3-0.6B: hidden 1024, 28 layers, 16 query / 8 key-value heads of 128, MLP 3072, θ 1e6, tied head,
/// vocabulary 151936.
public struct Qwen3Configuration: Decodable, Sendable, Equatable, ConfigJSONFile {
    public var vocabSize: Int = 151_936
    public var hiddenSize: Int = 4096
    public var intermediateSize: Int = 22_016
    public var numHiddenLayers: Int = 32
    public var numAttentionHeads: Int = 32
    public var numKeyValueHeads: Int = 32
    /// Width of one head; Qwen3 sets it explicitly (128), independent of `hidden_size / num_attention_heads`.
    public var headDim: Int = 128
    public var hiddenAct: String = "silu"
    public var maxPositionEmbeddings: Int = 32_768
    public var rmsNormEps: Double = 1e-6
    public var ropeTheta: Double = 10_000
    public var tieWordEmbeddings: Bool = false
    public var attentionBias: Bool = false
    /// Whether `rope_scaling` is set (an object); only `null` (plain rotary) is implemented.
    public var hasRopeScaling: Bool = false
    /// Qwen3 declares it but 4.52.1 never applies a window on this path; `true` is rejected so nothing silently differs.
    public var useSlidingWindow: Bool = false
    /// Stored dtype as the file says (`bfloat16`, `float16`, `float32`); informational — the weights' own dtype decides.
    public var torchDtype: String? = nil
    public var eosTokenId: Int? = nil
    public var bosTokenId: Int? = nil

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case tieWordEmbeddings = "tie_word_embeddings", attentionBias = "attention_bias", ropeScaling = "rope_scaling"
        case useSlidingWindow = "use_sliding_window", torchDtype = "torch_dtype", eosTokenId = "eos_token_id"
        case bosTokenId = "bos_token_id"
    }

    /// transformers' `Qwen3Config()` defaults.
    public init() {}

    /// Qwen3-0.6B (and IndexTTS2's `qwen0.6bemo4-merge`).
    public static let qwen3_0_6B: Qwen3Configuration = {
        var c = Qwen3Configuration()
        c.hiddenSize = 1024
        c.intermediateSize = 3072
        c.numHiddenLayers = 28
        c.numAttentionHeads = 16
        c.numKeyValueHeads = 8
        c.headDim = 128
        c.maxPositionEmbeddings = 40_960
        c.ropeTheta = 1_000_000
        c.tieWordEmbeddings = true
        c.eosTokenId = 151_645
        c.bosTokenId = 151_643
        return c
    }()

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Qwen3Configuration()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? d.numKeyValueHeads
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? d.headDim
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? d.rmsNormEps
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? d.ropeTheta
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? d.tieWordEmbeddings
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? d.attentionBias
        // rope_scaling is an object when present; only its absence / null is supported.
        hasRopeScaling = try c.contains(.ropeScaling) && !c.decodeNil(forKey: .ropeScaling)
        useSlidingWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? d.useSlidingWindow
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype)
        eosTokenId = try? c.decodeIfPresent(Int.self, forKey: .eosTokenId)
        bosTokenId = try? c.decodeIfPresent(Int.self, forKey: .bosTokenId)
    }

    /// Checks what this port supports and that the sizes are consistent.
    public func validate(source: String = "config.json") throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: field, reason: reason)
        }
        let limit = 1 << 20
        for (name, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                              ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                              ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim),
                              ("max_position_embeddings", maxPositionEmbeddings)] where value < 1 || value > limit {
            throw fail(name, "\(value) is out of range 1...\(limit)")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw fail("num_key_value_heads", "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
        guard headDim % 2 == 0 else { throw fail("head_dim", "\(headDim) is odd; rotary embeddings need pairs") }
        guard hiddenAct == "silu" else { throw fail("hidden_act", "'\(hiddenAct)' is not supported (only silu)") }
        guard rmsNormEps > 0, rmsNormEps.isFinite else { throw fail("rms_norm_eps", "\(rmsNormEps) must be positive") }
        guard ropeTheta > 1, ropeTheta.isFinite else { throw fail("rope_theta", "\(ropeTheta) must be greater than 1") }
        guard !hasRopeScaling else { throw fail("rope_scaling", "is set; only plain rotary embeddings are implemented") }
        guard !useSlidingWindow else { throw fail("use_sliding_window", "sliding-window attention is not supported") }
    }
}

/// `generation_config.json`: how `model.generate` decodes by default. Absent fields take transformers'
/// `GenerationConfig()` defaults (greedy; temperature 1, top-k 50, top-p 1 when sampling).
public struct Qwen3GenerationConfiguration: Decodable, Sendable, Equatable, ConfigJSONFile {
    public var doSample: Bool = false
    public var temperature: Double = 1
    public var topK: Int = 50
    public var topP: Double = 1
    public var repetitionPenalty: Double = 1
    /// Stop ids (an int or a list in the file).
    public var eosTokenIds: [Int] = []

    enum CodingKeys: String, CodingKey {
        case doSample = "do_sample", temperature, topK = "top_k", topP = "top_p"
        case repetitionPenalty = "repetition_penalty", eosTokenIds = "eos_token_id"
    }

    public init() {}

    public init(doSample: Bool, temperature: Double = 1, topK: Int = 50, topP: Double = 1, eosTokenIds: [Int]) {
        self.doSample = doSample
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.eosTokenIds = eosTokenIds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        doSample = try c.decodeIfPresent(Bool.self, forKey: .doSample) ?? false
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? 1
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 50
        topP = try c.decodeIfPresent(Double.self, forKey: .topP) ?? 1
        repetitionPenalty = try c.decodeIfPresent(Double.self, forKey: .repetitionPenalty) ?? 1
        if let list = try? c.decodeIfPresent([Int].self, forKey: .eosTokenIds) {
            eosTokenIds = list
        } else if let single = try c.decodeIfPresent(Int.self, forKey: .eosTokenIds) {
            eosTokenIds = [single]
        }
    }

    public func validate(source: String = "generation_config.json") throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: field, reason: reason)
        }
        guard temperature > 0, temperature.isFinite else { throw fail("temperature", "\(temperature) must be positive") }
        guard topK >= 0 else { throw fail("top_k", "\(topK) is negative") }
        guard topP > 0, topP <= 1 else { throw fail("top_p", "\(topP) is outside (0, 1]") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw fail("repetition_penalty", "\(repetitionPenalty) must be positive")
        }
    }
}
