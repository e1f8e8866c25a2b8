import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSText
import IndexTTSWeights

/// Loading a model folder into an ``IndexTTS2Pipeline``: every component, per the folder's generation, with every
/// failure reported at once.
extension IndexTTS2Pipeline {
    /// Loads every component of the folder. Files that fail to load are all reported in one
    /// ``IndexTTS2LoadError``.
    /// - Parameters:
    ///   - textGrammars: WeTextProcessing grammar folder (``ModelCache/textGrammars``); nil skips normalisation.
    ///   - precision: arithmetic of the compute-bound products — the S2M estimator (the CFM, most of a request's
    ///     time) and w2v-BERT's layers; fp32 matches upstream within 1e-4, bfloat16 is about twice as fast where the
    ///     CPU has AVX512-BF16 (``ComputePrecision``). In bfloat16 mode the GPT-2 core's and mel head's weights are
    ///     also held as fp16 (decoding is memory-bound: half the bytes per step; products and activations stay fp32).
    ///     BigVGAN stays fp32.
    public static func load(folder: IndexTTS2ModelFolder, textGrammars: String? = nil,
                            precision: ComputePrecision = .float32) throws -> IndexTTS2Pipeline {
        try precision.checkSupported()
        var folder = folder
        if folder.fingerprint.isEmpty { folder.fingerprint = (try? folder.computeFingerprint()) ?? "" }
        var problems: [IndexTTS2LoadError.Problem] = []
        func attempt<T>(_ path: String, _ source: String, _ body: () throws -> T) -> T? {
            do { return try body() } catch {
                problems.append(.init(path: path, reason: "cannot load: \(error)", source: source))
                return nil
            }
        }
        let main = folder.source
        let root = attempt(folder.config, main) { try ConfigYAMLDocument(contentsOf: folder.config).values } ?? nil
        let gpt = attempt(folder.gpt, main) { () throws -> UnifiedVoice in
            let model = try UnifiedVoice.load(checkpoint: folder.gpt, configYAML: folder.config)
            // Reduced precision: decoding reads every GPT-2 projection weight once per step (memory-bound), so fp16
            // weights (11-bit mantissa, closer than bfloat16's 8) halve a step's bytes; products stay fp32.
            guard precision == .bfloat16 else { return model }
            // Each block's fp32 pages go once it is converted: load never holds both copies of the stack.
            let half = try model.halfPrecision { MappedFile.releaseResidentPages(of: folder.gpt) }
            MappedFile.releaseResidentPages(of: folder.gpt)
            return half
        }
        let s2m = attempt(folder.s2mel, main) {
            try S2M.load(checkpoint: folder.s2mel, configYAML: folder.config).converted(to: precision)
        }
        let stats = attempt(folder.w2vStatistics, main) { try W2VBertStatistics.load(path: folder.w2vStatistics) }
        let groups = (root?["emo_num"] as? [Int]) ?? EmotionMatrices.indexTTS2Groups
        let matrices = attempt(folder.emotionMatrix, main) {
            try EmotionMatrices.load(emotionMatrix: folder.emotionMatrix, speakerMatrix: folder.speakerMatrix, groups: groups)
        }
        let is25 = folder.generation == .indexTTS25
        let source = folder.source
        let tokenizer = is25 ? nil : attempt(folder.bpe, main) { try IndexTTSTokenizer(modelPath: folder.bpe) }
        let tiktoken = !is25 ? nil : attempt(folder.bpe, source) { try TiktokenTokenizer.indexTTS25(path: folder.bpe) }
        let w2v = attempt(folder.w2vBert, "facebook/w2v-bert-2.0") {
            let model = try W2VBert.load(directory: folder.w2vBert)
            guard precision == .bfloat16,
                  let checkpoint = (try? W2VBert.resolve(directory: folder.w2vBert))?.appendingPathComponent("model.safetensors").path
            else { return try model.converted(to: precision) }
            return try model.converted(to: precision) { MappedFile.releaseResidentPages(of: checkpoint) }
        }
        let codec = is25 ? nil : attempt(folder.semanticCodec, "amphion/MaskGCT") {
            try SemanticCodec.load(checkpoint: folder.semanticCodec, configYAML: folder.config)
        }
        let enhancedCodec = !is25 ? nil : attempt(folder.semanticCodec, source) {
            try EnhancedCodec.load(checkpoint: folder.semanticCodec, configYAML: folder.config)
        }
        let campplus = attempt(folder.campplus, "funasr/campplus") { () throws -> CAMPPlus in
            // `campplus:` is not an upstream key (upstream hard-codes CAMPPlus(feat_dim=80, embedding_size=192)).
            var configuration = CAMPPlusConfiguration()
            if let section = root?["campplus"] as? [String: Any] {
                func int(_ key: String) -> Int? { section[key] as? Int }
                func ints(_ key: String) -> [Int]? { section[key] as? [Int] }
                configuration.featDim = int("feat_dim") ?? configuration.featDim
                configuration.embeddingSize = int("embedding_size") ?? configuration.embeddingSize
                configuration.growthRate = int("growth_rate") ?? configuration.growthRate
                configuration.bnSize = int("bn_size") ?? configuration.bnSize
                configuration.initChannels = int("init_channels") ?? configuration.initChannels
                configuration.mChannels = int("m_channels") ?? configuration.mChannels
                configuration.blockLayers = ints("block_layers") ?? configuration.blockLayers
                configuration.blockKernelSizes = ints("block_kernel_sizes") ?? configuration.blockKernelSizes
                configuration.blockDilations = ints("block_dilations") ?? configuration.blockDilations
            }
            return try CAMPPlus.load(checkpoint: folder.campplus, configuration: configuration)
        }
        // BigVGAN stays fp32 in every precision: bfloat16 convolutions moved the tiny parity model's waveform by
        // 1.3e-2 relative (38 dB SNR, under the 40 dB the end-to-end parity asks) for about 2 s of a request.
        let bigvgan = attempt(folder.bigvgan, "nvidia/bigvgan_v2_22khz_80band_256x") { try BigVGAN.load(directory: folder.bigvgan) }
        let mel = attempt(folder.config, main) { () throws -> MelSpectrogram in
            try MelSpectrogram(melConfiguration(root?["s2mel"] as? [String: Any], source: folder.config))
        }
        // The folder's glossary.yaml, when present, as upstream's IndexTTS2 loads it (term: reading, or {zh, en}).
        let glossaryPath = (folder.root as NSString).appendingPathComponent("glossary.yaml")
        let glossary = FileManager.default.fileExists(atPath: glossaryPath)
            ? attempt(glossaryPath, "the model folder's glossary (term: reading, or term: {zh: …, en: …})") { try Glossary.load(path: glossaryPath) }
            : Glossary()
        let normalizer = textGrammars.flatMap { dir in attempt(dir, "WeTextProcessing 1.2.0 grammars (scripts/fetch-default-voice.sh)") {
            try IndexTTSTextNormalizer.weText(directory: dir, glossary: glossary ?? Glossary())
        } }
        guard problems.isEmpty, let gpt, let s2m, let stats, let matrices, tokenizer != nil || tiktoken != nil, let w2v,
              codec != nil || enhancedCodec != nil, let campplus, let bigvgan, let mel else {
            throw IndexTTS2LoadError.unusableFolder(root: folder.root, problems: problems)
        }
        // The generation's choices must agree: the GPT's speaker mode (a `spk_cond_mode` in the file could differ),
        // and every id the tokenizer can give must have a row in the GPT's text embedding.
        if gpt.configuration.speakerConditioning != folder.generation.speakerConditioning {
            throw IndexTTS2LoadError.unusableFolder(root: folder.root, problems: [.init(
                path: folder.config, reason: "gpt.spk_cond_mode \(gpt.configuration.speakerConditioning.rawValue) does not match "
                    + "version \(folder.generation.rawValue) (\(folder.generation.speakerConditioning.rawValue))", source: source)])
        }
        if let tiktoken, tiktoken.vocabularySize > gpt.configuration.textVocabulary {
            throw IndexTTS2LoadError.unusableFolder(root: folder.root, problems: [.init(
                path: folder.bpe, reason: "\(tiktoken.vocabularySize) token ids (\(tiktoken.rankCount) ranks + "
                    + "\(TiktokenTokenizer.indexTTS25Specials.count) specials) exceed the GPT's \(gpt.configuration.textVocabulary) "
                    + "text embeddings (gpt.number_text_tokens + 1 in config.yaml)", source: source)])
        }
        let frontEnd = tiktoken.map { IndexTTS25FrontEnd(tokenizer: $0, normalizer: normalizer) }
        let pipeline = IndexTTS2Pipeline(folder: folder, gpt: gpt, w2vBert: w2v, w2vStatistics: stats, semanticCodec: codec,
                                         enhancedCodec: enhancedCodec, campplus: campplus, s2m: s2m, bigvgan: bigvgan,
                                         emotionMatrices: matrices, tokenizer: tokenizer, indexTTS25FrontEnd: frontEnd,
                                         normalizer: normalizer, referenceMel: mel,
                                         decodeBatcher: sharedDecodingEnabled ? DecodeStepBatcher(model: gpt) : nil,
                                         features: try SeamlessM4TFeatureExtractor(), fbank: try KaldiFbank())
        if precision == .bfloat16 {
            // The bfloat16 copies were read from the fp32 files' pages: let those go (they fault back in if read).
            MappedFile.releaseResidentPages(of: folder.s2mel)
            MappedFile.releaseResidentPages(of: folder.gpt)
            if let checkpoint = pipeline.w2vBertCheckpoint { MappedFile.releaseResidentPages(of: checkpoint) }
        }
        return pipeline
    }

    /// Resolves and loads a model folder.
    public static func load(modelDirectory: String, textGrammars: String? = nil,
                            precision: ComputePrecision = .float32) throws -> IndexTTS2Pipeline {
        try load(folder: IndexTTS2ModelFolder.resolve(root: modelDirectory), textGrammars: textGrammars, precision: precision)
    }

    /// `mel_fn`'s arguments from `s2mel.preprocess_params` (upstream quirk: any `fmax` other than the string
    /// `None` means 8000 Hz).
    static func melConfiguration(_ s2mel: [String: Any]?, source: String) throws -> MelSpectrogram.Configuration {
        guard let pre = s2mel?["preprocess_params"] as? [String: Any], let spect = pre["spect_params"] as? [String: Any] else {
            throw ModelError.invalidConfiguration(file: source, field: "s2mel.preprocess_params.spect_params", reason: "missing section")
        }
        func int(_ d: [String: Any], _ key: String, _ field: String) throws -> Int {
            guard let v = d[key] as? Int else {
                throw ModelError.invalidConfiguration(file: source, field: field, reason: "missing or not an integer")
            }
            return v
        }
        var c = MelSpectrogram.Configuration()
        c.sampleRate = try int(pre, "sr", "s2mel.preprocess_params.sr")
        c.fftSize = try int(spect, "n_fft", "s2mel.preprocess_params.spect_params.n_fft")
        c.windowLength = try int(spect, "win_length", "s2mel.preprocess_params.spect_params.win_length")
        c.hopLength = try int(spect, "hop_length", "s2mel.preprocess_params.spect_params.hop_length")
        c.melCount = try int(spect, "n_mels", "s2mel.preprocess_params.spect_params.n_mels")
        c.minimumFrequency = (spect["fmin"] as? Double) ?? Double((spect["fmin"] as? Int) ?? 0)
        let fmax = spect["fmax"].map { "\($0)" } ?? "None"
        c.maximumFrequency = fmax == "None" ? nil : 8000
        return c
    }
}
