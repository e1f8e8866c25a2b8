import Foundation

/// BigVGAN's `config.json` (the hyper-parameters `bigvgan.py` reads from it), keys in their upstream spelling.
///
/// Defaults are the values of `nvidia/bigvgan_v2_22khz_80band_256x`, the vocoder IndexTTS2 uses; training-only
/// fields of the file (discriminators, losses, optimiser) are ignored.
public struct BigVGANConfiguration: Codable, Sendable, Equatable, ConfigJSONFile {
    /// Residual block type; `"1"` (AMPBlock1: dilated conv + plain conv pairs) is what every released v2 model uses.
    public var resblock: String = "1"
    public var numMels: Int = 80
    public var upsampleRates: [Int] = [4, 4, 2, 2, 2, 2]
    public var upsampleKernelSizes: [Int] = [8, 8, 4, 4, 4, 4]
    public var upsampleInitialChannel: Int = 1536
    public var resblockKernelSizes: [Int] = [3, 7, 11]
    public var resblockDilationSizes: [[Int]] = [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
    /// `"snake"` (x + 1/α·sin²(αx)) or `"snakebeta"` (x + 1/β·sin²(αx)).
    public var activation: String = "snakebeta"
    /// Whether α (and β) are stored as logarithms.
    public var snakeLogscale: Bool = true
    /// `tanh` on the output (upstream's default when the field is absent); otherwise the output is clamped to [−1, 1].
    public var useTanhAtFinal: Bool = false
    /// Whether `conv_post` has a bias (upstream's default when absent is true; the v2 22 kHz model has none).
    public var useBiasAtFinal: Bool = false
    /// Samples per mel frame; must equal the product of `upsample_rates`.
    public var hopSize: Int = 256
    public var samplingRate: Int = 22050

    enum CodingKeys: String, CodingKey {
        case resblock, numMels = "num_mels", upsampleRates = "upsample_rates", upsampleKernelSizes = "upsample_kernel_sizes"
        case upsampleInitialChannel = "upsample_initial_channel", resblockKernelSizes = "resblock_kernel_sizes"
        case resblockDilationSizes = "resblock_dilation_sizes", activation, snakeLogscale = "snake_logscale"
        case useTanhAtFinal = "use_tanh_at_final", useBiasAtFinal = "use_bias_at_final", hopSize = "hop_size"
        case samplingRate = "sampling_rate"
    }

    /// The configuration of `nvidia/bigvgan_v2_22khz_80band_256x`.
    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BigVGANConfiguration()
        resblock = try c.decodeIfPresent(String.self, forKey: .resblock) ?? d.resblock
        numMels = try c.decodeIfPresent(Int.self, forKey: .numMels) ?? d.numMels
        upsampleRates = try c.decodeIfPresent([Int].self, forKey: .upsampleRates) ?? d.upsampleRates
        upsampleKernelSizes = try c.decodeIfPresent([Int].self, forKey: .upsampleKernelSizes) ?? d.upsampleKernelSizes
        upsampleInitialChannel = try c.decodeIfPresent(Int.self, forKey: .upsampleInitialChannel) ?? d.upsampleInitialChannel
        resblockKernelSizes = try c.decodeIfPresent([Int].self, forKey: .resblockKernelSizes) ?? d.resblockKernelSizes
        resblockDilationSizes = try c.decodeIfPresent([[Int]].self, forKey: .resblockDilationSizes) ?? d.resblockDilationSizes
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? d.activation
        snakeLogscale = try c.decodeIfPresent(Bool.self, forKey: .snakeLogscale) ?? d.snakeLogscale
        // Absent flags take upstream's `h.get(..., True)` defaults, not the v2 model's values.
        useTanhAtFinal = try c.decodeIfPresent(Bool.self, forKey: .useTanhAtFinal) ?? true
        useBiasAtFinal = try c.decodeIfPresent(Bool.self, forKey: .useBiasAtFinal) ?? true
        hopSize = try c.decodeIfPresent(Int.self, forKey: .hopSize) ?? Self.product(upsampleRates) ?? 0
        samplingRate = try c.decodeIfPresent(Int.self, forKey: .samplingRate) ?? d.samplingRate
    }

    /// Output samples per mel frame (the product of the up-sampling rates; 0 if that overflows, which
    /// ``validate(source:)`` rejects).
    public var hopLength: Int { Self.product(upsampleRates) ?? 0 }

    static func product(_ values: [Int]) -> Int? {
        var result = 1
        for v in values {
            let (p, overflow) = result.multipliedReportingOverflow(by: v)
            if overflow { return nil }
            result = p
        }
        return result
    }

    /// Bounds far beyond any released model that keep every size computation free of overflow.
    static let maximumStages = 16, maximumKernel = 1024, maximumChannels = 1 << 16

    /// Channels after up-sampling stage `i` (`upsample_initial_channel / 2^(i+1)`).
    public func channels(afterStage i: Int) -> Int { upsampleInitialChannel >> (i + 1) }

    /// Checks what this port supports and that the sizes are consistent.
    public func validate(source: String = "config.json") throws {
        func fail(_ field: String, _ reason: String) -> ModelError {
            .invalidConfiguration(file: source, field: field, reason: reason)
        }
        guard resblock == "1" else {
            throw ModelError.unsupported(component: "BigVGAN", reason: "resblock '\(resblock)' (released BigVGAN v2 models use \"1\")")
        }
        guard activation == "snake" || activation == "snakebeta" else {
            throw fail("activation", "'\(activation)' (expected snake or snakebeta)")
        }
        if numMels <= 0 || numMels > Self.maximumChannels {
            throw fail("num_mels", "must be in 1...\(Self.maximumChannels), got \(numMels)")
        }
        if upsampleRates.isEmpty || upsampleRates.count > Self.maximumStages {
            throw fail("upsample_rates", "needs 1...\(Self.maximumStages) stages, got \(upsampleRates.count)")
        }
        guard upsampleKernelSizes.count == upsampleRates.count else {
            throw fail("upsample_kernel_sizes", "has \(upsampleKernelSizes.count) entries for \(upsampleRates.count) upsample_rates")
        }
        for (i, (rate, kernel)) in zip(upsampleRates, upsampleKernelSizes).enumerated() {
            if rate <= 0 || rate > Self.maximumKernel {
                throw fail("upsample_rates.\(i)", "must be in 1...\(Self.maximumKernel), got \(rate)")
            }
            // ConvTranspose1d(padding=(k-u)//2) yields exactly rate × frames samples only when k − u is even and ≥ 0.
            guard kernel >= rate, kernel <= Self.maximumKernel, (kernel - rate) % 2 == 0 else {
                throw fail("upsample_kernel_sizes.\(i)",
                           "\(kernel) with rate \(rate): kernel − rate must be even and ≥ 0, kernel at most \(Self.maximumKernel)")
            }
        }
        guard upsampleInitialChannel > 0, upsampleInitialChannel <= Self.maximumChannels,
              upsampleInitialChannel % (1 << upsampleRates.count) == 0 else {
            throw fail("upsample_initial_channel",
                       "\(upsampleInitialChannel) is not in 1...\(Self.maximumChannels) or not divisible by 2^\(upsampleRates.count)")
        }
        if resblockKernelSizes.isEmpty { throw fail("resblock_kernel_sizes", "is empty") }
        guard resblockDilationSizes.count == resblockKernelSizes.count else {
            throw fail("resblock_dilation_sizes", "has \(resblockDilationSizes.count) entries for \(resblockKernelSizes.count) kernel sizes")
        }
        for (i, kernel) in resblockKernelSizes.enumerated() where kernel <= 0 || kernel % 2 == 0 || kernel > Self.maximumKernel {
            throw fail("resblock_kernel_sizes.\(i)", "\(kernel) (an odd size up to \(Self.maximumKernel) keeps the length)")
        }
        for (i, dilations) in resblockDilationSizes.enumerated() {
            if dilations.isEmpty { throw fail("resblock_dilation_sizes.\(i)", "is empty") }
            for (j, d) in dilations.enumerated() where d <= 0 || d > Self.maximumKernel {
                throw fail("resblock_dilation_sizes.\(i).\(j)", "must be in 1...\(Self.maximumKernel), got \(d)")
            }
        }
        guard hopLength > 0 else { throw fail("upsample_rates", "the product of the rates overflows") }
        guard hopSize == hopLength else {
            throw fail("hop_size", "\(hopSize) differs from the product of upsample_rates (\(hopLength))")
        }
        if samplingRate <= 0 { throw fail("sampling_rate", "must be positive, got \(samplingRate)") }
    }
}
