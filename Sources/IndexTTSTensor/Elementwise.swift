/// Element-wise kernels: SIMD8 loops over dense data, split across cores for large tensors.
enum Elementwise {
    typealias V = SIMD8<Float>
    /// Below this many elements a single thread is faster than waking the pool.
    static let parallelThreshold = 16_384

    /// Applies `op` lane-wise to dense `count` floats from `src` into `dst` (which may alias `src`).
    @inline(__always)
    static func mapDense(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, _ op: (V) -> V) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: op(v), as: V.self)
            i += 8
        }
        if i < count {
            var v = V(repeating: 0)
            for l in 0..<(count - i) { v[l] = src[i + l] }
            let r = op(v)
            for l in 0..<(count - i) { dst[i + l] = r[l] }
        }
    }

    /// Dense result of `op` applied to every element of `x`.
    static func map(_ x: Tensor, _ op: (V) -> V) -> Tensor {
        let dense = x.contiguous()
        let n = dense.count
        return withExtendedLifetime(dense) {
            Tensor.make(dense.shape) { out in
                let src = UnsafePointer(dense.basePointer)
                let dst = out.baseAddress!
                Parallel.forEachChunk(count: (n + 7) / 8, minimumChunk: parallelThreshold / 8) { blocks in
                    let start = blocks.lowerBound * 8
                    let end = min(n, blocks.upperBound * 8)
                    mapDense(src + start, dst + start, count: end - start, op)
                }
            }
        }
    }

    /// Numpy-style broadcast of two shapes.
    static func broadcastShape(_ a: [Int], _ b: [Int], operation: String) throws -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw TensorError.shapeMismatch(operation: operation, message: "cannot broadcast \(a) with \(b)")
            }
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Dense result of `op` on `a` and `b` broadcast against each other.
    static func zip(_ a: Tensor, _ b: Tensor, operation: String, _ op: (V, V) -> V) throws -> Tensor {
        let shape = try broadcastShape(a.shape, b.shape, operation: operation)
        if a.shape == shape && b.shape == shape && a.isContiguous && b.isContiguous {
            let n = a.count
            return Tensor.make(shape) { out in
                let pa = UnsafePointer(a.basePointer), pb = UnsafePointer(b.basePointer), dst = out.baseAddress!
                Parallel.forEachChunk(count: (n + 7) / 8, minimumChunk: parallelThreshold / 8) { blocks in
                    let start = blocks.lowerBound * 8
                    let end = min(n, blocks.upperBound * 8)
                    zipDense(pa + start, 1, pb + start, 1, dst + start, count: end - start, op)
                }
            }
        }
        let ea = try a.expanded(to: shape), eb = try b.expanded(to: shape)
        let rank = shape.count
        if rank == 0 {
            return Tensor(scalar: op(V(repeating: ea.basePointer[0]), V(repeating: eb.basePointer[0]))[0])
        }
        let inner = shape[rank - 1]
        let rows = Tensor.elementCount(shape) / max(inner, 1)
        return Tensor.make(shape) { out in
            let dst = out.baseAddress!
            Parallel.forEachChunk(count: rows, minimumChunk: max(1, parallelThreshold / max(inner, 1))) { range in
                RowWalker.walk(shape: shape, strides: [ea.strides, eb.strides], rows: range) { row, offsets in
                    zipDense(UnsafePointer(ea.basePointer + offsets[0]), ea.strides[rank - 1],
                             UnsafePointer(eb.basePointer + offsets[1]), eb.strides[rank - 1],
                             dst + row * inner, count: inner, op)
                }
            }
        }
    }

    /// Inner loop of ``zip(_:_:operation:_:)``: each operand is dense (stride 1), broadcast (stride 0) or strided.
    @inline(__always)
    static func zipDense(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                         _ dst: UnsafeMutablePointer<Float>, count: Int, _ op: (V, V) -> V) {
        var i = 0
        if (sa == 1 || sa == 0) && (sb == 1 || sb == 0) {
            let splatA = V(repeating: a[0]), splatB = V(repeating: b[0])
            while i + 8 <= count {
                let va = sa == 1 ? UnsafeRawPointer(a + i).loadUnaligned(as: V.self) : splatA
                let vb = sb == 1 ? UnsafeRawPointer(b + i).loadUnaligned(as: V.self) : splatB
                UnsafeMutableRawPointer(dst + i).storeBytes(of: op(va, vb), as: V.self)
                i += 8
            }
        }
        while i < count {
            var va = V(repeating: 0), vb = V(repeating: 0)
            let lanes = min(8, count - i)
            for l in 0..<lanes {
                va[l] = a[(i + l) * sa]
                vb[l] = b[(i + l) * sb]
            }
            let r = op(va, vb)
            for l in 0..<lanes { dst[i + l] = r[l] }
            i += lanes
        }
    }
}

// MARK: - Public arithmetic

extension Tensor {
    /// `self + other` with broadcasting.
    public func adding(_ other: Tensor) throws -> Tensor { try Elementwise.zip(self, other, operation: "add") { $0 + $1 } }
    /// `self - other` with broadcasting.
    public func subtracting(_ other: Tensor) throws -> Tensor { try Elementwise.zip(self, other, operation: "sub") { $0 - $1 } }
    /// `self * other` with broadcasting.
    public func multiplying(_ other: Tensor) throws -> Tensor { try Elementwise.zip(self, other, operation: "mul") { $0 * $1 } }
    /// `self / other` with broadcasting.
    public func dividing(_ other: Tensor) throws -> Tensor { try Elementwise.zip(self, other, operation: "div") { $0 / $1 } }
    /// `self * scale + shift`, element-wise.
    public func affine(scale: Float, shift: Float = 0) -> Tensor { Elementwise.map(self) { $0 * scale + shift } }
    /// e^x, element-wise.
    public func exp() -> Tensor { Elementwise.map(self) { VectorMath.exp($0) } }
    /// `self / divisor`, element-wise (a true division, as PyTorch's `x / n`, not a multiplication by 1/n).
    public func divided(by divisor: Float) -> Tensor { Elementwise.map(self) { $0 / divisor } }
    /// `torch.clamp(self, lower, upper)`: NaN stays NaN.
    public func clamped(min lower: Float, max upper: Float) -> Tensor {
        Elementwise.map(self) { v in
            v.replacing(with: lower, where: v .< lower).replacing(with: upper, where: v .> upper)
        }
    }
}
