import IndexTTSNN
import IndexTTSTensor

/// IndexTTS2's `InterpolateRegulator` (`length_regulator` in `s2mel.pth`), continuous-input variant: content
/// `[batch, codes, in_channels]` → `content_in_proj` (Linear) → nearest interpolation to the target frame count →
/// blocks of Conv1d(k3, p1) / GroupNorm(1 group) / Mish → Conv1d 1×1 → `[batch, frames, channels]`.
///
/// Used for the prompt (`S_ref` → `prompt_condition`, frames = reference mel length) and for the generated part
/// (`S_infer` → `cond`, frames = ``targetFrames(codes:)``). The checkpoint's `embedding` and `mask_token` belong to the
/// discrete/training paths and are not used.
public struct LengthRegulator: Sendable {
    struct Block: Sendable {
        let conv: Conv1d
        let norm: GroupNorm
    }

    let contentProjection: Linear
    let blocks: [Block]
    let output: Conv1d
    public let inChannels: Int
    public let channels: Int

    init(_ loader: ParameterLoader, configuration c: S2MConfiguration.LengthRegulator) {
        inChannels = c.inChannels
        channels = c.channels
        contentProjection = Linear(loader.scoped("content_in_proj"), inFeatures: c.inChannels, outFeatures: c.channels)
        let model = loader.scoped("model")
        // nn.Sequential indices: conv 3i, GroupNorm 3i+1, Mish 3i+2 (no parameters), final conv 3·blocks.
        blocks = c.samplingRatios.indices.map { i in
            Block(conv: Conv1d(model.scoped("\(3 * i)"), .init(inChannels: c.channels, outChannels: c.channels, kernelSize: 3, padding: 1)),
                  norm: GroupNorm(model.scoped("\(3 * i + 1)"), groups: 1, channels: c.channels))
        }
        output = Conv1d(model.scoped("\(3 * c.samplingRatios.count)"),
                        .init(inChannels: c.channels, outChannels: c.channels, kernelSize: 1))
        loader.ignore("embedding.weight", "mask_token")
    }

    /// Mel frames IndexTTS2 renders for `codes` semantic codes: `(code_lens · 1.72).long()` (fp32 product, truncated).
    /// 50 Hz codes → 86.13 Hz mel frames. IndexTTS-2.5 multiplies by a duration factor as well.
    public static func targetFrames(codes: Int, durationFactor: Float = 1) -> Int {
        Int((Float(codes) * 1.72 * durationFactor).rounded(.towardZero))
    }

    /// `[batch, codes, in_channels]` → `[batch, frames, channels]`.
    /// - Throws: ``ModelError/invalidInput(component:reason:)`` for a wrong width, no codes, no frames or a
    ///   non-finite value.
    public func callAsFunction(_ content: Tensor, frames: Int) throws -> Tensor {
        guard content.rank == 3, content.shape[2] == inChannels else {
            throw ModelError.invalidInput(component: "S2M length regulator",
                                          reason: "content \(content.shape) is not [batch, codes, \(inChannels)]")
        }
        guard content.shape[0] > 0, content.shape[1] > 0, frames > 0 else {
            throw ModelError.invalidInput(component: "S2M length regulator",
                                          reason: "needs at least one code and one frame (content \(content.shape), \(frames) frames)")
        }
        try S2M.checkFinite(content, "S2M length regulator", "content")
        var x = try contentProjection(content).transposed(1, 2).interpolateNearest(size: frames)
        for block in blocks {
            x = try block.norm(block.conv(x)).mish()
        }
        return try output(x).transposed(1, 2).contiguous()
    }
}
