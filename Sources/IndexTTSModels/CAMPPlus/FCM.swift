import IndexTTSNN
import IndexTTSTensor

/// CAM++'s front: the FCM head, fbank `[batch, feat, frames]` → `[batch, m·feat/8, frames]`.
///
/// `conv1` (3×3, 1 → m) + BN + ReLU, two stages of two `BasicResBlock`s whose first block halves the frequency axis
/// (stride (2, 1)), then `conv2` (3×3, stride (2, 1)) + BN + ReLU; channels and the remaining frequency rows are
/// flattened into one axis. No convolution has a bias; BatchNorm runs on its running statistics.
struct FCM: Sendable {
    /// `[out, in, 3, 3]` (or `[out, in, 1, 1]`) without bias, then BatchNorm2d.
    struct ConvBN: Sendable {
        let weight: Tensor
        let norm: BatchNorm
        let stride: Int
        let padding: Int

        init(_ loader: ParameterLoader, conv: String, bn: String, input: Int, output: Int, kernel: Int, stride: Int) {
            weight = loader.scoped(conv).tensor("weight", shape: [output, input, kernel, kernel])
            norm = BatchNorm(loader.scoped(bn), channels: output)
            self.stride = stride
            padding = kernel / 2
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try norm(x.conv2d(weight: weight, stride: (stride, 1), padding: (padding, padding)))
        }
    }

    /// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
    struct BasicResBlock: Sendable {
        let first: ConvBN
        let second: ConvBN
        let shortcut: ConvBN?

        init(_ loader: ParameterLoader, input: Int, planes: Int, stride: Int) {
            first = ConvBN(loader, conv: "conv1", bn: "bn1", input: input, output: planes, kernel: 3, stride: stride)
            second = ConvBN(loader, conv: "conv2", bn: "bn2", input: planes, output: planes, kernel: 3, stride: 1)
            shortcut = stride != 1 || input != planes
                ? ConvBN(loader.scoped("shortcut"), conv: "0", bn: "1", input: input, output: planes, kernel: 1, stride: stride)
                : nil
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            let main = try second(first(x).relu())
            return try main.adding(shortcut?(x) ?? x).relu()
        }
    }

    let stem: ConvBN
    let blocks: [BasicResBlock]
    let last: ConvBN

    init(_ loader: ParameterLoader, channels m: Int) {
        stem = ConvBN(loader, conv: "conv1", bn: "bn1", input: 1, output: m, kernel: 3, stride: 1)
        var blocks: [BasicResBlock] = []
        for layer in ["layer1", "layer2"] {
            for (i, stride) in [2, 1].enumerated() {
                blocks.append(BasicResBlock(loader.scoped(layer).scoped("\(i)"), input: m, planes: m, stride: stride))
            }
        }
        self.blocks = blocks
        last = ConvBN(loader, conv: "conv2", bn: "bn2", input: m, output: m, kernel: 3, stride: 2)
    }

    func callAsFunction(_ features: Tensor) throws -> Tensor {
        var x = try stem(features.unsqueezed(1)).relu()
        for block in blocks { x = try block(x) }
        x = try last(x).relu()
        return try x.contiguous().reshaped([x.shape[0], x.shape[1] * x.shape[2], x.shape[3]])
    }
}
