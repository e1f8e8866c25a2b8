/// Uniform draws in [0, 1) for token sampling. Sampling consumes exactly one draw per token picked (inverse CDF),
/// so a recorded stream replays a decoding step by step.
public protocol UniformRandomSource {
    mutating func nextUniform() -> Double
}

/// Reproducible draws: xoshiro256** seeded through SplitMix64, 53-bit doubles.
public struct SeededRandomSource: UniformRandomSource, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func nextUniform() -> Double {
        func rotl(_ v: UInt64, _ k: UInt64) -> UInt64 { (v << k) | (v >> (64 - k)) }
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return Double(result >> 11) * 0x1p-53
    }
}

/// Replays recorded draws (tests compare decoding with the reference step by step); past the end it keeps
/// returning 0.5 and counts the overrun.
public struct ReplayedRandomSource: UniformRandomSource, Sendable {
    public let draws: [Double]
    public private(set) var consumed = 0

    public init(_ draws: [Double]) { self.draws = draws }

    public mutating func nextUniform() -> Double {
        defer { consumed += 1 }
        return consumed < draws.count ? draws[consumed] : 0.5
    }
}
