/// SIMD8 transcendental functions for the element-wise kernels.
///
/// Eight lanes match one AVX2 register; SIMD8 conversions compile to single instructions, SIMD16 ones do not
/// (see shared/reference/swift-numerics-notes.md). Accuracy (measured by the parity tests against PyTorch):
/// `exp` and `sigmoid` within 2 ulp, `tanh` within 3e-7 absolute, `erf` a few ulp, `sin` within 1e-7 absolute for
/// |x| < 1e4.
public enum VectorMath {
    public typealias V = SIMD8<Float>

    /// `x` limited to `[lower, upper]` lane by lane, as two compare-and-blend instructions. (The standard library's
    /// `clamped(lowerBound:upperBound:)` and `pointwiseMin`/`pointwiseMax` are generic and compiled to out-of-line
    /// per-lane calls: 12 % of an S2M step in `perf` before this helper.) NaN lanes stay NaN.
    @inline(__always)
    public static func clamp(_ x: V, _ lower: Float, _ upper: Float) -> V {
        x.replacing(with: lower, where: x .< lower).replacing(with: upper, where: x .> upper)
    }

    /// The larger of each lane pair (a NaN in `b` is ignored, one in `a` kept).
    @inline(__always)
    public static func maximum(_ a: V, _ b: V) -> V { a.replacing(with: b, where: a .< b) }

    /// e^x: Cody–Waite range reduction to r ∈ [−ln2/2, ln2/2], degree-6 polynomial, scale by 2^n via the exponent
    /// bits. Returns 0 below −87.3 and +∞ above 88.72.
    @inline(__always)
    public static func exp(_ x: V) -> V {
        let clamped = clamp(x, -87.3, 88.72)
        let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        var r = clamped - n * 0.693_359_375
        r = r - n * -2.121_944_40e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_91e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let bits = (integerValue(n) &+ 127) &<< 23
        var result = p * unsafeBitCast(bits, to: V.self)
        result.replace(with: 0, where: x .< -87.3)
        result.replace(with: .infinity, where: x .> 88.72)
        result.replace(with: x, where: x .!= x)  // propagate NaN
        return result
    }

    /// The integers held by `x` (integral values with |x| < 2²²) as Int32 lanes, via the 1.5·2²³ bias trick:
    /// adding it places the integer in the low mantissa bits. (`SIMD8<Int32>(x)` compiles to a per-lane generic
    /// conversion call, which profiling showed in every activation.)
    @inline(__always)
    static func integerValue(_ x: V) -> SIMD8<Int32> {
        unsafeBitCast(x + 12_582_912, to: SIMD8<Int32>.self) &- 0x4B40_0000
    }

    /// Logistic sigmoid 1 / (1 + e^−x).
    @inline(__always)
    public static func sigmoid(_ x: V) -> V {
        1 / (1 + exp(-x))
    }

    /// Hyperbolic tangent: odd polynomial for |x| < 0.625 (no cancellation near 0), 1 − 2/(e^{2|x|}+1) beyond.
    @inline(__always)
    public static func tanh(_ x: V) -> V {
        let ax = x.replacing(with: -x, where: x .< 0)
        let z = x * x
        var small = V(repeating: -5.704_988_727_45e-3)
        small = small * z + 2.063_908_879_54e-2
        small = small * z - 5.373_971_555_31e-2
        small = small * z + 1.333_144_220_36e-1
        small = small * z - 3.333_328_194_22e-1
        small = small * z * x + x
        let e = exp(2 * ax)
        var large = 1 - 2 / (e + 1)
        large.replace(with: -large, where: x .< 0)
        return small.replacing(with: large, where: ax .>= 0.625)
    }

    /// Error function: odd/even rational approximation on [−4, 4] (erf(±4) rounds to ±1 in fp32).
    @inline(__always)
    public static func erf(_ a: V) -> V {
        let x = clamp(a, -4, 4)
        let x2 = x * x
        var p = x2 * -2.726_142_258_013_06e-10 + 2.770_681_424_959_02e-08
        p = x2 * p + -2.101_024_020_825_08e-06
        p = x2 * p + -5.692_506_394_623_46e-05
        p = x2 * p + -7.349_906_303_268_55e-04
        p = x2 * p + -2.954_599_808_540_25e-03
        p = x2 * p + -1.609_603_332_624_15e-02
        p = x * p
        var q = x2 * -1.456_607_184_649_96e-05 + -2.133_740_552_789_05e-04
        q = x2 * q + -1.682_826_974_382_03e-03
        q = x2 * q + -7.373_329_167_204_68e-03
        q = x2 * q + -1.426_473_905_141_89e-02
        return p / q
    }

    /// Sine: reduction by the nearest multiple of π (three-part π), odd Taylor polynomial to r^11 on [−π/2, π/2].
    @inlinable @inline(__always)
    public static func sin(_ x: V) -> V {
        let k = (x * 0.318_309_886_18).rounded(.toNearestOrEven)
        let p = sinPolynomial(reducedBy: k, x)
        let odd = (unsafeBitCast(k + 12_582_912, to: SIMD8<Int32>.self) & 1) .== 1
        return p.replacing(with: -p, where: odd)
    }

    /// sin²(x), as Snake activations use it: the same reduction and polynomial as ``sin(_:)``, without the sign
    /// (sin²(x − kπ) = sin²(x)); never above 1.
    @inlinable @inline(__always)
    public static func sinSquared(_ x: V) -> V {
        let p = sinPolynomial(reducedBy: (x * 0.318_309_886_18).rounded(.toNearestOrEven), x)
        // Beyond |x| ≈ 1e7 the reduction is no longer exact; keep the result in sin²'s range.
        return (p * p).replacing(with: 1, where: p * p .> 1)
    }

    /// sin(x − kπ) for integral k with |x − kπ| ≤ π/2.
    @inlinable @inline(__always)
    static func sinPolynomial(reducedBy k: V, _ x: V) -> V {
        var r = x - k * 3.140_625
        r = r - k * 9.670_257_568_359_375e-4
        r = r - k * 6.278_329_571_784_341e-7
        let r2 = r * r
        var p = V(repeating: -2.505_210_838_544_172e-8)
        p = p * r2 + 2.755_731_922_398_589e-6
        p = p * r2 - 1.984_126_984_126_984e-4
        p = p * r2 + 8.333_333_333_333_333e-3
        p = p * r2 - 1.666_666_666_666_666_6e-1
        return p * r2 * r + r
    }
}
