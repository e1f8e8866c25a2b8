import Dispatch
import Foundation
import IndexTTSTensor
import IndexTTSWeights

/// Timings behind `indextts bench vocoder`: BigVGAN at a given configuration (the v2 22 kHz model by default) with
/// random weights, written to a temporary safetensors file and loaded through the normal path, vocoding `frames`
/// mel frames. The anti-aliasing filters are 12-tap Hann-windowed sincs (the checkpoint's Kaiser filters have the
/// same length, so the cost is the same).
public enum BigVGANBenchmark {
    public struct Result: Sendable {
        public var frames: Int
        public var samples: Int
        public var sampleRate: Int
        public var parameters: Int
        public var loadSeconds: Double
        /// Best of the timed runs.
        public var seconds: Double
        /// Resblock convolutions run as Winograd F(4, 4), of all resblock convolutions.
        public var winogradConvolutions: (winograd: Int, total: Int)
        /// With `compareDirect`: the model with every convolution direct, from the same run.
        public var direct: DirectComparison?
        /// Vocoding time over audio duration.
        public var realTimeFactor: Double { seconds / (Double(samples) / Double(sampleRate)) }
    }

    /// The direct-convolution model beside the default one: its best time, the largest difference between the two
    /// waveforms and the direct waveform's peak (samples in [−1, 1]).
    public struct DirectComparison: Sendable {
        public var seconds: Double
        public var maximumDifference: Double
        public var peak: Double
    }

    /// - Parameter compareDirect: also load the model with every convolution direct (``BigVGAN/load(from:configuration:winogradThreshold:)``
    ///   with `Int.max`), time it in alternation with the default one, and compare the waveforms.
    public static func run(configuration c: BigVGANConfiguration = BigVGANConfiguration(), frames: Int = 172, runs: Int = 3,
                           compareDirect: Bool = false,
                           temporaryDirectory: URL = FileManager.default.temporaryDirectory) throws -> Result {
        try c.validate(source: "benchmark configuration")
        guard frames >= 1, runs >= 1 else {
            throw ModelError.invalidInput(component: "BigVGAN benchmark", reason: "frames \(frames), runs \(runs)")
        }
        var seed: UInt64 = 0xB16_7A9
        func random(_ shape: [Int], scale: Float, offset: Float = 0) -> Tensor {
            Tensor.make(shape) { out in
                for i in out.indices {
                    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                    out[i] = (Float(seed >> 40) / Float(1 << 24) - 0.5) * 2 * scale + offset
                }
            }
        }
        let taps = 12
        let lowpass: Tensor = {
            var h = (0..<taps).map { k -> Float in
                let t = Float(k) - Float(taps - 1) / 2
                let sinc = t == 0 ? 1 : Foundation.sin(Float.pi * t / 2) / (Float.pi * t / 2)
                let window = 0.5 - 0.5 * Foundation.cos(2 * Float.pi * (Float(k) + 0.5) / Float(taps))
                return sinc * window
            }
            let sum = h.reduce(0, +)
            h = h.map { $0 / sum }
            return try! Tensor(shape: [1, 1, taps], scalars: h)
        }()
        var tensors: [String: Tensor] = [:]
        func conv(_ name: String, out: Int, in input: Int, kernel: Int, bias: Bool = true, transposed: Bool = false) {
            let scale = 1 / Float(input * kernel).squareRoot()
            tensors[name + ".weight"] = random(transposed ? [input, out, kernel] : [out, input, kernel], scale: scale)
            if bias { tensors[name + ".bias"] = random([out], scale: 0.01) }
        }
        func activation(_ name: String, channels: Int) {
            tensors[name + ".act.alpha"] = random([channels], scale: 0.5)
            if c.activation == "snakebeta" { tensors[name + ".act.beta"] = random([channels], scale: 0.5) }
            tensors[name + ".upsample.filter"] = lowpass
            tensors[name + ".downsample.lowpass.filter"] = lowpass
        }
        conv("conv_pre", out: c.upsampleInitialChannel, in: c.numMels, kernel: 7)
        for (i, kernel) in c.upsampleKernelSizes.enumerated() {
            let channels = c.channels(afterStage: i)
            conv("ups.\(i).0", out: channels, in: c.upsampleInitialChannel >> i, kernel: kernel, transposed: true)
            for (j, (k, dilations)) in zip(c.resblockKernelSizes, c.resblockDilationSizes).enumerated() {
                let block = "resblocks.\(i * c.resblockKernelSizes.count + j)"
                for d in dilations.indices {
                    conv("\(block).convs1.\(d)", out: channels, in: channels, kernel: k)
                    conv("\(block).convs2.\(d)", out: channels, in: channels, kernel: k)
                }
                for a in 0..<(2 * dilations.count) { activation("\(block).activations.\(a)", channels: channels) }
            }
        }
        let last = c.channels(afterStage: c.upsampleRates.count - 1)
        activation("activation_post", channels: last)
        conv("conv_post", out: 1, in: last, kernel: 7, bias: c.useBiasAtFinal)
        let parameters = tensors.filter { !$0.key.hasSuffix(".filter") }.values.reduce(0) { $0 + $1.count }
        let path = temporaryDirectory.appendingPathComponent("indextts-bench-bigvgan-\(getpid()).safetensors").path
        try SafeTensorsWriter.write(tensors, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        tensors = [:]

        let loadStart = DispatchTime.now().uptimeNanoseconds
        let model = try BigVGAN.load(from: WeightStore.open(path: path), configuration: c)
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        let direct = compareDirect ? try BigVGAN.load(from: WeightStore.open(path: path), configuration: c, winogradThreshold: .max) : nil
        let mel = random([1, c.numMels, frames], scale: 2, offset: -5)
        var best = Double.infinity, bestDirect = Double.infinity
        var wave: [Float] = [], directWave: [Float] = []
        func timed(_ model: BigVGAN) throws -> ([Float], Double) {
            let start = DispatchTime.now().uptimeNanoseconds
            let samples = try model(mel).scalars
            return (samples, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        for _ in 0..<runs {
            let seconds: Double
            (wave, seconds) = try timed(model)
            best = min(best, seconds)
            if let direct {
                let seconds: Double
                (directWave, seconds) = try timed(direct)
                bestDirect = min(bestDirect, seconds)
            }
        }
        let comparison = direct.map { _ in
            DirectComparison(seconds: bestDirect,
                             maximumDifference: zip(wave, directWave).reduce(0.0) { max($0, Double(abs($1.0 - $1.1))) },
                             peak: directWave.reduce(0.0) { max($0, Double(abs($1))) })
        }
        return Result(frames: frames, samples: wave.count, sampleRate: c.samplingRate, parameters: parameters,
                      loadSeconds: loadSeconds, seconds: best, winogradConvolutions: model.winogradConvolutions,
                      direct: comparison)
    }
}
