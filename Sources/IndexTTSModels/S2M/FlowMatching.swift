import Foundation
import IndexTTSTensor

/// IndexTTS2's conditional flow matching solver (`indextts/s2mel/modules/flow_matching.py`, `BASECFM.inference`):
/// Euler steps over `linspace(0, 1, steps + 1)` from Gaussian noise towards the mel spectrogram, the DiT giving the
/// velocity. The prompt (reference mel) is handed to the estimator in the first P frames of `prompt_x`; in `x` those
/// frames are zeroed at the start and after every step. With a guidance rate r > 0 each step evaluates the
/// estimator once on a batch of two — conditional `(x, prompt_x, style, mu)` and null `(x, 0, 0, 0)` — and uses
/// `(1 + r)·v_c − r·v_u`.
public struct FlowMatching: Sendable {
    public let estimator: DiffusionTransformer

    public init(estimator: DiffusionTransformer) { self.estimator = estimator }

    /// The flow time each Euler step starts at and its step size, as upstream computes them: `t_span =
    /// torch.linspace(0, 1, steps + 1)` in fp32 (first half `start + i·step`, second half `end − (n−1−i)·step`),
    /// `dt = t_span[k] − t_span[k−1]` and `t` accumulated as `t += dt`.
    public static func schedule(steps: Int) -> [(t: Float, dt: Float)] {
        let n = steps + 1
        let step: Float = 1 / Float(n - 1)
        let span = (0..<n).map { i -> Float in i < n / 2 ? Float(i) * step : 1 - step * Float(n - i - 1) }
        var t = span[0]
        var result: [(t: Float, dt: Float)] = []
        for k in 1..<n {
            let dt = span[k] - span[k - 1]
            result.append((t, dt))
            t += dt
        }
        return result
    }

    /// Generates the mel frames after the prompt.
    /// - Parameters:
    ///   - mu: conditions `[batch, T, content_dim]` (prompt part then generated part).
    ///   - promptMel: reference mel `[batch, mel, P]`, P < T.
    ///   - style: `[batch, style_dim]` (CAM++ embedding).
    ///   - steps: Euler steps (IndexTTS2: 25).
    ///   - guidanceRate: classifier-free guidance rate (IndexTTS2: 0.7); 0 runs the conditional branch alone.
    ///   - noise: start noise `[batch, mel, T]` (as drawn by `torch.randn`, temperature applied); nil draws it from a
    ///     seeded generator of ours (not torch's stream) scaled by `temperature`.
    ///   - onStep: called after each step with its index and the state `[batch, mel, T]` (prompt region zeroed).
    /// - Returns: `[batch, mel, T − P]`.
    public func generate(mu: Tensor, promptMel: Tensor, style: Tensor, steps: Int = 25, guidanceRate: Double = 0.7,
                         noise: Tensor? = nil, seed: UInt64 = 0, temperature: Float = 1,
                         onStep: ((Int, Tensor) -> Void)? = nil) throws -> Tensor {
        let c = estimator.configuration
        let mel = c.dit.inChannels
        guard mu.rank == 3, mu.shape[2] == c.dit.contentDim, mu.shape[0] > 0 else {
            throw ModelError.invalidInput(component: "S2M CFM", reason: "mu \(mu.shape) is not [batch, frames, \(c.dit.contentDim)]")
        }
        let (batch, time) = (mu.shape[0], mu.shape[1])
        guard promptMel.rank == 3, promptMel.shape[0] == batch, promptMel.shape[1] == mel else {
            throw ModelError.invalidInput(component: "S2M CFM", reason: "prompt mel \(promptMel.shape) is not [\(batch), \(mel), frames]")
        }
        let promptFrames = promptMel.shape[2]
        guard time > promptFrames else {
            throw ModelError.invalidInput(component: "S2M CFM",
                                          reason: "no frames to generate: \(time) condition frames, \(promptFrames) prompt frames")
        }
        guard style.shape == [batch, c.styleDim] else {
            throw ModelError.invalidInput(component: "S2M CFM", reason: "style \(style.shape) is not [\(batch), \(c.styleDim)]")
        }
        guard steps >= 1, steps <= 10_000 else {
            throw ModelError.invalidInput(component: "S2M CFM", reason: "steps must be in 1...10000, got \(steps)")
        }
        guard guidanceRate.isFinite, guidanceRate >= 0, temperature.isFinite else {
            throw ModelError.invalidInput(component: "S2M CFM", reason: "guidance rate \(guidanceRate), temperature \(temperature)")
        }
        guard time <= DiffusionTransformer.maximumFrames else {
            throw ModelError.invalidInput(component: "S2M CFM", reason: "\(time) frames exceed upstream's \(DiffusionTransformer.maximumFrames)")
        }
        try S2M.checkFinite(mu, "S2M CFM", "mu")
        try S2M.checkFinite(promptMel, "S2M CFM", "prompt mel")
        try S2M.checkFinite(style, "S2M CFM", "style")
        let start: Tensor
        if let noise {
            guard noise.shape == [batch, mel, time] else {
                throw ModelError.invalidInput(component: "S2M CFM", reason: "noise \(noise.shape) is not [\(batch), \(mel), \(time)]")
            }
            try S2M.checkFinite(noise, "S2M CFM", "noise")
            start = noise
        } else {
            start = Self.gaussianNoise([batch, mel, time], seed: seed).affine(scale: temperature)
        }
        // prompt_x: the prompt in the first P frames; x: those frames zeroed.
        let promptX = try promptMel.padded(left: 0, right: time - promptFrames)
        // The estimator's step-invariant inputs merged once for the whole run.
        let condition = try self.condition(promptX: promptX, mu: mu, style: style, guidanceRate: guidanceRate)
        var x = try Self.zeroPrompt(start, frames: promptFrames)
        for (k, (t, dt)) in Self.schedule(steps: steps).enumerated() {
            x = try step(x, condition: condition, t: t, dt: dt, guidanceRate: guidanceRate, promptFrames: promptFrames)
            onStep?(k, x)
        }
        return try x.sliced(axis: 2, range: promptFrames..<time).contiguous()
    }

    /// One Euler step from `x` at time `t`: `x + dt·v`, prompt frames zeroed afterwards (`[batch, mel, T]`).
    public func step(_ x: Tensor, promptX: Tensor, mu: Tensor, style: Tensor, t: Float, dt: Float, guidanceRate: Double,
                     promptFrames: Int) throws -> Tensor {
        try step(x, condition: condition(promptX: promptX, mu: mu, style: style, guidanceRate: guidanceRate), t: t,
                 dt: dt, guidanceRate: guidanceRate, promptFrames: promptFrames)
    }

    /// The estimator's ``DiffusionTransformer/Condition`` for a run: with guidance, of the batch of two
    /// (conditional, then null: prompt, style and condition zeroed).
    func condition(promptX: Tensor, mu: Tensor, style: Tensor, guidanceRate: Double) throws -> DiffusionTransformer.Condition {
        guard guidanceRate > 0 else { return try estimator.condition(promptX: promptX, style: style, mu: mu) }
        return try estimator.condition(promptX: Tensor.concatenate([promptX, Tensor.zeros(promptX.shape)], axis: 0),
                                       style: Tensor.concatenate([style, Tensor.zeros(style.shape)], axis: 0),
                                       mu: Tensor.concatenate([mu, Tensor.zeros(mu.shape)], axis: 0))
    }

    func step(_ x: Tensor, condition: DiffusionTransformer.Condition, t: Float, dt: Float, guidanceRate: Double,
              promptFrames: Int) throws -> Tensor {
        let batch = x.shape[0]
        // The prompt frames' velocity is zeroed below: the estimator need not compute it.
        let validFrom = min(max(promptFrames, 0), max(x.shape[2] - 1, 0))
        let velocity: Tensor
        if guidanceRate > 0 {
            let stacked = try estimator(x: Tensor.concatenate([x, x], axis: 0), t: [Float](repeating: t, count: 2 * batch),
                                        condition: condition, validFrom: validFrom)
            let conditional = try stacked.sliced(axis: 0, range: 0..<batch).contiguous()
            let unconditional = try stacked.sliced(axis: 0, range: batch..<(2 * batch)).contiguous()
            // (1.0 + r) and r are Python floats applied to fp32 tensors.
            let a = Float(1.0 + guidanceRate), b = Float(guidanceRate)
            velocity = Tensor.make(conditional.shape) { out in
                let vc = conditional.basePointer, vu = unconditional.basePointer, dst = out.baseAddress!
                for i in 0..<out.count { dst[i] = a * vc[i] - b * vu[i] }
            }
        } else {
            velocity = try estimator(x: x, t: [Float](repeating: t, count: batch), condition: condition, validFrom: validFrom)
        }
        let dense = x.contiguous()
        let next = Tensor.make(x.shape) { out in
            let src = dense.basePointer, v = velocity.basePointer, dst = out.baseAddress!
            for i in 0..<out.count { dst[i] = src[i] + dt * v[i] }
        }
        return try Self.zeroPrompt(next, frames: promptFrames)
    }

    /// `x` with frames `0..<frames` of the last axis set to zero.
    static func zeroPrompt(_ x: Tensor, frames: Int) throws -> Tensor {
        let dense = x.contiguous()
        let time = x.shape[x.rank - 1], rows = x.count / max(time, 1)
        return Tensor.make(x.shape) { out in
            let dst = out.baseAddress!
            dst.update(from: dense.basePointer, count: x.count)
            for r in 0..<rows { (dst + r * time).update(repeating: 0, count: min(frames, time)) }
        }
    }

    /// Standard normal values from a seeded SplitMix64 stream (Box–Muller). Deterministic for a seed; not torch's
    /// stream — pass `noise` to reproduce a PyTorch run.
    public static func gaussianNoise(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let u1 = (Double(next() >> 11) + 1) / 9_007_199_254_740_992  // (0, 1]
            let u2 = Double(next() >> 11) / 9_007_199_254_740_992
            let r = (-2 * Foundation.log(u1)).squareRoot()
            values[i] = Float(r * Foundation.cos(2 * Double.pi * u2))
            if i + 1 < count { values[i + 1] = Float(r * Foundation.sin(2 * Double.pi * u2)) }
            i += 2
        }
        return try! Tensor(shape: shape, scalars: values)
    }
}
