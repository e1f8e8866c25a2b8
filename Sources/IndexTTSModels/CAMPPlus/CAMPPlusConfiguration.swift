/// Sizes of CAM++ (`indextts/s2mel/modules/campplus/DTDNN.py`, from 3D-Speaker) as IndexTTS2 builds it:
/// `CAMPPlus(feat_dim=80, embedding_size=192)`. The constructor's other arguments keep upstream's defaults; the
/// FCM head width and the dense blocks' shapes, hard-coded upstream, are fields here so that tiny test models work.
public struct CAMPPlusConfiguration: Codable, Sendable, Equatable {
    /// Fbank bins of the input (a multiple of 8: the head halves the frequency axis three times).
    public var featDim: Int = 80
    /// Width of the speaker embedding.
    public var embeddingSize: Int = 192
    public var growthRate: Int = 32
    public var bnSize: Int = 4
    public var initChannels: Int = 128
    /// Channels of the FCM head's 2-D convolutions (`m_channels`).
    public var mChannels: Int = 32
    /// Layers, kernel size and dilation of the three CAM dense blocks.
    public var blockLayers: [Int] = [12, 24, 16]
    public var blockKernelSizes: [Int] = [3, 3, 3]
    public var blockDilations: [Int] = [1, 2, 2]

    enum CodingKeys: String, CodingKey {
        case featDim = "feat_dim", embeddingSize = "embedding_size", growthRate = "growth_rate", bnSize = "bn_size"
        case initChannels = "init_channels", mChannels = "m_channels", blockLayers = "block_layers"
        case blockKernelSizes = "block_kernel_sizes", blockDilations = "block_dilations"
    }

    /// IndexTTS2's speaker encoder (`campplus_cn_common.bin`).
    public init() {}

    public init(featDim: Int, embeddingSize: Int, growthRate: Int, bnSize: Int, initChannels: Int, mChannels: Int = 32,
                blockLayers: [Int] = [12, 24, 16], blockKernelSizes: [Int] = [3, 3, 3], blockDilations: [Int] = [1, 2, 2]) {
        self.featDim = featDim
        self.embeddingSize = embeddingSize
        self.growthRate = growthRate
        self.bnSize = bnSize
        self.initChannels = initChannels
        self.mChannels = mChannels
        self.blockLayers = blockLayers
        self.blockKernelSizes = blockKernelSizes
        self.blockDilations = blockDilations
    }

    /// Channels leaving the FCM head (`m_channels · feat_dim / 8`).
    public var headChannels: Int { mChannels * (featDim / 8) }

    /// Checks that the sizes are usable.
    public func validate(source: String = "CAMPPlus configuration") throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: field, reason: reason)
        }
        let limit = 1 << 16
        for (name, value) in [("feat_dim", featDim), ("embedding_size", embeddingSize), ("growth_rate", growthRate),
                              ("bn_size", bnSize), ("init_channels", initChannels), ("m_channels", mChannels)]
        where value <= 0 || value > limit {
            throw fail(name, "must be in 1...\(limit), got \(value)")
        }
        if featDim % 8 != 0 { throw fail("feat_dim", "\(featDim) is not a multiple of 8") }
        guard !blockLayers.isEmpty, blockKernelSizes.count == blockLayers.count, blockDilations.count == blockLayers.count else {
            throw fail("block_layers", "needs as many kernel sizes and dilations as blocks")
        }
        for (i, (layers, (kernel, dilation))) in zip(blockLayers, zip(blockKernelSizes, blockDilations)).enumerated() {
            if layers <= 0 || layers > 256 { throw fail("block_layers.\(i)", "must be in 1...256, got \(layers)") }
            if kernel <= 0 || kernel % 2 == 0 || kernel > 63 { throw fail("block_kernel_sizes.\(i)", "must be odd, 1...63, got \(kernel)") }
            if dilation <= 0 || dilation > 64 { throw fail("block_dilations.\(i)", "must be in 1...64, got \(dilation)") }
        }
    }
}
