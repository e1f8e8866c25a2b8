import IndexTTSTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timings behind `indextts bench audio`: the reference-clip front end on 15 s of audio.
public enum AudioBenchmark {
    public static func run(seconds: Double = 15, repetitions: Int = 11) throws -> [OpsBenchmark.Measurement] {
        let rate = 22_050
        let count = Int(seconds * Double(rate))
        var state: UInt32 = 12_345
        let audio = (0..<count).map { i -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            let noise = Float(state >> 8) / Float(1 << 24) - 0.5
            return 0.3 * Float(sin(2 * Double.pi * 180 * Double(i) / Double(rate))) + 0.05 * noise
        }
        let mel = try MelSpectrogram()
        let resampler = try SincResampler(from: 22_050, to: 16_000)
        let audio16k = try resampler(audio)
        let fbank = try KaldiFbank()
        let seamless = try SeamlessM4TFeatureExtractor()
        let audio44k = try SoxrResampler.resample(audio, from: 22_050, to: 44_100)
        var results: [OpsBenchmark.Measurement] = []
        func measure(_ name: String, _ body: () throws -> Void) rethrows {
            let best = try OpsBenchmark.bestTime(repetitions, body)
            results.append(OpsBenchmark.Measurement(name: name, seconds: best, rate: seconds / best, unit: "× real time",
                                                    detail: "\(seconds) s of audio"))
        }
        try measure("mel 80×1024/256 @22.05 kHz (S2M, BigVGAN)") { _ = try mel(audio) }
        try measure("kaldi fbank 80 @16 kHz (CAMPPlus)") { _ = try fbank(audio16k) }
        try measure("mel + fbank") {
            _ = try mel(audio)
            _ = try fbank(audio16k)
        }
        try measure("SeamlessM4T features (w2v-BERT input)") { _ = try seamless(audio16k) }
        try measure("sinc resample 22.05 → 16 kHz (torchaudio)") { _ = try resampler(audio) }
        try measure("soxr HQ 44.1 → 22.05 kHz (librosa.load)") {
            _ = try SoxrResampler.resample(audio44k, from: 44_100, to: 22_050)
        }
        return results
    }
}
