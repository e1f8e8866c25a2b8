import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSJobs

/// `indextts voices …`: built-in voices and the voice library the server uses (`<data>/voices`).
struct VoicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voices", abstract: "Built-in voices, their licences, and the voice library.",
        // Subcommands defined in other files are added here, one entry each.
        subcommands: [List.self, Add.self, Delete.self, Analyze.self])

    struct Location: ParsableArguments {
        @Option(help: "Data folder whose voices/ holds the library (the server's --data).") var data = "data"
        /// The library, with the names `engine` reserves (all built-in names when no engine is given).
        func library(for engine: EngineInfo? = nil) -> VoiceLibrary {
            VoiceLibrary(root: URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("voices"),
                         reserved: engine.map(RequestResolver.reservedNames(for:)) ?? Set(["baker", "default"] + RequestResolver.openAIVoices))
        }
        var library: VoiceLibrary { library() }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the voices, whether their files are present, and the library.")
        @OptionGroup var engineOptions: EngineOptions
        @OptionGroup var location: Location
        @Flag(help: "Print JSON.") var json = false

        struct Voice: Encodable {
            let id: String, engine: String, language: String, sampleRate: Int, installed: Bool, licence: String, note: String
            var missing: String? = nil
        }

        struct Output: Encodable {
            let builtIn: [Voice]
            let library: [VoiceEntry]
            enum CodingKeys: String, CodingKey { case builtIn = "built_in", library }
        }

        func run() throws {
            let paths = engineOptions.modelCache
            let missing = paths.missingDefaultVoiceFiles()
            var englishMissing = paths.missingEnglishVoiceFiles()
            if englishMissing == nil { englishMissing = EnglishVoice.espeakProblem() }
            let voices = [Voice(id: "baker", engine: "default", language: "zh (Mandarin)", sampleRate: 24000, installed: missing == nil,
                                licence: DefaultVoiceEngine.licence,
                                note: "prosody from emotion presets or a reference clip; no timbre cloning", missing: missing),
                          Voice(id: EnglishVoice.id, engine: "default", language: "en (US English)", sampleRate: 22050,
                                installed: englishMissing == nil, licence: EnglishVoice.licence,
                                note: "Piper VITS run natively, espeak-ng phonemes; English sentences are routed to it unless voice=baker; presets change length_scale, noise scales and gain only",
                                missing: englishMissing)]
            let library = try location.library.list()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                print(String(decoding: try encoder.encode(Output(builtIn: voices, library: library)), as: UTF8.self))
                return
            }
            for v in voices {
                print("\(v.id)\t\(v.engine)\t\(v.language)\t\(v.sampleRate) Hz\t\(v.installed ? "installed" : "not installed")")
                print("  licence: \(v.licence)")
                print("  \(v.note)")
                if let missing = v.missing { print("  \(missing)") }
            }
            print("auto: routes each sentence by language (Chinese → baker, English → \(EnglishVoice.id)); "
                + "aliases: default, \(RequestResolver.openAIVoices.joined(separator: ", ")) (OpenAI's names) speak as auto")
            if library.isEmpty {
                print("library (\(location.library.root.path)): empty; add one with 'indextts voices add NAME CLIP'")
            } else {
                print("library (\(location.library.root.path)):")
                for e in library {
                    var line = String(format: "  %@\t%.1f s", e.name, e.seconds)
                    if let pitch = e.pitchHz, let rate = e.syllablesPerSecond, let loudness = e.loudnessDB {
                        line += String(format: "\t%.0f Hz\t%.1f syllables/s\t%.1f LUFS", pitch, rate, loudness)
                    }
                    line += "\tconditioning: " + ((e.conditioning ?? []).isEmpty ? "none" : e.conditioning!.joined(separator: ", "))
                    print(line + (e.description.map { "\t" + $0 } ?? ""))
                }
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a reference clip to the library under a name (usable as 'voice' in synth requests and the API).")
        @Argument(help: "Name: letters, digits, '_' or '-', 1–64 characters.") var name: String
        @Argument(help: "Reference clip, 1–60 s (wav, flac, mp3, ogg, opus, aac).") var clip: String
        @Option(help: "A note stored with the voice (who speaks, licence of the recording).") var description: String?
        @OptionGroup var location: Location
        @OptionGroup var engineOptions: EngineOptions

        func run() throws {
            guard let data = FileManager.default.contents(atPath: clip) else { throw ValidationError("cannot read \(clip)") }
            // The engine analyses the clip once; its conditioning is stored with the voice.
            let loaded = try engineOptions.load()
            FileHandle.standardError.write(Data("engine: \(loaded.selection.reason)\n".utf8))
            let entry = try location.library(for: loaded.engine.info).add(name: name, audio: [UInt8](data), fileName: clip,
                                                                          description: description, engine: loaded.engine)
            var line = String(format: "added %@: %.1f s", entry.name, entry.seconds)
            if let pitch = entry.pitchHz, let rate = entry.syllablesPerSecond {
                line += String(format: ", %.0f Hz mean pitch, %.1f syllables/s", pitch, rate)
            }
            let stored = entry.conditioning ?? []
            line += stored.isEmpty ? "; no stored conditioning (\(loaded.engine.info.name) analyses the clip per request)"
                : "; conditioning stored for \(stored.joined(separator: ", "))"
            print(line)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a voice from the library.")
        @Argument(help: "Name of the library voice.") var name: String
        @OptionGroup var location: Location

        func run() throws {
            try location.library.delete(name)
            print("deleted \(name)")
        }
    }
}
