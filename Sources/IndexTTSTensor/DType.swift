/// Element types found in checkpoint files. Compute is fp32; other floating types are widened on load.
public enum DType: String, Sendable, Codable, CaseIterable {
    case float64 = "F64", float32 = "F32", float16 = "F16", bfloat16 = "BF16"
    case int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8", uint8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// True for the types that hold real numbers.
    public var isFloatingPoint: Bool { [.float64, .float32, .float16, .bfloat16].contains(self) }
}

/// Widening conversions from stored element types to fp32 (SIMD8 where it matters: F16C, integer widening).
public enum DTypeConversion {
    /// Converts `count` little-endian elements of `dtype` at `source` (any alignment) into `destination`.
    public static func toFloat32(_ source: UnsafeRawPointer, dtype: DType, count: Int,
                                 into destination: UnsafeMutablePointer<Float>) {
        Parallel.forEachChunk(count: count, minimumChunk: 1 << 18) { range in
            convert(source, dtype: dtype, range: range, into: destination)
        }
    }

    private static func convert(_ source: UnsafeRawPointer, dtype: DType, range: Range<Int>,
                                into destination: UnsafeMutablePointer<Float>) {
        var i = range.lowerBound
        let end = range.upperBound
        switch dtype {
        case .float32:
            UnsafeMutableRawPointer(destination + i).copyMemory(from: source + i * 4, byteCount: (end - i) * 4)
        case .float16:
            #if arch(x86_64) || arch(arm64)
            while i + 8 <= end {
                let h = source.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)
                UnsafeMutableRawPointer(destination + i).storeBytes(of: SIMD8<Float>(h), as: SIMD8<Float>.self)
                i += 8
            }
            while i < end {
                destination[i] = Float(source.loadUnaligned(fromByteOffset: i * 2, as: Float16.self))
                i += 1
            }
            #else
            while i < end {
                destination[i] = halfToFloat(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                i += 1
            }
            #endif
        case .bfloat16:
            while i + 8 <= end {
                let b = source.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<UInt16>.self)
                let wide = SIMD8<UInt32>(truncatingIfNeeded: b) &<< 16
                UnsafeMutableRawPointer(destination + i).storeBytes(of: wide, as: SIMD8<UInt32>.self)
                i += 8
            }
            while i < end {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16
                destination[i] = Float(bitPattern: bits)
                i += 1
            }
        case .float64:
            for j in i..<end { destination[j] = Float(source.loadUnaligned(fromByteOffset: j * 8, as: Double.self)) }
        case .int64:
            for j in i..<end { destination[j] = Float(source.loadUnaligned(fromByteOffset: j * 8, as: Int64.self)) }
        case .int32:
            for j in i..<end { destination[j] = Float(source.loadUnaligned(fromByteOffset: j * 4, as: Int32.self)) }
        case .int16:
            for j in i..<end { destination[j] = Float(source.loadUnaligned(fromByteOffset: j * 2, as: Int16.self)) }
        case .int8:
            while i + 8 <= end {
                let v = source.loadUnaligned(fromByteOffset: i, as: SIMD8<Int8>.self)
                UnsafeMutableRawPointer(destination + i).storeBytes(of: SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: v)),
                                                                     as: SIMD8<Float>.self)
                i += 8
            }
            while i < end { destination[i] = Float(source.load(fromByteOffset: i, as: Int8.self)); i += 1 }
        case .uint8, .bool:
            for j in i..<end { destination[j] = Float(source.load(fromByteOffset: j, as: UInt8.self)) }
        }
    }

    /// IEEE half → single, for platforms without a native `Float16`.
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        var exponent = Int((h >> 10) & 0x1f)
        var mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            while mantissa & 0x400 == 0 { mantissa <<= 1; exponent -= 1 }
            exponent += 1
            mantissa &= 0x3ff
        } else if exponent == 31 {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    }
}
