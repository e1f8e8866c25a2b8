import Foundation
import IndexTTSNN
import IndexTTSTensor

/// BigVGAN's `Activation1d`: 2× up-sampling, a Snake/SnakeBeta activation at the doubled rate, 2× down-sampling,
/// `[batch, channels, time] → [batch, channels, time]`.
///
/// Upstream (`alias_free_activation/torch`): `UpSample1d` pads the input by `K/2 − 1` samples (replicate), runs a
/// depthwise transposed convolution with stride 2 and the Kaiser-windowed sinc `upsample.filter` (`K` taps), scales by
/// 2 and crops `3K/2 − 3` samples from the left; `DownSample1d` pads by `K′/2 − 1` left and `K′/2` right (replicate)
/// and runs a depthwise stride-2 convolution with `downsample.lowpass.filter`. Both filters are read from the
/// checkpoint (they are registered buffers), so nothing is recomputed.
///
/// This kernel fuses the three steps per channel. The up-sampled signal is produced as its even and odd phases, each a
/// short correlation over contiguous input, so every inner loop is a SIMD loop over time; the activation runs on the
/// phases and the down-sampler reads them back without materialising the interleaved signal.
public struct AntiAliasedActivation: Sendable {
    public enum Kind: String, Sendable, Codable {
        case snake, snakeBeta = "snakebeta"
    }

    /// α per channel (already exponentiated when the checkpoint stores logarithms).
    let alpha: [Float]
    /// 1/(β + 1e-9) per channel (β = α for plain Snake), as upstream divides.
    let inverseBeta: [Float]
    /// `upsample.filter` taps.
    let upFilter: [Float]
    /// `downsample.lowpass.filter` taps.
    let downFilter: [Float]

    public var channels: Int { alpha.count }

    /// Taps of both filters (`Activation1d`'s `up_kernel_size`/`down_kernel_size`, 12 in every BigVGAN v2 model).
    public static let filterTaps = 12

    /// Reads `act.alpha` (and `act.beta`), `upsample.filter` and `downsample.lowpass.filter` from `loader`.
    public init(_ loader: ParameterLoader, channels: Int, kind: Kind, logScale: Bool) {
        let filterTaps = Self.filterTaps
        let act = loader.scoped("act")
        let rawAlpha = act.tensor("alpha", shape: [channels]).scalars
        let rawBeta = kind == .snakeBeta ? act.tensor("beta", shape: [channels]).scalars : rawAlpha
        let scale: (Float) -> Float = { logScale ? expf($0) : $0 }
        alpha = rawAlpha.map(scale)
        inverseBeta = rawBeta.map { 1 / (scale($0) + 1e-9) }
        upFilter = loader.scoped("upsample").tensor("filter", shape: [1, 1, filterTaps]).scalars
        downFilter = loader.scoped("downsample").scoped("lowpass").tensor("filter", shape: [1, 1, filterTaps]).scalars
    }

    /// `x`: `[batch, channels, time]` → same shape.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 3, x.shape[1] == channels, x.shape[2] > 0 else {
            throw ModelError.invalidInput(component: "BigVGAN activation", reason: "input \(x.shape), expected [batch, \(channels), time ≥ 1]")
        }
        let input = x.contiguous()
        let (rows, time) = (x.shape[0] * x.shape[1], x.shape[2])
        return withExtendedLifetime(input) {
            Tensor.make(x.shape) { out in
                let src = UnsafePointer(input.basePointer), dst = out.baseAddress!
                Parallel.forEachChunk(count: rows, minimumChunk: max(1, 32_768 / time)) { range in
                    var scratch = Scratch(time: time, upTaps: upFilter.count)
                    for row in range {
                        process(src + row * time, dst + row * time, time: time, channel: row % channels, scratch: &scratch)
                    }
                }
            }
        }
    }

    /// Per-thread buffers: the replicate-padded input and the two phases of the up-sampled signal.
    struct Scratch {
        var padded: [Float]
        var even: [Float]
        var odd: [Float]
        init(time: Int, upTaps: Int) {
            padded = [Float](repeating: 0, count: time + upTaps + 8)
            even = [Float](repeating: 0, count: time + 8)
            odd = [Float](repeating: 0, count: time + 8)
        }
    }

    private func process(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, time: Int, channel: Int,
                         scratch: inout Scratch) {
        let taps = upFilter.count
        let pad = taps / 2 - 1              // UpSample1d.pad (ratio 2)
        let cropLeft = 3 * taps / 2 - 3     // UpSample1d.pad_left
        let a = alpha[channel], inv = inverseBeta[channel]
        scratch.padded.withUnsafeMutableBufferPointer { padded in
            scratch.even.withUnsafeMutableBufferPointer { even in
                scratch.odd.withUnsafeMutableBufferPointer { odd in
                    let xp = padded.baseAddress!
                    for i in 0..<pad { xp[i] = src[0]; xp[pad + time + i] = src[time - 1] }
                    (xp + pad).update(from: src, count: time)
                    // y[n] = 2·Σ_k f[k]·xp[(n + cropLeft − k)/2] over k of the parity of n + cropLeft; phase p of n:
                    // y[2i + p] = 2·Σ f[k]·xp[i + (p + cropLeft − k)/2].
                    for phase in 0..<2 {
                        let buffer = phase == 0 ? even.baseAddress! : odd.baseAddress!
                        Self.clear(buffer, count: time)
                        var k = (phase + cropLeft) & 1
                        while k < taps {
                            Self.accumulate(buffer, xp + (phase + cropLeft - k) / 2, weight: 2 * upFilter[k], count: time)
                            k += 2
                        }
                        Self.snake(buffer, count: time, alpha: a, inverseBeta: inv)
                    }
                    downsample(even: even.baseAddress!, odd: odd.baseAddress!, time: time, into: dst)
                }
            }
        }
    }

    /// d[t] = Σ_k g[k]·y[clamp(2t + k − padLeft, 0, 2T − 1)], y[2i] = even[i], y[2i + 1] = odd[i].
    private func downsample(even: UnsafePointer<Float>, odd: UnsafePointer<Float>, time: Int, into dst: UnsafeMutablePointer<Float>) {
        let taps = downFilter.count
        let padLeft = taps / 2 - 1
        // Outputs whose taps all fall inside y: 2t − padLeft ≥ 0 and 2t + taps − 1 − padLeft ≤ 2T − 1.
        let first = (padLeft + 1) / 2
        let last = (2 * time - taps + padLeft) >> 1  // floor, may be negative
        func edge(_ t: Int) {
            var sum: Float = 0
            for k in 0..<taps {
                let m = min(max(2 * t + k - padLeft, 0), 2 * time - 1)
                sum += downFilter[k] * (m & 1 == 0 ? even[m >> 1] : odd[m >> 1])
            }
            dst[t] = sum
        }
        guard first <= last else {
            for t in 0..<time { edge(t) }
            return
        }
        for t in 0..<first { edge(t) }
        for t in (last + 1)..<time { edge(t) }
        let count = last - first + 1
        let out = dst + first
        Self.clear(out, count: count)
        for k in 0..<taps {
            // 2t + k − padLeft = 2(t + o) + parity.
            let m = 2 * first + k - padLeft
            let source = m & 1 == 0 ? even + (m >> 1) : odd + (m >> 1)
            Self.accumulate(out, source, weight: downFilter[k], count: count)
        }
    }

    @inline(__always)
    static func clear(_ p: UnsafeMutablePointer<Float>, count: Int) {
        p.update(repeating: 0, count: count)
    }

    /// dst[i] += w·src[i].
    @inline(__always)
    static func accumulate(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, weight: Float, count: Int) {
        typealias V = SIMD8<Float>
        let w = V(repeating: weight)
        var i = 0
        while i + 8 <= count {
            let s = UnsafeRawPointer(src + i).loadUnaligned(as: V.self)
            let d = UnsafeRawPointer(dst + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: d.addingProduct(w, s), as: V.self)
            i += 8
        }
        while i < count {
            dst[i] += weight * src[i]
            i += 1
        }
    }

    /// v ← v + inverseBeta·sin²(α·v), in place.
    @inline(__always)
    static func snake(_ p: UnsafeMutablePointer<Float>, count: Int, alpha: Float, inverseBeta: Float) {
        typealias V = SIMD8<Float>
        let a = V(repeating: alpha), inv = V(repeating: inverseBeta)
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: v + inv * VectorMath.sinSquared(v * a), as: V.self)
            i += 8
        }
        if i < count {
            var v = V(repeating: 0)
            for l in 0..<(count - i) { v[l] = p[i + l] }
            let r = v + inv * VectorMath.sinSquared(v * a)
            for l in 0..<(count - i) { p[i + l] = r[l] }
        }
    }
}
