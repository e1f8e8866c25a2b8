import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import IndexTTSModels
import IndexTTSServer
import IndexTTSText
import IndexTTSWeights
import Yams

/// One fuzz harness per input surface the program reads from outside: uploads, request bodies, batch files and the
/// model files users point it at. Each takes arbitrary bytes and must only ever return or throw — a trap, an
/// out-of-bounds access, a leak-free hang or an unbounded allocation is a bug in the parser it drives.
///
/// The same entry points serve the libFuzzer executable (`Sources/indextts-fuzz`, built by `tools/fuzz/run.sh`)
/// and the regression replay in `Tests/IndexTTSFuzzingTests`, which runs every input committed under
/// `Tests/Fixtures/fuzz-regressions/<harness>/` without a fuzzer.
public enum FuzzHarness: String, CaseIterable, Sendable {
    /// WAV/FLAC/MP3/Ogg (libsndfile) and ADTS AAC (libavcodec) decoding from memory, as uploads are decoded.
    case audio
    /// A `multipart/form-data` body of `/v1/tts` / `/v1/jobs` (fields and clips; clips are then decoded).
    case multipart
    /// The JSON body of `POST /v1/audio/speech`.
    case openAISpeech = "openai-speech"
    /// The JSON body of `POST /v1/tts`.
    case tts
    /// The JSON body of `POST /v1/jobs` (lists of texts allowed).
    case jobs
    /// Lines of an `indextts batch` JSONL file.
    case batch
    /// A `torch.save` ZIP checkpoint: central directory, `data.pkl` unpickling, storages, tensor views.
    case pytorch
    case safetensors
    /// TFLite flatbuffers.
    case tflite
    /// A SentencePiece `ModelProto` (`bpe.model`), then encoding a fixed text with it.
    case sentencepiece
    /// An OpenFst `vector`/`standard` grammar file, then rewriting a fixed text with it as a tagger.
    case fst
    /// IndexTTS2's `config.yaml` (the three sections this port reads) and a reading glossary (YAML).
    case configYAML = "config-yaml"
    /// The text front end: normalise → tokenise → segment, on arbitrary bytes (invalid UTF-8 included).
    case text

    /// Largest input the harness gives its parser (bigger inputs are cut): the fuzzer's `-max_len` is set per
    /// harness by tools/fuzz/run.sh; this bounds what a replay may cost.
    public static let maximumInputBytes = 1 << 20

    /// Runs the harness once on `data`.
    public func run(_ data: [UInt8]) throws {
        let data = data.count > Self.maximumInputBytes ? Array(data.prefix(Self.maximumInputBytes)) : data
        switch self {
        case .audio:
            _ = try AudioDecoder.decode(bytes: data, name: "fuzz.wav")
        case .multipart:
            let parsed = try RequestParsing.nativeSpeech(
                body: data, contentType: "multipart/form-data; boundary=fuzz", allowList: true)
            for clip in [parsed.speakerClip, parsed.emotionClip].compactMap({ $0 }) where !clip.bytes.isEmpty {
                _ = try? AudioDecoder.decode(bytes: clip.bytes, name: clip.fileName, requireSound: true)
            }
        case .openAISpeech:
            _ = try RequestParsing.openAISpeech(body: data, modelNames: ["tts-1", "indextts2"])
        case .tts:
            _ = try RequestParsing.nativeSpeech(body: data, contentType: "application/json", allowList: false)
        case .jobs:
            _ = try RequestParsing.nativeSpeech(body: data, contentType: "application/json", allowList: true).parameters()
        case .batch:
            let base = URL(fileURLWithPath: "/nonexistent/batch")
            for raw in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                if line.isEmpty || line.hasPrefix("#") { continue }
                _ = try? BatchLine.read(line, base: base, defaultFormat: .wav)
            }
        case .pytorch:
            let file = MappedFile(bytes: data, name: "fuzz.pth")
            try Self.loadAll(try PyTorchCheckpointReader.read(file).entries)
        case .safetensors:
            let file = MappedFile(bytes: data, name: "fuzz.safetensors")
            try Self.loadAll(try SafeTensorsReader.read(file).entries)
        case .tflite:
            let file = MappedFile(bytes: data, name: "fuzz.tflite")
            try Self.loadAll(try TFLiteReader.read(file).entries)
        case .sentencepiece:
            let model = try SentencePieceModel(serializedBytes: data, name: "fuzz.model")
            let tokenizer = IndexTTSTokenizer(model: model)
            let ids = tokenizer.encode("Hello, WORLD 你好 123 ¥ é\u{301}")
            _ = model.decode(ids)
        case .fst:
            let fst = try StdVectorFST(data: Data(data))
            let normalizer = WeTextNormalizer(language: .english, tagger: fst, verbalizer: nil)
            _ = try? normalizer.normalize("ab 12")
        case .configYAML:
            let text = String(decoding: data, as: UTF8.self)
            // As the model folder and the pipeline read it: composed once (expansion bound checked), the top-level
            // names and lists, then each section; and as a reading glossary.
            if let document = try? ConfigYAMLDocument(yaml: text, source: "fuzz.yaml") {
                let values = document.values
                for key in ["gpt_checkpoint", "s2mel_checkpoint", "w2v_stat", "emo_matrix", "spk_matrix", "qwen_emo_path"] {
                    _ = values?[key] as? String
                }
                _ = (values?["dataset"] as? [String: Any])?["bpe_model"] as? String
                _ = values?["emo_num"] as? [Int]
                _ = values?["campplus"] as? [String: Any]
                _ = try? document.section(UnifiedVoiceConfiguration.self)
                _ = try? document.section(S2MConfiguration.self)
                _ = try? document.section(SemanticCodecConfiguration.self)
            }
            _ = try Glossary.parse(yaml: text, source: "fuzz.yaml")
        case .text:
            // First byte: reading mode and segment length; the rest is the text, decoded as the server decodes
            // bodies (invalid sequences become U+FFFD).
            guard let first = data.first else { return }
            let front = try FuzzResources.textFrontEnd()
            var normalizer = front.normalizer
            normalizer.readings = first & 1 == 0 ? .corrected : .upstream
            let text = String(decoding: data.dropFirst(), as: UTF8.self)
            let pieces = front.tokenizer.tokenize(normalizer.normalize(text))
            let segmenter = try TextSegmenter(maxTokensPerSegment: 2 + Int(first >> 1))
            for range in segmenter.segments(pieces) {
                guard range.lowerBound >= 0, range.upperBound <= pieces.count else {
                    throw FuzzFailure("segment \(range) outside \(pieces.count) pieces")
                }
            }
        }
    }

    /// Converts every tensor a reader accepted (small ones: an accepted entry is already bounded by the file size,
    /// but a strided view may widen it).
    static func loadAll(_ entries: [TensorEntry]) throws {
        for entry in entries where entry.elementCount <= 1 << 20 {
            _ = try entry.load()
        }
    }

    /// Committed inputs that once crashed or hung a harness, replayed by `swift test`.
    public var regressionPath: String { "Tests/Fixtures/fuzz-regressions/\(rawValue)" }
}

/// A harness found an output that breaks an invariant (a bug, reported like a crash by the fuzzer).
public struct FuzzFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Resources the harnesses load once per process.
public enum FuzzResources {
    /// The repository root (this file is Sources/IndexTTSFuzzing/FuzzHarness.swift), or `INDEXTTS_REPO`.
    public static var repositoryRoot: URL {
        if let root = ProcessInfo.processInfo.environment["INDEXTTS_REPO"] { return URL(fileURLWithPath: root) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    struct TextFrontEnd: @unchecked Sendable {
        let normalizer: IndexTTSTextNormalizer
        let tokenizer: IndexTTSTokenizer
    }

    private static let frontEnd = Result<TextFrontEnd, any Error>(catching: {
        let tokenizer = try IndexTTSTokenizer(modelPath: repositoryRoot.appendingPathComponent("Tests/Fixtures/text/bpe_cjk.model").path)
        // With INDEXTTS_FUZZ_GRAMMARS (the WeTextProcessing grammar folder) the whole upstream pipeline; without it
        // IndexTTS2's rules and the reading layer only (the grammars take seconds to load: not in unit tests).
        let normalizer: IndexTTSTextNormalizer
        if let grammars = ProcessInfo.processInfo.environment["INDEXTTS_FUZZ_GRAMMARS"], !grammars.isEmpty {
            normalizer = try IndexTTSTextNormalizer.weText(directory: grammars)
        } else {
            normalizer = IndexTTSTextNormalizer(chinese: { $0 }, english: { $0 })
        }
        return TextFrontEnd(normalizer: normalizer, tokenizer: tokenizer)
    })

    static func textFrontEnd() throws -> TextFrontEnd { try frontEnd.get() }
}
