import ArgumentParser
import Foundation
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTensor
import IndexTTSWeights

struct AudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio", abstract: "Inspect, convert and analyse audio files.",
        subcommands: [Info.self, Convert.self, Features.self, Conditioning.self, Prosody.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Format, rate, channels, duration, peak and loudness.")

        @Argument(help: "Audio file (WAV, FLAC, MP3, OGG Vorbis/Opus).")
        var file: String

        func run() throws {
            let audio = try AudioDecoder.decode(path: file)
            let peak = audio.peak
            print("file:        \(file)")
            print("format:      \(audio.format)")
            print("sample rate: \(audio.sampleRate) Hz")
            print("channels:    \(audio.channels)\(audio.channels > 1 ? " (averaged to mono when used)" : "")")
            print("duration:    \(String(format: "%.3f", audio.duration)) s (\(audio.samples.count) frames)")
            print("peak:        \(peak > 0 ? String(format: "%.1f dBFS", 20 * log10(Double(peak))) : "silent")")
            let lufs = Loudness.integrated(audio.samples, sampleRate: audio.sampleRate)
            print("loudness:    \(lufs.isFinite ? String(format: "%.1f LUFS", lufs) : "n/a (silent or shorter than 0.4 s)")")
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert between formats (output format from the extension: wav, mp3, opus, aac, flac, pcm).")

        @Argument(help: "Input audio file.") var input: String
        @Argument(help: "Output file.") var output: String
        @Option(help: "Resample to this rate (soxr HQ).") var sampleRate: Int?
        @Option(parsing: .unconditional, help: "Normalise to this integrated loudness (LUFS, e.g. -16), peaks kept below -1 dBFS.")
        var loudness: Double?

        func run() throws {
            let ext = URL(fileURLWithPath: output).pathExtension
            guard let format = AudioFormat(fileExtension: ext) else {
                throw ValidationError("unknown output extension '.\(ext)' (use wav, mp3, opus, aac, flac or pcm)")
            }
            let audio = try AudioDecoder.decode(path: input)
            var samples = audio.samples, rate = audio.sampleRate
            if let target = sampleRate, target != rate {
                samples = try SoxrResampler.resample(samples, from: rate, to: target)
                rate = target
            }
            if let loudness { samples = AudioShaping.normalizeLoudness(samples, sampleRate: rate, targetLUFS: loudness) }
            let bytes = try AudioEncoder.encode(samples, sampleRate: rate, format: format)
            try Data(bytes).write(to: URL(fileURLWithPath: output))
            print("wrote \(output): \(format.rawValue), \(rate) Hz, \(String(format: "%.2f", Double(samples.count) / Double(rate))) s, \(bytes.count) bytes")
        }
    }

    struct Features: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dump the features IndexTTS2 computes from a reference clip to a .safetensors file.",
            discussion: """
                Keys: mel [80, frames] (22.05 kHz S2M/BigVGAN log-mel), audio_16k (torchaudio sinc resample), \
                fbank [frames, 80] (Kaldi fbank, CAMPPlus input before mean removal), w2v_features [frames/2, 160] and \
                w2v_mask (SeamlessM4T features for w2v-BERT). The clip is loaded as librosa.load(sr=22050) does.
                """)

        @Argument(help: "Reference audio file.") var input: String
        @Argument(help: "Output .safetensors file.") var output: String

        func run() throws {
            let audio = try AudioDecoder.decode(path: input, requireSound: true)
            let audio22k = try SoxrResampler.resample(audio.samples, from: audio.sampleRate, to: 22_050)
            let audio16k = try SincResampler(from: 22_050, to: 16_000)(audio22k)
            let w2v = try SeamlessM4TFeatureExtractor()(audio16k)
            try SafeTensorsWriter.write([
                "mel": try MelSpectrogram()(audio22k),
                "audio_16k": try Tensor(shape: [audio16k.count], scalars: audio16k),
                "fbank": try KaldiFbank()(audio16k),
                "w2v_features": w2v.inputFeatures,
                "w2v_mask": try Tensor(shape: [w2v.attentionMask.count], scalars: w2v.attentionMask.map(Float.init)),
            ], metadata: ["source": input], to: output)
            print("wrote \(output)")
        }
    }
}

extension AudioCommand {
    struct Conditioning: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run IndexTTS2's reference-conditioning encoders on a clip: w2v-BERT 2.0 + stats + MaskGCT codec.",
            discussion: """
                Writes spk_cond_emb [1, frames, 1024] (hidden_states[17] normalised by wav2vec2bert_stats.pt), S_ref \
                [1, frames, 1024] and S_ref_codes [1, frames] (the codec's quantize), and the w2v-BERT input features. \
                The clip is loaded as IndexTTS2 loads it (22.05 kHz, cut to 15 s, sinc-resampled to 16 kHz); a \
                .safetensors input instead supplies input_features [frames, 160] and attention_mask [frames] directly.
                """)

        @Argument(help: "Reference audio file, or a .safetensors file with input_features and attention_mask.") var input: String
        @Argument(help: "Output .safetensors file.") var output: String
        @Option(help: "w2v-BERT 2.0 folder (config.json + model.safetensors) or the hf_cache folder.") var w2v: String
        @Option(help: "wav2vec2bert_stats.pt.") var stats: String
        @Option(help: "MaskGCT semantic_codec/model.safetensors.") var codec: String
        @Option(help: "IndexTTS2 config.yaml for the codec's sizes (default: IndexTTS2's).") var config: String?

        func run() throws {
            let features: Tensor, mask: [Int32]
            if input.hasSuffix(".safetensors") {
                let store = try WeightStore.open(path: input)
                features = try store.tensor("input_features")
                mask = try store.tensor("attention_mask").scalars.map { Int32($0) }
            } else {
                let audio = try AudioDecoder.decode(path: input, requireSound: true)
                let audio22k = try SoxrResampler.resample(audio.samples, from: audio.sampleRate, to: 22_050)
                let audio16k = try SincResampler(from: 22_050, to: 16_000)(Array(audio22k.prefix(15 * 22_050)))
                let extracted = try SeamlessM4TFeatureExtractor()(audio16k)
                (features, mask) = (extracted.inputFeatures, extracted.attentionMask)
            }
            let batched = features.rank == 2 ? try features.unsqueezed(0) : features
            let model = try W2VBert.load(directory: w2v)
            let normalized = try W2VBertStatistics.load(path: stats)(model.hiddenStates(batched, attentionMask: [mask]))
            let semanticCodec = try SemanticCodec.load(checkpoint: codec, configYAML: config)
            let (codes, embeddings) = try semanticCodec.quantize(normalized)
            try SafeTensorsWriter.write([
                "spk_cond_emb": normalized,
                "S_ref": embeddings,
                "S_ref_codes": try Tensor(shape: [1, codes[0].count], scalars: codes[0].map(Float.init)),
                "input_features": batched,
            ], metadata: ["source": input], to: output)
            print("wrote \(output): \(codes[0].count) frames")
        }
    }
}

extension AudioCommand {
    struct Prosody: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pitch, voicing, loudness and speaking rate of a voice clip (what reference-style transfer reads).")

        @Argument(help: "Audio file.") var file: String
        @Flag(help: "Also print F0 per 10 ms frame.") var frames = false

        func run() throws {
            let audio = try AudioDecoder.decode(path: file, requireSound: true)
            let samples = try SoxrResampler.resample(audio.samples, from: audio.sampleRate, to: 16_000)
            let track = try PitchTracker()(samples)
            let voicedF0 = zip(track.frequencies, track.voiced).filter { $0.1 }.map { Double($0.0) }.sorted()
            print("file:          \(file)")
            print("duration:      \(String(format: "%.2f", audio.duration)) s")
            print("voiced:        \(String(format: "%.0f", 100 * Double(voicedF0.count) / Double(max(track.voiced.count, 1))))% of frames")
            if let stats = track.logPitchStatistics, !voicedF0.isEmpty {
                let p10 = voicedF0[voicedF0.count / 10], p90 = voicedF0[voicedF0.count * 9 / 10]
                print("F0 median:     \(String(format: "%.1f", voicedF0[voicedF0.count / 2])) Hz (10–90%: \(String(format: "%.0f–%.0f", p10, p90)) Hz)")
                print("F0 spread:     \(String(format: "%.2f", stats.standardDeviation * 12)) semitones (std of log F0)")
            }
            let rate = SpeakingRate.estimate(track)
            print("speaking rate: \(String(format: "%.1f", rate.syllablesPerSecond)) syllables/s (\(rate.nuclei.count) in \(String(format: "%.2f", rate.speechSeconds)) s of speech)")
            let lufs = Loudness.integrated(audio.samples, sampleRate: audio.sampleRate)
            if lufs.isFinite { print("loudness:      \(String(format: "%.1f", lufs)) LUFS") }
            if frames {
                for (t, f) in track.frequencies.enumerated() {
                    print(String(format: "%.2f\t%.1f\t%.1f dB", Double(t) * track.hopSeconds, f, track.energyDecibels[t]))
                }
            }
        }
    }
}
