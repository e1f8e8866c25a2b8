import IndexTTSNN
import IndexTTSTensor

/// Vocos's backbone (`VocosBackbone` without AdaLN, `indextts/utils/maskgct/models/codec/kmeans/vocos.py` and its
/// byte-identical copy `indextts/codec/kmeans/vocos.py`): conv k7 (`embed`) → LayerNorm → ConvNeXt blocks
/// [depthwise conv k7, LayerNorm, Linear → GELU (exact) → Linear, layer scale γ, residual] → LayerNorm; every
/// LayerNorm with eps 1e-6. MaskGCT's semantic codec encodes with one (``SemanticCodec``), IndexTTS-2.5's codec
/// decodes with another (``EnhancedCodec``). Time-major throughout: `[batch, frames, input_channels]` →
/// `[batch, frames, dim]`. Immutable after loading.
struct VocosBackbone: Sendable {
    struct ConvNeXtBlock: Sendable {
        let depthwiseWeight: Tensor
        let depthwiseBias: Tensor
        let norm: LayerNorm
        let pointwise1: Linear
        let pointwise2: Linear
        let gamma: Tensor

        init(_ loader: ParameterLoader, dim: Int, intermediateDim: Int) {
            depthwiseWeight = loader.scoped("dwconv").tensor("weight", shape: [dim, 1, 7])
            depthwiseBias = loader.scoped("dwconv").tensor("bias", shape: [dim])
            norm = LayerNorm(loader.scoped("norm"), dimensions: dim, eps: 1e-6)
            pointwise1 = Linear(loader.scoped("pwconv1"), inFeatures: dim, outFeatures: intermediateDim)
            pointwise2 = Linear(loader.scoped("pwconv2"), inFeatures: intermediateDim, outFeatures: dim)
            gamma = loader.tensor("gamma", shape: [dim])
        }

        /// `[batch, frames, dim]` → same shape.
        func callAsFunction(_ x: Tensor) throws -> Tensor {
            var y = try x.depthwiseConv1dTimeMajor(weight: depthwiseWeight, bias: depthwiseBias, padLeft: 3, padRight: 3)
            y = try pointwise1(norm(y)).gelu()
            y = try pointwise2(y).multiplying(gamma)
            return try x.adding(y)
        }
    }

    let embed: Conv1d
    let embedNorm: LayerNorm
    let blocks: [ConvNeXtBlock]
    let finalNorm: LayerNorm

    /// `loader` scoped to the backbone (`encoder.0`, `decoder.0`): `embed.*`, `norm.*`, `convnext.N.*`,
    /// `final_layer_norm.*`.
    init(_ loader: ParameterLoader, inputChannels: Int, dim: Int, intermediateDim: Int, layers: Int) {
        embed = Conv1d(loader.scoped("embed"), Conv1dConfiguration(inChannels: inputChannels, outChannels: dim,
                                                                   kernelSize: 7, padding: 3))
        embedNorm = LayerNorm(loader.scoped("norm"), dimensions: dim, eps: 1e-6)
        blocks = (0..<layers).map { i in
            ConvNeXtBlock(loader.scoped("convnext").scoped("\(i)"), dim: dim, intermediateDim: intermediateDim)
        }
        finalNorm = LayerNorm(loader.scoped("final_layer_norm"), dimensions: dim, eps: 1e-6)
    }

    /// How many frames on each side an output frame reads: the embedding's 7 taps and every block's depthwise 7 taps
    /// (3 frames each side per convolution; everything else is per frame).
    var receptiveRadius: Int { 3 + 3 * blocks.count }

    /// `[batch, frames, input_channels]` → `[batch, frames, dim]`.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var y = try embedNorm(embed(x.transposed(1, 2)).transposed(1, 2))
        for block in blocks { y = try block(y) }
        return try finalNorm(y)
    }
}
