import IndexTTSAudio
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Features, filter banks and resamplers against librosa / torchaudio / transformers
/// (tools/fixtures/generate_audio.py → Tests/Fixtures/audio).
struct FeatureParityTests {
    static let expected = try! WeightStore.open(path: Fixtures.path("audio/expected.safetensors"))

    static func reference(_ key: String) throws -> Tensor { try expected.tensor(key) }

    /// The 22.05 kHz test signal, decoded by our decoder.
    static func speech() throws -> [Float] {
        try AudioDecoder.decode(path: Fixtures.path("audio/speech_like_22050.wav")).samples
    }

    @Test func decoderReadsTheSignalExactly() throws {
        let samples = try Self.speech()
        #expect(samples == (try Self.reference("speech_like_22050")).scalars)
    }

    @Test func slaneyFilterBankMatchesLibrosa() throws {
        let filters = try MelFilterbank.slaney(sampleRate: 22_050, fftSize: 1024, melCount: 80)
        expectClose(filters.weights, try Self.reference("slaney_filters"), tolerance: .init(rtol: 1e-5, atol: 1e-8), "slaney")
    }

    /// torchaudio builds these in fp32: one ulp of a mel value (~1.2e-4 near 2000 mel) divided by the ~25-mel
    /// triangle half-width moves a weight by ~5e-6, and fp32 `log` implementations differ by an ulp.
    @Test func kaldiFilterBankMatchesTorchaudio() throws {
        let filters = try MelFilterbank.kaldi(sampleRate: 16_000, paddedWindowSize: 512, melCount: 80)
        expectClose(filters.weights, try Self.reference("kaldi_filters"), tolerance: .init(rtol: 0, atol: 2e-5), "kaldi")
    }

    /// Log-mels within 1e-3 absolute (the issue's bound) wherever the energy is clearly above the 1e-5 clamp; see
    /// `logSpectralMismatch` for why near-floor bins get 2e-2.
    @Test func bigVGANMelMatchesIndexTTS2() throws {
        let mel = try MelSpectrogram()(Self.speech())
        let problem = logSpectralMismatch(mel, try Self.reference("mel"), floor: 1e-5)
        #expect(problem == nil, "mel: \(problem ?? "")")
    }

    @Test func sincResamplerMatchesTorchaudio() throws {
        let resampled = try SincResampler(from: 22_050, to: 16_000)(Self.speech())
        let reference = try Self.reference("resample_16k")
        #expect(resampled.count == reference.count)
        expectClose(try Tensor(shape: [resampled.count], scalars: resampled), reference,
                    tolerance: .init(rtol: 0, atol: 1e-5), "resample")
    }

    @Test func kaldiFbankMatchesTorchaudio() throws {
        let audio16k = try Self.reference("resample_16k").scalars
        let fbank = try KaldiFbank()(audio16k)
        let reference = try Self.reference("fbank")
        let problem = logSpectralMismatch(fbank, reference, floor: Float.ulpOfOne)
        #expect(problem == nil, "fbank: \(problem ?? "")")
        // CAMPPlus input: minus the per-bin mean over time (each mean averages the small per-entry errors).
        let normalised = try fbank.subtracting(fbank.mean(axis: 0))
        expectClose(normalised, try Self.reference("fbank_cmn"), tolerance: .init(rtol: 0, atol: 2e-2), "fbank CMN")
    }

    @Test(arguments: [("resample_16k", "w2v_features", "w2v_mask"), ("w2v_odd_input", "w2v_odd_features", "w2v_odd_mask")])
    func seamlessFeaturesMatchTransformers(_ keys: (String, String, String)) throws {
        let input = try Self.reference(keys.0).scalars
        let features = try SeamlessM4TFeatureExtractor()(input)
        expectClose(features.inputFeatures, try Self.reference(keys.1), tolerance: .init(rtol: 0, atol: 1e-3), keys.1)
        #expect(features.attentionMask.map(Float.init) == (try Self.reference(keys.2)).scalars)
    }

    /// `librosa.load(path, sr=22050)`: libsndfile decode, channel average, soxr HQ, length ⌈n·ratio⌉.
    @Test func librosaLoadPathMatches() throws {
        let decoded = try AudioDecoder.decode(path: Fixtures.path("audio/stereo_44100.wav"))
        #expect(decoded.channels == 2 && decoded.sampleRate == 44_100)
        let resampled = try SoxrResampler.resample(decoded.samples, from: 44_100, to: 22_050)
        let reference = try Self.reference("librosa_load_stereo_22050")
        #expect(resampled.count == reference.count)
        expectClose(try Tensor(shape: [resampled.count], scalars: resampled), reference,
                    tolerance: .init(rtol: 0, atol: 1e-5), "soxr")
    }

    @Test func fftMatchesADirectDFT() throws {
        let fft = try RealFFT(size: 64)
        let input = (0..<64).map { Float(sin(Double($0) * 0.37) + 0.25 * cos(Double($0) * 2.1)) }
        var re = [Float](repeating: 0, count: 33), im = [Float](repeating: 0, count: 33)
        var scratch = [Float](repeating: 0, count: fft.scratchCount)
        fft.transform(input, real: &re, imaginary: &im, scratch: &scratch)
        for k in 0...32 {
            var sr = 0.0, si = 0.0
            for n in 0..<64 {
                let angle = -2 * Double.pi * Double(k * n) / 64
                sr += Double(input[n]) * cos(angle)
                si += Double(input[n]) * sin(angle)
            }
            #expect(abs(Double(re[k]) - sr) < 1e-4 && abs(Double(im[k]) - si) < 1e-4, "bin \(k)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
