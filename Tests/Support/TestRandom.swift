import IndexTTSTensor

/// Deterministic pseudo-random test data shared by the test targets: xorshift64 seeded with `seed·⌊2⁶⁴/φ⌋ | 1`,
/// each value `Int64(bitPattern: state) % modulus` (so within ±(modulus − 1)).
public enum TestRandom {
    public static func integers(_ count: Int, seed: UInt64, modulus: Int64) -> [Int64] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int64(bitPattern: state) % modulus
        }
    }

    /// `integers(…) / divisor` as a tensor: the default gives values in [−2, 2] in steps of 1e-4.
    public static func tensor(_ shape: [Int], seed: UInt64, modulus: Int64 = 20001, divisor: Float = 10_000) -> Tensor {
        let values = integers(shape.reduce(1, *), seed: seed, modulus: modulus).map { Float($0) / divisor }
        return try! Tensor(shape: shape, scalars: values)
    }
}
