import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding applied to the first ``dimensions`` features of `[…, sequence, headDim]`.
public struct RotaryEmbedding: Sendable, Codable {
    /// How feature pairs are formed.
    public enum PairStyle: String, Sendable, Codable {
        /// Feature `i` pairs with `i + d/2` (`rotate_half`, GPT-NeoX / Llama / Qwen).
        case halves
        /// Feature `2i` pairs with `2i + 1` (GPT-J, gpt-fast style `apply_rotary_emb`).
        case interleaved
    }

    public var dimensions: Int
    public var base: Float
    public var style: PairStyle

    public init(dimensions: Int, base: Float = 10_000, style: PairStyle = .halves) {
        self.dimensions = dimensions
        self.base = base
        self.style = style
    }

    /// Angle θ(p, i) = p·base^(−2i/dimensions), computed in fp32 as PyTorch does.
    func angles(positions: [Int]) -> [Float] {
        let half = dimensions / 2
        var inverse = [Float](repeating: 0, count: half)
        for i in 0..<half { inverse[i] = 1 / powf(base, Float(2 * i) / Float(dimensions)) }
        var result = [Float](repeating: 0, count: positions.count * half)
        for (row, p) in positions.enumerated() {
            for i in 0..<half { result[row * half + i] = Float(p) * inverse[i] }
        }
        return result
    }

    /// Rotates `x` `[…, sequence, headDim]`; `positions` gives each sequence index's absolute position. `x` may be
    /// a strided view (e.g. heads split out of a fused projection) as long as its last axis has unit stride; the
    /// result is dense.
    public func apply(_ x: Tensor, positions: [Int]) throws -> Tensor {
        guard x.rank >= 2, x.shape[x.rank - 2] == positions.count, dimensions % 2 == 0,
              dimensions <= x.shape[x.rank - 1], dimensions > 0 else {
            throw TensorError.shapeMismatch(
                operation: "rotary", message: "input \(x.shape), \(positions.count) positions, rotary dimensions \(dimensions)")
        }
        let table = self.table(positions: positions)
        let half = dimensions / 2
        let seq = positions.count, headDim = x.shape[x.rank - 1]
        let source = x.strides[x.rank - 1] == 1 ? x : x.contiguous()
        let rows = source.count / max(headDim, 1)
        let style = self.style, rotated = dimensions
        return withExtendedLifetime((source, table)) {
            Tensor.make(x.shape) { out in
                let base = UnsafePointer(source.basePointer), dst = out.baseAddress!
                let cosines = table.cosines.baseAddress!, sines = table.sines.baseAddress!
                let rowShape = Array(source.shape.dropLast()) + [headDim]
                Parallel.forEachChunk(count: rows, minimumChunk: 512) { range in
                    RowWalker.walk(shape: rowShape, strides: [source.strides], rows: range) { r, offsets in
                        let t = r % seq
                        let s = base + offsets[0], d = dst + r * headDim
                        let c = cosines + t * half, n = sines + t * half
                        if style == .halves {
                            for i in 0..<half {
                                let x0 = s[i], x1 = s[i + half]
                                d[i] = x0 * c[i] - x1 * n[i]
                                d[i + half] = x1 * c[i] + x0 * n[i]
                            }
                        } else {
                            // 8 pairs at a time: even and odd lanes of 16 values (the same products and sums as the
                            // scalar loop below, which takes the rest).
                            var i = 0
                            while i + 8 <= half {
                                let v = UnsafeRawPointer(s + 2 * i).loadUnaligned(as: SIMD16<Float>.self)
                                let cv = UnsafeRawPointer(c + i).loadUnaligned(as: SIMD8<Float>.self)
                                let nv = UnsafeRawPointer(n + i).loadUnaligned(as: SIMD8<Float>.self)
                                let (x0, x1) = (v.evenHalf, v.oddHalf)
                                var r = SIMD16<Float>()
                                r.evenHalf = x0 * cv - x1 * nv
                                r.oddHalf = x1 * cv + x0 * nv
                                UnsafeMutableRawPointer(d + 2 * i).storeBytes(of: r, as: SIMD16<Float>.self)
                                i += 8
                            }
                            for i in i..<half {
                                let x0 = s[2 * i], x1 = s[2 * i + 1]
                                d[2 * i] = x0 * c[i] - x1 * n[i]
                                d[2 * i + 1] = x1 * c[i] + x0 * n[i]
                            }
                        }
                        if rotated < headDim { (d + rotated).update(from: s + rotated, count: headDim - rotated) }
                    }
                }
            }
        }
    }

    /// cos θ and sin θ per position (`[positions, dimensions/2]`). Tables for runs of at least 64 consecutive
    /// positions are kept (a few, most recent first): a transformer applies the same ones in every layer and step.
    func table(positions: [Int]) -> RotaryTable {
        let consecutive = positions.count >= 64 && positions.last! - positions.first! == positions.count - 1
            && zip(positions, positions.dropFirst()).allSatisfy { $1 == $0 + 1 }
        let key = RotaryTable.Key(dimensions: dimensions, baseBits: base.bitPattern, first: positions.first ?? 0,
                                  count: positions.count)
        if consecutive, let cached = RotaryTable.cache.lookup(key) { return cached }
        let theta = angles(positions: positions)
        let table = RotaryTable(cosines: theta.map { cosf($0) }, sines: theta.map { sinf($0) })
        if consecutive { RotaryTable.cache.insert(table, for: key) }
        return table
    }
}

/// Rotation factors for a set of positions (``RotaryEmbedding/table(positions:)``); immutable once made.
final class RotaryTable: @unchecked Sendable {
    struct Key: Hashable {
        let dimensions: Int
        let baseBits: UInt32
        let first: Int
        let count: Int
    }

    let cosines: UnsafeMutableBufferPointer<Float>
    let sines: UnsafeMutableBufferPointer<Float>

    init(cosines: [Float], sines: [Float]) {
        self.cosines = .allocate(capacity: max(cosines.count, 1))
        self.sines = .allocate(capacity: max(sines.count, 1))
        _ = self.cosines.initialize(from: cosines)
        _ = self.sines.initialize(from: sines)
    }

    deinit {
        cosines.deallocate()
        sines.deallocate()
    }

    /// The few most recently used tables.
    final class Cache: Sendable {
        private let entries = Mutex<[(Key, RotaryTable)]>([])
        static let capacity = 8

        func lookup(_ key: Key) -> RotaryTable? {
            entries.withLock { entries in
                guard let index = entries.firstIndex(where: { $0.0 == key }) else { return nil }
                let entry = entries.remove(at: index)
                entries.insert(entry, at: 0)
                return entry.1
            }
        }

        func insert(_ table: RotaryTable, for key: Key) {
            entries.withLock { entries in
                entries.removeAll { $0.0 == key }
                entries.insert((key, table), at: 0)
                if entries.count > Self.capacity { entries.removeLast() }
            }
        }
    }

    static let cache = Cache()
}
