import IndexTTSTensor

/// `torch.nn.Linear` (weight `[out, in]`) or Hugging Face GPT-2 `Conv1D` (weight `[in, out]`):
/// `[…, in] → […, out]`. Weights are fp32 as loaded, fp16 after ``halfPrecision()`` for memory-bound decoding, or
/// bfloat16 after ``bfloat16()`` for compute-bound products (see ``ComputePrecision``).
public struct Linear: Sendable {
    /// How the weights are held.
    public enum Weights: Sendable {
        case float32(Tensor, Tensor.WeightLayout)
        case float16(HalfMatrix)
        /// `[out, in]` bfloat16, multiplied in bfloat16 with fp32 accumulation.
        case bfloat16(BFloat16Matrix)
    }

    public let weights: Weights
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?, layout: Tensor.WeightLayout = .outIn) {
        weights = .float32(weight, layout)
        self.bias = bias
    }

    /// A layer over weights already in their final form (e.g. an fp16 matrix shared with an embedding table).
    public init(weights: Weights, bias: Tensor?) {
        self.weights = weights
        self.bias = bias
    }

    /// Loads `weight` (and `bias` when `bias` is true) from `loader`.
    public init(_ loader: ParameterLoader, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                layout: Tensor.WeightLayout = .outIn) {
        let shape = layout == .outIn ? [outFeatures, inFeatures] : [inFeatures, outFeatures]
        self.init(weight: loader.tensor("weight", shape: shape),
                  bias: bias ? loader.tensor("bias", shape: [outFeatures]) : nil, layout: layout)
    }

    /// The same layer with fp16 weights (bias stays fp32).
    public func halfPrecision() throws -> Linear {
        switch weights {
        case .float16: return self
        case .bfloat16(let matrix): return Linear(weights: .float16(try HalfMatrix(matrix.float32())), bias: bias)
        case .float32(let weight, let layout): return Linear(weights: .float16(try HalfMatrix(weight, layout: layout)), bias: bias)
        }
    }

    /// The same layer with bfloat16 weights (bias stays fp32); its products run in bfloat16 (``ComputePrecision``).
    /// fp16 layers (memory-bound decoding weights) stay as they are.
    public func bfloat16() throws -> Linear {
        switch weights {
        case .bfloat16, .float16: return self
        case .float32(let weight, let layout):
            let outIn = layout == .outIn ? weight : try weight.transposed(0, 1)
            return Linear(weights: .bfloat16(try BFloat16Matrix(outIn, packedAsTransposedRightOperand: true)), bias: bias)
        }
    }

    /// This layer in `precision`: itself for fp32, ``bfloat16()`` for bfloat16.
    public func converted(to precision: ComputePrecision) throws -> Linear {
        precision == .bfloat16 ? try bfloat16() : self
    }

    /// Bytes the weights occupy.
    public var weightByteCount: Int {
        switch weights {
        case .float32(let weight, _): return weight.count * 4
        case .float16(let matrix): return matrix.byteCount
        case .bfloat16(let matrix): return matrix.byteCount
        }
    }

    /// The layer on activations already rounded to bfloat16 (``BFloat16Rows``): with bfloat16 weights the product
    /// reads them as they are; other weights get them widened back to fp32.
    public func callAsFunction(_ x: BFloat16Rows) throws -> Tensor {
        if case .bfloat16(let matrix) = weights { return try Tensor.linear(bfloat16Rows: x, weight: matrix, bias: bias) }
        return try self(x.float32())
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        switch weights {
        case .float32(let weight, let layout): return try x.linear(weight: weight, bias: bias, layout: layout)
        case .float16(let matrix): return try matrix.multiply(x, bias: bias)
        case .bfloat16(let matrix): return try x.linear(bfloat16: matrix, bias: bias)
        }
    }

    /// `residual + self(x)` (`residual` has the output's shape): fp32 weights accumulate the product onto a copy of
    /// the residual where it runs as one OpenBLAS SGEMM
    /// (``IndexTTSTensor/Tensor/linear(weight:bias:layout:adding:)``); other weights multiply, then add.
    public func callAsFunction(_ x: Tensor, adding residual: Tensor) throws -> Tensor {
        if case .float32(let weight, let layout) = weights {
            return try x.linear(weight: weight, bias: bias, layout: layout, adding: residual)
        }
        return try self(x).adding(residual)
    }

    /// `residual + self(x)` on rows already rounded to bfloat16.
    public func callAsFunction(_ x: BFloat16Rows, adding residual: Tensor) throws -> Tensor {
        if case .bfloat16 = weights { return try self(x).adding(residual) }
        return try self(x.float32(), adding: residual)
    }
}

/// `torch.nn.Embedding`: ids → rows of `[vocabulary, dim]`.
public struct Embedding: Sendable {
    public let table: Tensor

    public init(_ loader: ParameterLoader, count: Int, dimensions: Int) {
        table = loader.tensor("weight", shape: [count, dimensions])
    }

    /// `[ids.count, dim]`.
    public func callAsFunction(_ ids: [Int]) throws -> Tensor { try Tensor.embedding(table, ids: ids) }
}
