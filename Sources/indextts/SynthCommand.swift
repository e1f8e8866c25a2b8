import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSText
import IndexTTSWeights

/// `indextts synth`: text to a sound file, with whichever engine ``EngineFactory`` picks (IndexTTS2 when its model
/// folder is complete, else the embedded default voice; `--engine` chooses). One code path for both engines: the
/// options become ``SpeechParameters`` (as a batch line or an API request would), ``RequestResolver`` turns them into
/// the ``SynthesisRequest`` (sampling flags in ``SynthesisRequest/sampling``), the engine synthesises it.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Synthesise speech with IndexTTS2 (when its model folder is complete) or the embedded default voice.",
        discussion: """
            --engine auto (the default) speaks with IndexTTS2 when the model folder (--model-dir, $INDEXTTS_MODEL_DIR, \
            ./checkpoints, the folder start_app.sh recorded, ~/.cache/indextts/checkpoints) is complete — cloning the \
            timbre of --ref-audio or of a library --voice — and with the embedded default voice otherwise; the first \
            line on standard error says which engine speaks and why.
            The default voice speaks Chinese and English out of the box (run scripts/fetch-default-voice.sh or \
            ./start_app.sh once to fetch it into cache_hub/): each sentence goes to the Mandarin voice (baker) or the \
            English one (joe, needs espeak-ng) by its language, unless --voice names one. Emotion presets and --ref-audio steer its prosody — pitch level and range, \
            speaking rate, energy — but do not clone a speaker's timbre; IndexTTS2's generation settings (--top-k, \
            --num-beams, …) do not apply to it.
            Presets: \(EmotionPreset.all.map { "\($0.id) (\($0.label))" }.joined(separator: ", ")).
            Voice licences: \(DefaultVoiceEngine.licence) \(EnglishVoice.licence)
            """)

    @Option(name: .shortAndLong, help: "Text to speak.") var text: String?
    @Option(help: "Read the text from a UTF-8 file.") var textFile: String?
    @Option(help: "Voice: built-in (default voice: auto — by language —, baker, joe) or a voice-library name (see --data).") var voice: String?
    @Option(help: "Data folder whose voices/ holds the voice library (the server's --data).") var data = "data"
    @Option(help: "Emotion preset, English id or Chinese label (e.g. happy, 悲伤).") var emotion: String?
    @Option(help: "Preset strength, 0…1.") var emotionStrength = 1.0
    @Option(help: "IndexTTS2's 8 emotion weights: happy,angry,sad,afraid,disgusted,melancholic,surprised,calm (scaled by --emo-alpha).")
    var emotionVector: String?
    @Option(help: "Describe the emotion in words.") var emotionText: String?
    @Option(name: [.customLong("ref-audio"), .customLong("spk-audio-prompt")],
            help: "Voice reference clip: the timbre IndexTTS2 clones, the prosody the default voice follows.") var refAudio: String?
    @Option(name: [.customLong("emotion-audio"), .customLong("emo-audio-prompt")],
            help: "Emotion reference clip, weighted by --emo-alpha.") var emotionAudio: String?
    @Option(name: [.customLong("emo-alpha"), .customLong("emotion-weight")],
            help: "Emotion weight, 0…1: of --emotion-audio, or the scale of --emotion-vector (upstream emo_alpha; default 1).")
    var emoAlpha: Double?
    @Flag(help: "With --emotion-vector: pick the emotion-matrix rows at random (upstream use_random).") var useRandom = false
    @Option(help: "IndexTTS2: how numbers, symbols and abbreviations are read: corrected (default) or upstream (IndexTTS2's own reading, byte for byte).")
    var readings: ReadingMode?
    @Option(help: "IndexTTS-2.5: the text's language (upstream lang: zh, en, ja, es, ar, or another Whisper code; default: guessed from the script).")
    var lang: String?
    @Option(help: "Speaking speed, 0.25…4.0 (1 is normal).") var speed = 1.0
    @Option(help: "Output format: wav, mp3, opus, aac, flac or pcm (default: from -o, else wav).") var format: String?
    @Option(name: .shortAndLong, help: "Output file (default outputs/YYYYMMDD_HHMMSS.<format>); - writes the audio to standard output as it is made (segment by segment, or window by window with --stream).") var output: String?
    @Flag(help: "IndexTTS2: windowed streaming — each window of codes is rendered while the GPT continues (upstream's TensorRT streaming; see docs/STREAMING.md).")
    var stream = false
    @Option(help: "IndexTTS2 --stream: codes per window (100).") var streamChunkSize: Int?
    @Option(help: "IndexTTS2 --stream: codes shared by consecutive windows, cross-faded (5).") var streamOverlapSize: Int?
    @Option(help: "IndexTTS2 --stream: codes in a segment's first window (default: the window size).") var streamFirstChunkSize: Int?
    @Option(help: "IndexTTS-2.5 --stream: codes past a window's end its codec decode reads before the window renders (default: the codec's context radius, 40).")
    var streamLookahead: Int?
    @OptionGroup var engineOptions: EngineOptions
    @Flag(inversion: .prefixedNo, help: "IndexTTS2: sample the codes (upstream do_sample, default on); --no-do-sample decodes greedily / by beam search.")
    var doSample: Bool?
    @Option(help: "IndexTTS2: top-k (upstream default 30).") var topK: Int?
    @Option(help: "IndexTTS2: top-p (0.8).") var topP: Double?
    @Option(help: "IndexTTS2: temperature (0.8).") var temperature: Double?
    @Option(help: "IndexTTS2: beams (3).") var numBeams: Int?
    @Option(help: "IndexTTS2: repetition penalty (10).") var repetitionPenalty: Double?
    @Option(help: "IndexTTS2: length penalty (0).") var lengthPenalty: Double?
    @Option(help: "IndexTTS2: most semantic codes per segment (1500).") var maxMelTokens: Int?
    @Option(help: "IndexTTS2: text tokens per segment (120).") var maxTextTokensPerSegment: Int?
    @Option(help: "IndexTTS2: CFM steps (25).") var diffusionSteps: Int?
    @Option(help: "IndexTTS2: classifier-free guidance rate (0.7).") var inferenceCfgRate: Double?
    @Option(help: "IndexTTS2: milliseconds of silence between segments (200).") var intervalSilence: Int?
    @Option(help: "Seed of IndexTTS2's code sampler and CFM noise.") var seed: UInt64?
    @Option(help: "IndexTTS2: write every intermediate tensor under upstream's names to this safetensors file.")
    var dumpStages: String?
    @Option(help: "IndexTTS2: take the CFM start noise from this safetensors file (tensors cfm_noise, cfm_noise@1, …).")
    var cfmNoise: String?
    @Flag(name: .shortAndLong, help: "Print per-stage timings, real-time factor and the controls used.") var verbose = false

    func validate() throws {
        let sources = [text != nil, textFile != nil].filter { $0 }.count
        if sources > 1 { throw ValidationError("give either --text or --text-file, not both") }
        let emotions = [emotion != nil, emotionVector != nil, emotionText != nil, emotionAudio != nil].filter { $0 }.count
        if emotions > 1 { throw ValidationError("choose one of --emotion, --emotion-vector, --emotion-text, --emotion-audio") }
        if let format, AudioFormat(fileExtension: format) == nil {
            throw ValidationError("--format must be wav, mp3, opus, aac, flac or pcm")
        }
    }

    func readText() throws -> String {
        if let text { return text }
        if let textFile {
            guard let data = FileManager.default.contents(atPath: textFile), let s = String(data: data, encoding: .utf8) else {
                throw ValidationError("cannot read UTF-8 text from \(textFile)")
            }
            return s
        }
        var lines: [String] = []
        while let line = readLine(strippingNewline: false) { lines.append(line) }
        guard !lines.isEmpty else { throw ValidationError("give --text, --text-file, or text on standard input") }
        return lines.joined()
    }

    /// The generation flags as the one sampling type (absent flags: the engine's defaults, upstream's).
    var sampling: SamplingParameters {
        SamplingParameters(doSample: doSample, topP: topP, topK: topK, temperature: temperature, numBeams: numBeams,
                           repetitionPenalty: repetitionPenalty, lengthPenalty: lengthPenalty, maxMelTokens: maxMelTokens,
                           diffusionSteps: diffusionSteps, inferenceCfgRate: inferenceCfgRate,
                           maxTextTokensPerSegment: maxTextTokensPerSegment, intervalSilence: intervalSilence)
    }

    /// The options as a stored request would carry them (clips by path).
    func parameters(text: String) throws -> SpeechParameters {
        var p = SpeechParameters(text: text, voice: voice, speed: speed, seed: seed)
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        p.referenceAudioPath = refAudio.map(absolute)
        if let emotion {
            p.emotion = emotion
            p.emotionWeight = emotionStrength
        } else {
            p.emotionWeight = emoAlpha
        }
        if let emotionVector {
            let values = emotionVector.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.allSatisfy({ $0 != nil }) else { throw ValidationError("--emotion-vector: 8 comma-separated numbers") }
            p.emotionVector = values.map { $0! }
        }
        p.emotionText = emotionText
        p.emotionAudioPath = emotionAudio.map(absolute)
        p.sampling = sampling.isEmpty ? nil : sampling
        p.useRandom = useRandom ? true : nil
        p.readings = readings
        p.language = lang
        if stream || streamChunkSize != nil || streamOverlapSize != nil || streamFirstChunkSize != nil || streamLookahead != nil {
            p.stream = StreamingOptions(chunkSize: streamChunkSize ?? 100, overlapSize: streamOverlapSize ?? 5,
                                        firstChunkSize: streamFirstChunkSize, lookahead: streamLookahead)
        }
        return p
    }

    func run() throws {
        AllocatorTuning.apply()
        let text = try readText()
        let outputFormat: AudioFormat = {
            if let format { return AudioFormat(fileExtension: format)! }
            if let output, let f = AudioFormat(fileExtension: (output as NSString).pathExtension.lowercased()) {
                return f
            }
            return .wav
        }()
        let parameters = try self.parameters(text: text)
        try parameters.validate(maxCharacters: 100_000)

        let loaded = try engineOptions.load()
        let engine = loaded.engine
        FileHandle.standardError.write(Data("engine: \(loaded.selection.reason)\n".utf8))
        let stageRun = dumpStages != nil || cfmNoise != nil
        if stageRun && !(engine is IndexTTS2Engine) {
            throw ValidationError("--dump-stages and --cfm-noise need IndexTTS2, but the engine is \(engine.info.name) (\(loaded.selection.reason))")
        }
        if !engine.info.clonesTimbre, parameters.sampling != nil || parameters.useRandom == true {
            FileHandle.standardError.write(Data("note: \(engine.info.name) has no GPT sampler; the generation settings are ignored\n".utf8))
        }
        let library = VoiceLibrary(root: URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("voices"),
                                   reserved: RequestResolver.reservedNames(for: engine.info))
        let resolver = RequestResolver(library: library, engine: engine)
        let request = try resolver.prepare(parameters, engine: engine)
        try engine.validate(request)

        let interactive = isatty(STDERR_FILENO) != 0
        // `-o -`: encoded audio goes to standard output as each segment (window) is final; messages to standard error.
        let toStandardOutput = output == "-"
        func say(_ line: String) {
            if toStandardOutput { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        }
        var live: StandardOutputStream? = nil
        if toStandardOutput { live = StandardOutputStream(try AudioEncoder(format: outputFormat, sampleRate: engine.info.sampleRate)) }
        let liveOutput = live
        let progress: @Sendable (SynthesisProgress) -> Void = { p in
            liveOutput?.write(p.chunk)
            guard p.totalSegments > 1 else { return }
            let width = 30, done = width * p.completedSegments / p.totalSegments
            let bar = String(repeating: "█", count: done) + String(repeating: "░", count: width - done)
            let line = "\(bar) \(p.completedSegments)/\(p.totalSegments) segments, \(String(format: "%.1f", p.audioSeconds)) s of audio"
            FileHandle.standardError.write(Data((interactive ? "\r" + line : line + "\n").utf8))
        }
        let result: SynthesisResult
        if stageRun, let indexTTS2 = engine as? IndexTTS2Engine {
            result = try runStages(indexTTS2, request: request, progress: progress)
        } else {
            result = try engine.synthesize(request, progress: progress)
        }
        if interactive && result.segments > 1 { FileHandle.standardError.write(Data("\n".utf8)) }
        if let warning = result.appliedControls["warning"] { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        if let live {
            if live.samplesWritten == 0 { live.write(result.samples) }  // the stage path reports no audio as it goes
            try live.finish()
            say("wrote standard output: \(String(format: "%.2f", result.audioSeconds)) s, \(outputFormat.rawValue), \(result.sampleRate) Hz")
        } else if result.samples.isEmpty {
            print("no audio (the engine produced no samples)")
        } else {
            let path = output ?? Self.defaultOutputPath(format: outputFormat)
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            let bytes = try AudioEncoder.encode(result.samples, sampleRate: result.sampleRate, format: outputFormat)
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                throw ValidationError("cannot write \(path)")
            }
            print("wrote \(path): \(String(format: "%.2f", result.audioSeconds)) s, \(outputFormat.rawValue), \(result.sampleRate) Hz")
        }
        if verbose {
            say("engine: \(engine.info.id) (\(loaded.selection.reason))")
            say(String(format: "model load: %.3f s", loaded.loadSeconds))
            for t in result.timings { say(String(format: "%@: %.3f s", t.stage, t.seconds)) }
            say(String(format: "total: %.3f s, time to first audio: %.3f s, real-time factor: %.3f (%d segments)",
                       result.totalSeconds, result.timeToFirstAudio, result.realTimeFactor, result.segments))
            say("controls: " + result.appliedControls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }

    /// IndexTTS2 with the parity surface: the same request, run through the pipeline with stage recording and/or a
    /// given CFM start noise; the stages go to `--dump-stages`.
    func runStages(_ engine: IndexTTS2Engine, request: SynthesisRequest,
                   progress: @escaping @Sendable (SynthesisProgress) -> Void) throws -> SynthesisResult {
        var pipelineRequest = try engine.pipelineRequest(for: request)
        pipelineRequest.recordStages = dumpStages != nil
        if let cfmNoise {
            let store = try WeightStore.open(path: cfmNoise)
            for key in store.keys where key == "cfm_noise" || key.hasPrefix("cfm_noise@") {
                let index = key == "cfm_noise" ? 0 : Int(key.dropFirst("cfm_noise@".count))
                guard let index else { throw ValidationError("--cfm-noise: bad tensor name \(key)") }
                pipelineRequest.cfmNoise[index] = try store.tensor(key)
            }
            guard !pipelineRequest.cfmNoise.isEmpty else { throw ValidationError("--cfm-noise: no tensor named cfm_noise in \(cfmNoise)") }
        }
        let start = Date()
        let output = try engine.pipeline.synthesize(pipelineRequest) { p in
            progress(SynthesisProgress(completedSegments: p.completedSegments, totalSegments: p.totalSegments, audioSeconds: 0))
        }
        let seconds = Date().timeIntervalSince(start)
        if let dumpStages {
            try SafeTensorsWriter.write(output.stages, metadata: ["engine": "indextts2"], to: dumpStages)
            print("wrote \(output.stages.count) stages to \(dumpStages)")
        }
        var controls = ["engine": "indextts2", "top_k": "\(pipelineRequest.sampling.topK)",
                        "num_beams": "\(pipelineRequest.sampling.numBeams)",
                        "diffusion_steps": "\(pipelineRequest.sampling.diffusionSteps)"]
        for (k, segment) in output.segments.enumerated() {
            controls["segment_\(k)"] = "\(segment.textTokens.count) tokens, \(segment.codes.count) codes, \(segment.stop.rawValue)"
        }
        if !output.warnings.isEmpty { controls["warning"] = output.warnings.joined(separator: " ") }
        return SynthesisResult(samples: output.samples.map { $0 / 32768 }, sampleRate: output.sampleRate,
                               timings: [StageTiming(stage: "synthesis", seconds: seconds)], segments: output.segments.count,
                               timeToFirstAudio: seconds, totalSeconds: seconds, appliedControls: controls)
    }

    /// `outputs/YYYYMMDD_HHMMSS.<ext>` (local time), as IndexTTS names its outputs.
    static func defaultOutputPath(format: AudioFormat) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return "outputs/\(formatter.string(from: Date())).\(format.fileExtension)"
    }
}

/// `synth -o -`: encodes chunks as they arrive and writes them to standard output at once. Called from the synthesis
/// thread only (progress reports are sequential), then finished from the command's.
final class StandardOutputStream: @unchecked Sendable {
    // @unchecked: every access to the encoder and the counter holds `lock`.
    private let lock = NSLock()
    private let encoder: AudioEncoder
    private var written = 0
    private var failure: (any Error)?

    init(_ encoder: AudioEncoder) { self.encoder = encoder }

    var samplesWritten: Int { lock.withLock { written } }

    func write(_ samples: [Float]) {
        lock.withLock {
            guard failure == nil, !samples.isEmpty else { return }
            do {
                let bytes = try encoder.append(samples)
                written += samples.count
                if !bytes.isEmpty { FileHandle.standardOutput.write(Data(bytes)) }
            } catch { failure = error }
        }
    }

    func finish() throws {
        try lock.withLock {
            if let failure { throw failure }
            let tail = try encoder.finish()
            if !tail.isEmpty { FileHandle.standardOutput.write(Data(tail)) }
        }
    }
}
