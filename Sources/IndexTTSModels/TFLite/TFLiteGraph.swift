import IndexTTSNN
import IndexTTSTensor
import IndexTTSWeights

/// Binds the weights of a converted TFLite model to our modules through the operator graph rather than through
/// constant names: the converter de-duplicates identical buffers under one arbitrary name (a bias can carry another
/// layer's name), while operator *outputs* keep their layer scope (`encoder/layer_._0/intermediate/conv1d_1/…`).
/// A layer is found by the scope of the op that produces its output, and its weights are that op's constant inputs.
/// Loading records which constants were used; ``unusedWeights()`` lists the float and quantised constants no module
/// took, so a graph that differs from what the port expects is caught at load.
final class TFLiteGraph {
    let store: WeightStore
    let subgraph: TFLiteModel.Subgraph
    let source: String
    private var consumersByTensor: [Int: [Int]] = [:]
    private(set) var used = Set<Int>()

    init(store: WeightStore) throws {
        guard let model = store.tfliteModel, let main = model.subgraphs.first else {
            throw ModelError.invalidInput(component: "TFLiteGraph", reason: "\(store.source) is not a TFLite model")
        }
        self.store = store
        subgraph = main
        source = store.source
        for (index, op) in main.operators.enumerated() {
            for input in op.inputs where input >= 0 { consumersByTensor[input, default: []].append(index) }
        }
    }

    func tensorName(_ index: Int) -> String { subgraph.tensors[index].name }

    func isConstant(_ index: Int) -> Bool { index >= 0 && entryKey(index) != nil }

    private func entryKey(_ index: Int) -> String? {
        let name = subgraph.tensors[index].name
        if store.contains(name + "#\(index)") { return name + "#\(index)" }
        return store.contains(name) ? name : nil
    }

    /// The constant tensor `index`, dequantised to fp32.
    func constant(_ index: Int) throws -> Tensor {
        guard let key = entryKey(index) else {
            throw ModelError.invalidInput(component: "TFLiteGraph", reason: "\(source): tensor '\(tensorName(index))' is not a constant")
        }
        used.insert(index)
        return try store.tensor(key)
    }

    /// The per-tensor scale of an int8 constant (nil for float constants or per-channel quantisation).
    func quantizationScale(_ index: Int) -> Float? {
        guard let q = subgraph.tensors[index].quantization, q.scales.count == 1, q.zeroPoints.allSatisfy({ $0 == 0 }) else {
            return nil
        }
        return q.scales[0]
    }

    /// The first operator of type `type` whose first output name starts with `scope` (at or after `start`).
    func op(_ type: String, scope: String, after start: Int = 0) throws -> (index: Int, op: TFLiteModel.Operator) {
        for index in start..<subgraph.operators.count {
            let op = subgraph.operators[index]
            if op.name == type, let out = op.outputs.first, out >= 0, tensorName(out).hasPrefix(scope) { return (index, op) }
        }
        throw WeightsError.missingTensor(key: "\(type) in scope '\(scope)'", source: source)
    }

    /// Operators that read tensor `index`.
    func consumers(of index: Int) -> [(index: Int, op: TFLiteModel.Operator)] {
        (consumersByTensor[index] ?? []).map { ($0, subgraph.operators[$0]) }
    }

    /// Follows `tensor` through shape-only ops (SQUEEZE, RESHAPE) to the ADD that adds a constant, returning that
    /// constant (a bias), or nil when none follows.
    func addedConstant(after tensor: Int) throws -> Tensor? {
        var current = tensor
        for _ in 0..<3 {
            for (_, op) in consumers(of: current) where op.name == "ADD" {
                if let c = op.inputs.first(where: { $0 != current && isConstant($0) }) { return try constant(c) }
            }
            guard let next = consumers(of: current).first(where: { ["SQUEEZE", "RESHAPE"].contains($0.op.name) }) else { break }
            current = next.op.outputs[0]
        }
        return nil
    }

    /// The constant operand of the binary op of `type` whose output is named exactly `output`.
    func constantOperand(_ type: String, output: String) throws -> Tensor {
        guard let op = subgraph.operators.first(where: { $0.name == type && $0.outputs.first.map(tensorName) == output }),
              let c = op.inputs.first(where: isConstant) else {
            throw WeightsError.missingTensor(key: "\(type) → \(output)", source: source)
        }
        return try constant(c)
    }

    /// Float and quantised constants of more than one element that no module used.
    func unusedWeights(ignoring: (String) -> Bool = { _ in false }) -> [String] {
        subgraph.tensors.indices.filter { index in
            let t = subgraph.tensors[index]
            guard !used.contains(index), isConstant(index), t.shape.reduce(1, *) > 1, !ignoring(t.name) else { return false }
            return t.dtype == .float32 || t.dtype == .float16 || t.quantization != nil
        }.map(tensorName)
    }

    // MARK: Layers

    /// A `CONV_2D` implementing a 1-D convolution (input `[1, 1, T, in]`, filter `[out, 1, k, in]`): the filter as
    /// `[out, k·in]` (row layout `[k, in]`, matching time-major im2col) and the bias (the op's own plus the ADD after).
    func convolution(scope: String) throws -> (weight: Tensor, bias: Tensor, kernel: Int, scale: Float?) {
        let (_, op) = try op("CONV_2D", scope: scope)
        let filter = try constant(op.inputs[1])
        let scale = quantizationScale(op.inputs[1])
        guard filter.rank == 4, filter.shape[1] == 1 else {
            throw WeightsError.shapeMismatch(key: "\(scope) filter", expected: [-1, 1, -1, -1], actual: filter.shape)
        }
        let (out, kernel, input) = (filter.shape[0], filter.shape[2], filter.shape[3])
        var bias = op.inputs.count > 2 && isConstant(op.inputs[2]) ? try constant(op.inputs[2]) : Tensor.zeros([out])
        if let added = try addedConstant(after: op.outputs[0]) { bias = try bias.adding(added.reshaped([out])) }
        return (try filter.reshaped([out, kernel * input]), bias, kernel, scale)
    }

    /// A `FULLY_CONNECTED` (`[out, in]` weights, dequantised), the bias ADD that follows it, and the weights' int8
    /// scale when they are quantised.
    func dense(scope: String) throws -> (weight: Tensor, bias: Tensor?, scale: Float?) {
        let (_, op) = try op("FULLY_CONNECTED", scope: scope)
        let weight = try constant(op.inputs[1])
        let bias = try addedConstant(after: op.outputs[0])
        return (weight, try bias.map { try $0.reshaped([weight.shape[0]]) }, quantizationScale(op.inputs[1]))
    }

    /// A LayerNorm as TF lowers it (`…/batchnorm/mul` with γ, `…/batchnorm/sub` with β).
    func layerNorm(scope: String, eps: Float = 1e-5) throws -> (gamma: Tensor, beta: Tensor, eps: Float) {
        (try constantOperand("MUL", output: scope + "/batchnorm/mul"), try constantOperand("SUB", output: scope + "/batchnorm/sub"), eps)
    }
}
