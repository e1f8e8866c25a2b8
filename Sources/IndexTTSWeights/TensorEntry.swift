import IndexTTSTensor

/// Element count of `shape` when it and its byte size fit in `Int`, nil for negative extents or overflow.
func checkedElementCount(_ shape: [Int], byteSize: Int) -> Int? {
    var count = 1
    for extent in shape {
        guard extent >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: extent)
        if overflow { return nil }
        count = product
    }
    let (_, overflow) = count.multipliedReportingOverflow(by: max(byteSize, 1))
    return overflow ? nil : count
}

/// Affine quantisation parameters (TFLite): real = scale·(q − zeroPoint), per tensor or per slice of `axis`.
public struct Quantization: Sendable, Equatable, Codable {
    public var scales: [Float]
    public var zeroPoints: [Int64]
    /// Axis the per-channel parameters run along (ignored when there is one scale).
    public var axis: Int

    public init(scales: [Float], zeroPoints: [Int64], axis: Int) {
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.axis = axis
    }
}

/// One tensor in a checkpoint file: its name, stored type and shape, and where its elements are.
/// Loading converts to fp32 (widening, dequantising and gathering strided views as needed).
public struct TensorEntry: Sendable {
    /// The checkpoint key, verbatim (nested containers joined with ".").
    public let name: String
    /// Stored element type.
    public let dtype: DType
    /// Logical shape.
    public let shape: [Int]
    /// Element strides into the storage (row-major for safetensors and TFLite).
    public let strides: [Int]
    /// Quantisation parameters, when the stored integers stand for reals.
    public let quantization: Quantization?
    let file: MappedFile
    /// Byte offset of storage element 0 in the file.
    let storageByteOffset: Int
    /// Element offset of index `[0, 0, …]` within the storage.
    let elementOffset: Int
    /// Number of elements the storage holds (for bounds checks).
    let storageElementCount: Int

    public init(name: String, dtype: DType, shape: [Int], strides: [Int]? = nil, quantization: Quantization? = nil,
                file: MappedFile, storageByteOffset: Int, elementOffset: Int = 0, storageElementCount: Int) throws {
        self.init(unchecked: name, dtype: dtype, shape: shape, strides: strides ?? Tensor.contiguousStrides(for: shape),
                  quantization: quantization, file: file, storageByteOffset: storageByteOffset,
                  elementOffset: elementOffset, storageElementCount: storageElementCount)
        try validate()
    }

    private init(unchecked name: String, dtype: DType, shape: [Int], strides: [Int], quantization: Quantization?,
                 file: MappedFile, storageByteOffset: Int, elementOffset: Int, storageElementCount: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.quantization = quantization
        self.file = file
        self.storageByteOffset = storageByteOffset
        self.elementOffset = elementOffset
        self.storageElementCount = storageElementCount
    }

    /// The same data under another key.
    public func renamed(_ newName: String) -> TensorEntry {
        TensorEntry(unchecked: newName, dtype: dtype, shape: shape, strides: strides, quantization: quantization,
                    file: file, storageByteOffset: storageByteOffset, elementOffset: elementOffset,
                    storageElementCount: storageElementCount)
    }

    private func validate() throws {
        guard checkedElementCount(shape, byteSize: dtype.byteSize) != nil, strides.count == shape.count,
              strides.allSatisfy({ $0 >= 0 }), storageElementCount >= 0,
              checkedElementCount([storageElementCount], byteSize: dtype.byteSize) != nil else {
            throw WeightsError.corrupt(
                path: file.path, reason: "tensor '\(name)' has shape \(shape), strides \(strides), storage \(storageElementCount)")
        }
        // The furthest element reachable through the view must lie inside the storage (overflow counts as outside).
        if elementCount > 0 {
            var last = elementOffset
            var overflow = elementOffset < 0
            for (extent, stride) in zip(shape, strides) where !overflow {
                let (step, o1) = (extent - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                overflow = o1 || o2
                last = sum
            }
            guard !overflow, last < storageElementCount else {
                throw WeightsError.corrupt(
                    path: file.path,
                    reason: "tensor '\(name)' (shape \(shape), offset \(elementOffset)) reaches beyond its storage of \(storageElementCount) elements")
            }
            // A view that repeats its storage (stride 0) widens on load: bound it, or a few bytes of pickle could ask
            // for a 10⁹-element tensor.
            guard elementCount / TensorEntry.maximumBroadcast <= storageElementCount else {
                throw WeightsError.corrupt(
                    path: file.path,
                    reason: "tensor '\(name)' (shape \(shape), strides \(strides)) repeats its storage of \(storageElementCount) elements more than \(TensorEntry.maximumBroadcast) times")
            }
        }
        _ = try file.pointer(at: storageByteOffset, count: storageElementCount * dtype.byteSize)
    }

    /// Number of elements.
    public var elementCount: Int { Tensor.elementCount(shape) }

    /// How many times a view may repeat its storage (stride-0 axes, as `expand` leaves them).
    public static let maximumBroadcast = 16

    /// Bytes the tensor occupies in the file.
    public var storedByteCount: Int { elementCount * dtype.byteSize }

    var isDense: Bool {
        Tensor(shape: shape, strides: strides, offset: 0, storage: TensorStorage(count: 0)).isContiguous
    }

    /// The tensor as fp32. Dense little-endian fp32 data aligned to 4 bytes is borrowed from the mapping;
    /// everything else is converted into a new buffer.
    public func load() throws -> Tensor {
        let n = elementCount
        if n == 0 { return Tensor.zeros(shape) }
        let base = try file.pointer(at: storageByteOffset, count: storageElementCount * dtype.byteSize)
        if dtype == .float32 && quantization == nil && isDense {
            let start = base + elementOffset * 4
            if Int(bitPattern: start) % 4 == 0 {
                let pointer = UnsafeMutableRawPointer(mutating: start).assumingMemoryBound(to: Float.self)
                return Tensor(shape: shape, storage: TensorStorage(borrowing: pointer, count: n, owner: file))
            }
        }
        let dense: Tensor
        if isDense {
            dense = Tensor.make(shape) { out in
                DTypeConversion.toFloat32(base + elementOffset * dtype.byteSize, dtype: dtype, count: n, into: out.baseAddress!)
            }
        } else {
            // Widen the storage span the view reaches, then let the tensor core gather the view.
            let span = zip(shape, strides).reduce(1) { $0 + ($1.0 - 1) * $1.1 }
            let widened = TensorStorage(count: span)
            DTypeConversion.toFloat32(base + elementOffset * dtype.byteSize, dtype: dtype, count: span, into: widened.pointer)
            dense = Tensor(shape: shape, strides: strides, offset: 0, storage: widened).contiguous()
        }
        guard let quantization else { return dense }
        return try Self.dequantize(dense, quantization, name: name, path: file.path)
    }

    /// Integer contents (for I64/I32/… tensors such as position ids or `num_batches_tracked`).
    public func loadIntegers() throws -> [Int64] {
        guard !dtype.isFloatingPoint else {
            throw WeightsError.unsupported(path: file.path, reason: "tensor '\(name)' is \(dtype.rawValue), not an integer type")
        }
        return try load().scalars.map { Int64($0) }
    }

    static func dequantize(_ q: Tensor, _ quantization: Quantization, name: String, path: String) throws -> Tensor {
        let scales = quantization.scales, zeros = quantization.zeroPoints
        guard !scales.isEmpty, zeros.isEmpty || zeros.count == scales.count else {
            throw WeightsError.corrupt(path: path, reason: "tensor '\(name)': \(scales.count) scales, \(zeros.count) zero points")
        }
        if scales.count == 1 {
            let s = scales[0], z = Float(zeros.first ?? 0)
            return q.affine(scale: s, shift: -s * z)
        }
        let axis = quantization.axis
        guard axis >= 0, axis < q.rank, q.shape[axis] == scales.count else {
            throw WeightsError.corrupt(
                path: path, reason: "tensor '\(name)' \(q.shape): \(scales.count) scales along axis \(axis)")
        }
        let inner = q.shape[(axis + 1)...].reduce(1, *)
        let channels = q.shape[axis]
        return Tensor.make(q.shape) { out in
            let src = q.basePointer
            for i in 0..<q.count {
                let c = (i / inner) % channels
                out[i] = scales[c] * (src[i] - Float(zeros.isEmpty ? 0 : zeros[c]))
            }
        }
    }
}
