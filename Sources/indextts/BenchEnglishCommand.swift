import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSModels
import IndexTTSTensor

extension BenchCommand {
    /// `indextts bench english`: the embedded English voice per stage over a sentence file, the HiFi-GAN on
    /// time-major rows (the default where oneDNN is used) and on channel-major rows alternated in one process.
    struct English: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "english",
            abstract: "English voice speed per stage (phonemes, text encoder, durations, flow, HiFi-GAN) as real-time factor.",
            discussion: "Each round synthesises every sentence with each decoder layout (time-major with fused residual "
                + "stages, time-major layer by layer, channel-major; the order reversed every other round), seeded noise, the "
                + "voice's default scales. tools/eval/english_wer.py times piper-tts on onnxruntime beside it.")
        @Option(help: "UTF-8 text, one sentence per line ('#' lines skipped).") var textFile = "tools/eval/sentences_en.txt"
        @Option(help: "Rounds over the sentences (after one warm-up sentence).") var rounds = 3
        @Option(help: "Model cache folder (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?

        struct Totals {
            var phonemes = 0.0, encoder = 0.0, durations = 0.0, flow = 0.0, decoder = 0.0, audio = 0.0
            var networks: Double { encoder + durations + flow + decoder }
        }

        func run() throws {
            AllocatorTuning.apply()
            guard let data = FileManager.default.contents(atPath: textFile), let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("cannot read \(textFile)")
            }
            let sentences = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
            guard !sentences.isEmpty else { throw ValidationError("no sentences in \(textFile)") }
            let loadStart = Date()
            let voice = try EnglishVoice.load(cache: ModelCache(root: cache))
            let load = Date().timeIntervalSince(loadStart)
            // The loaded voice decodes time-major where oneDNN is used (its primitives compiled at load).
            var layouts = [(voice.vits.decodesFusedStages ? "time-major, fused stages" : voice.vits.decodesTimeMajor ? "time-major" : "default",
                            voice.vits)]
            if voice.vits.decodesFusedStages {
                layouts.append(("time-major, layer by layer", voice.vits.decodingTimeMajor(true, fusedStages: false)))
            }
            layouts.append(("channel-major", voice.vits.decodingTimeMajor(false)))
            let scales = voice.config.inference
            func synthesize(_ vits: PiperVITS, _ sentence: String, _ totals: inout Totals) throws {
                var t = Date()
                let sequences = try voice.idSequences(sentence)
                totals.phonemes += Date().timeIntervalSince(t)
                var noise = PiperGaussianNoise(seed: 1)
                for ids in sequences {
                    t = Date()
                    let encoded = try vits.encode(ids)
                    totals.encoder += Date().timeIntervalSince(t)
                    t = Date()
                    let logw = try vits.logDurations(hidden: encoded.hidden,
                                                     noise: noise.durationNoise(phonemes: ids.count).affine(scale: scales.noiseW))
                    let durations = PiperVITS.durations(logDurations: logw, lengthScale: scales.lengthScale)
                    let frames = max(durations.reduce(0, +), 1)
                    let prior = try PiperVITS.prior(mean: encoded.mean, logScale: encoded.logScale, durations: durations,
                                                    noise: noise.priorNoise(channels: vits.configuration.interChannels, frames: frames),
                                                    noiseScale: scales.noiseScale)
                    totals.durations += Date().timeIntervalSince(t)
                    t = Date()
                    let latent = try vits.latent(prior: prior)
                    totals.flow += Date().timeIntervalSince(t)
                    t = Date()
                    let audio = try vits.decode(latent: latent)
                    totals.decoder += Date().timeIntervalSince(t)
                    totals.audio += Double(audio.count) / Double(voice.sampleRate)
                }
            }
            var warm = Totals()
            for (_, vits) in layouts { try synthesize(vits, "Warm up, please.", &warm) }
            var totals = [Totals](repeating: Totals(), count: layouts.count)
            for round in 0..<rounds {
                let order = round % 2 == 0 ? Array(layouts.indices) : Array(layouts.indices.reversed())
                for index in order {
                    for sentence in sentences { try synthesize(layouts[index].1, sentence, &totals[index]) }
                }
            }
            printMachine()
            print("English voice (Piper en_US-joe-medium by PiperVITS): \(sentences.count) sentences × \(rounds) rounds; load \(String(format: "%.3f", load)) s")
            print("decoder layout available: \(voice.vits.decodesTimeMajor ? "time-major (oneDNN brgemm, tiled)" : "channel-major only")"
                  + (voice.vits.decodesFusedStages ? ", residual blocks fused over time tiles (INDEXTTS_TM_STAGE_TILE values per tile)" : ""))
            for (index, (name, _)) in layouts.enumerated() {
                let t = totals[index]
                func line(_ label: String, _ seconds: Double) -> String {
                    "\(label) \(String(format: "%.3f", seconds)) s (RTF \(String(format: "%.4f", seconds / max(t.audio, 1e-9))))"
                }
                print("\(name): \(String(format: "%.1f", t.audio)) s of audio; " + [
                    line("phonemes", t.phonemes), line("encoder", t.encoder), line("durations+prior", t.durations),
                    line("flow", t.flow), line("HiFi-GAN", t.decoder), line("networks", t.networks),
                    line("total", t.networks + t.phonemes),
                ].joined(separator: ", "))
            }
            print("peak resident memory: \(String(format: "%.0f", Double(peakResidentBytes()) / 1e6)) MB")
        }
    }
}
