import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSWeights

/// `indextts synth`: text to a sound file with the embedded default voice.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Synthesise speech with the embedded default voice (Mandarin, 24 kHz), or with IndexTTS2 (--model-dir).",
        discussion: """
            The default voice speaks Chinese out of the box (run scripts/fetch-default-voice.sh or ./start_app.sh once \
            to fetch it into cache_hub/). Emotion presets and --ref-audio steer its prosody — pitch level and range, \
            speaking rate, energy — but do not clone a speaker's timbre: zero-shot voice cloning is the IndexTTS2 \
            engine's job, once its checkpoints are in place.
            Presets: \(EmotionPreset.all.map { "\($0.id) (\($0.label))" }.joined(separator: ", ")).
            Voice licence: \(DefaultVoiceEngine.licence)
            """)

    @Option(name: .shortAndLong, help: "Text to speak.") var text: String?
    @Option(help: "Read the text from a UTF-8 file.") var textFile: String?
    @Option(help: "Voice (built-in: baker).") var voice: String?
    @Option(help: "Emotion preset, English id or Chinese label (e.g. happy, 悲伤).") var emotion: String?
    @Option(help: "Preset strength, 0…1.") var emotionStrength = 1.0
    @Option(help: "IndexTTS2's 8 emotion weights: happy,angry,sad,afraid,disgusted,melancholic,surprised,calm.")
    var emotionVector: String?
    @Option(help: "Describe the emotion in words (mapped onto the presets it names).") var emotionText: String?
    @Option(help: "Reference clip whose prosody (pitch, rate, energy) the voice follows.") var refAudio: String?
    @Option(help: "Emotion reference clip (prosody), weighted by --emotion-weight.") var emotionAudio: String?
    @Option(help: "Weight of --emotion-audio, 0…1.") var emotionWeight = 1.0
    @Option(help: "Speaking speed, 0.25…4.0 (1 is normal).") var speed = 1.0
    @Option(help: "Output format: wav, mp3, opus, aac, flac or pcm (default: from -o, else wav).") var format: String?
    @Option(name: .shortAndLong, help: "Output file (default outputs/YYYYMMDD_HHMMSS.<format>).") var output: String?
    @Option(help: "Model cache folder (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?
    @Option(help: "IndexTTS2 model folder (checkpoints/ with config.yaml and hf_cache/): speak with IndexTTS2, cloning --ref-audio.")
    var modelDir: String?
    @Option(help: "IndexTTS2: top-k (upstream default 30).") var topK: Int?
    @Option(help: "IndexTTS2: top-p (0.8).") var topP: Float?
    @Option(help: "IndexTTS2: temperature (0.8).") var temperature: Float?
    @Option(help: "IndexTTS2: beams (3).") var numBeams: Int?
    @Option(help: "IndexTTS2: repetition penalty (10).") var repetitionPenalty: Float?
    @Option(help: "IndexTTS2: length penalty (0).") var lengthPenalty: Float?
    @Option(help: "IndexTTS2: most semantic codes per segment (1500).") var maxMelTokens: Int?
    @Option(help: "IndexTTS2: text tokens per segment (120).") var maxTextTokensPerSegment: Int?
    @Option(help: "IndexTTS2: CFM steps (25).") var diffusionSteps: Int?
    @Option(help: "IndexTTS2: classifier-free guidance rate (0.7).") var inferenceCfgRate: Double?
    @Option(help: "IndexTTS2: seed of the code sampler and the CFM noise.") var seed: UInt64?
    @Option(help: "IndexTTS2: write every intermediate tensor under upstream's names to this safetensors file.")
    var dumpStages: String?
    @Option(help: "IndexTTS2: take the CFM start noise from this safetensors file (tensors cfm_noise, cfm_noise@1, …).")
    var cfmNoise: String?
    @Flag(name: .shortAndLong, help: "Print per-stage timings, real-time factor and the prosody controls used.") var verbose = false

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
        var request = SynthesisRequest(text: text, voice: voice, speed: speed)
        if let emotion { request.emotion = .preset(emotion, strength: emotionStrength) }
        if let emotionVector {
            let values = emotionVector.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.allSatisfy({ $0 != nil }) else { throw ValidationError("--emotion-vector: 8 comma-separated numbers") }
            request.emotion = .vector(values.map { $0! })
        }
        if let emotionText { request.emotion = .text(emotionText) }
        if let emotionAudio {
            let clip = try AudioDecoder.decode(path: emotionAudio, requireSound: true)
            request.emotion = .referenceAudio(samples: clip.samples, sampleRate: clip.sampleRate, weight: emotionWeight)
        }
        if let refAudio {
            let clip = try AudioDecoder.decode(path: refAudio, requireSound: true)
            request.referenceAudio = (clip.samples, clip.sampleRate)
        }
        if let modelDir {
            try runIndexTTS2(modelDir: modelDir, request: request, outputFormat: outputFormat)
            return
        }
        if dumpStages != nil || cfmNoise != nil { throw ValidationError("--dump-stages and --cfm-noise need --model-dir") }
        let loadStart = Date()
        let engine = try DefaultVoiceEngine.load(cache: ModelCache(root: cache))
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let interactive = isatty(STDERR_FILENO) != 0
        let result = try engine.synthesize(request) { p in
            guard p.totalSegments > 1 else { return }
            let width = 30, done = width * p.completedSegments / p.totalSegments
            let bar = String(repeating: "█", count: done) + String(repeating: "░", count: width - done)
            let line = "\(bar) \(p.completedSegments)/\(p.totalSegments) segments, \(String(format: "%.1f", p.audioSeconds)) s of audio"
            FileHandle.standardError.write(Data((interactive ? "\r" + line : line + "\n").utf8))
        }
        if interactive && result.segments > 1 { FileHandle.standardError.write(Data("\n".utf8)) }
        let path = output ?? Self.defaultOutputPath(format: outputFormat)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let bytes = try AudioEncoder.encode(result.samples, sampleRate: result.sampleRate, format: outputFormat)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ValidationError("cannot write \(path)")
        }
        print("wrote \(path): \(String(format: "%.2f", result.audioSeconds)) s, \(outputFormat.rawValue), \(result.sampleRate) Hz")
        if verbose {
            print(String(format: "model load: %.3f s", loadSeconds))
            for t in result.timings { print(String(format: "%@: %.3f s", t.stage, t.seconds)) }
            print(String(format: "total: %.3f s, time to first audio: %.3f s, real-time factor: %.3f (%d segments)",
                         result.totalSeconds, result.timeToFirstAudio, result.realTimeFactor, result.segments))
            print("controls: " + result.appliedControls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }

    /// IndexTTS2 on `modelDir`: upstream's sampling defaults unless given, optional stage dump and start noise.
    func runIndexTTS2(modelDir: String, request: SynthesisRequest, outputFormat: AudioFormat) throws {
        let loadStart = Date()
        var engine = try IndexTTS2Engine.load(modelDirectory: modelDir, cache: ModelCache(root: cache))
        let loadSeconds = Date().timeIntervalSince(loadStart)
        if let topK { engine.sampling.topK = topK }
        if let topP { engine.sampling.topP = topP }
        if let temperature { engine.sampling.temperature = temperature }
        if let numBeams { engine.sampling.numBeams = numBeams }
        if let repetitionPenalty { engine.sampling.repetitionPenalty = repetitionPenalty }
        if let lengthPenalty { engine.sampling.lengthPenalty = lengthPenalty }
        if let maxMelTokens { engine.sampling.maxMelTokens = maxMelTokens }
        if let diffusionSteps { engine.sampling.diffusionSteps = diffusionSteps }
        if let inferenceCfgRate { engine.sampling.inferenceCfgRate = inferenceCfgRate }
        if let maxTextTokensPerSegment { engine.maxTextTokensPerSegment = maxTextTokensPerSegment }
        var synthesisRequest = request
        if let seed { synthesisRequest.seed = seed }
        var pipelineRequest = try engine.pipelineRequest(for: synthesisRequest)
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
            FileHandle.standardError.write(Data("segment \(p.completedSegments)/\(p.totalSegments)\n".utf8))
        }
        let seconds = Date().timeIntervalSince(start)
        for warning in output.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        if let dumpStages {
            try SafeTensorsWriter.write(output.stages, metadata: ["engine": "indextts2"], to: dumpStages)
            print("wrote \(output.stages.count) stages to \(dumpStages)")
        }
        let path = output.samples.isEmpty ? nil : (self.output ?? Self.defaultOutputPath(format: outputFormat))
        guard let path else { return }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let bytes = try AudioEncoder.encode(output.samples.map { $0 / 32768 }, sampleRate: output.sampleRate, format: outputFormat)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw ValidationError("cannot write \(path)") }
        let audioSeconds = Double(output.samples.count) / Double(output.sampleRate)
        print("wrote \(path): \(String(format: "%.2f", audioSeconds)) s, \(outputFormat.rawValue), \(output.sampleRate) Hz")
        if verbose {
            print(String(format: "model load: %.3f s, synthesis: %.3f s, real-time factor: %.3f (%d segments)",
                         loadSeconds, seconds, audioSeconds > 0 ? seconds / audioSeconds : 0, output.segments.count))
            for (k, segment) in output.segments.enumerated() {
                print("segment \(k): \(segment.textTokens.count) tokens, \(segment.codes.count) codes, \(segment.stop.rawValue)")
            }
        }
    }

    /// `outputs/YYYYMMDD_HHMMSS.<ext>` (local time), as IndexTTS names its outputs.
    static func defaultOutputPath(format: AudioFormat) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return "outputs/\(formatter.string(from: Date())).\(format.fileExtension)"
    }
}
