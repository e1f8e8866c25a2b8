import Foundation

/// Sizes of IndexTTS-2.5's codec (`EnhancedCodec` in `indextts/codec/models.py`), read from the same `semantic_codec`
/// section of `checkpoints/config.yaml` as 2.0's codec (2.5 ships that block unchanged: `infer_v2_5` passes it as
/// `EnhancedCodec(**cfg.semantic_codec)`). The keys and their defaults are ``SemanticCodecConfiguration``'s, except
/// that an absent `downsample_scale` means 2 here (the class default): 50 Hz features ↔ 25 Hz codes.
public struct EnhancedCodecConfiguration: Codable, Sendable, Equatable, ConfigYAMLSection {
    /// The section's values as written (`downsampleScale` nil where the file has no such key).
    public var sizes: SemanticCodecConfiguration

    /// IndexTTS-2.5's codec: 8192 codes of 8 dimensions, 1024-d features, 12 ConvNeXt blocks of 384, 2× down/up.
    public init() { sizes = SemanticCodecConfiguration() }

    public init(sizes: SemanticCodecConfiguration) { self.sizes = sizes }

    public init(from decoder: any Decoder) throws { sizes = try SemanticCodecConfiguration(from: decoder) }

    public func encode(to encoder: any Encoder) throws { try sizes.encode(to: encoder) }

    public static let sectionName = SemanticCodecConfiguration.sectionName

    /// The temporal factor between features and codes: `downsample_scale`, 2 when absent.
    public var downsampleScale: Int { sizes.downsampleScale ?? 2 }

    /// Checks the sizes and that the factor is 2: upstream's `decode` up-samples by a fixed `scale_factor=2` whenever
    /// `downsample_scale > 1` and has no output at all otherwise.
    public func validate(source: String = "config.yaml") throws {
        try sizes.validateSizes(source: source, component: "IndexTTS-2.5 codec")
        if downsampleScale != 2 {
            throw ModelError.unsupported(component: "IndexTTS-2.5 codec",
                                         reason: "downsample_scale \(downsampleScale) (EnhancedCodec decodes at 2× only)")
        }
    }
}
