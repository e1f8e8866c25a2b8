import ArgumentParser
import Foundation
import IndexTTS
import IndexTTSJobs

/// `indextts voices …`: built-in voices and the voice library the server uses (`<data>/voices`).
struct VoicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voices", abstract: "Built-in voices, their licences, and the voice library.",
        subcommands: [List.self, Add.self, Delete.self, Analyze.self])

    struct Location: ParsableArguments {
        @Option(help: "Data folder whose voices/ holds the library (the server's --data).") var data = "data"
        var library: VoiceLibrary {
            VoiceLibrary(root: URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("voices"),
                         reserved: Set(["baker", "default"] + RequestResolver.openAIVoices))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the voices, whether their files are present, and the library.")
        @Option(help: "Model cache folder (default: $INDEXTTS_CACHE or ./cache_hub).") var cache: String?
        @OptionGroup var location: Location
        @Flag(help: "Print JSON.") var json = false

        struct Voice: Encodable {
            let id: String, engine: String, language: String, sampleRate: Int, installed: Bool, licence: String, note: String
        }

        struct Output: Encodable {
            let builtIn: [Voice]
            let library: [VoiceEntry]
            enum CodingKeys: String, CodingKey { case builtIn = "built_in", library }
        }

        func run() throws {
            let paths = ModelCache(root: cache)
            let missing = paths.missingDefaultVoiceFiles()
            let voices = [Voice(id: "baker", engine: "default", language: "zh (Mandarin)", sampleRate: 24000, installed: missing == nil,
                                licence: DefaultVoiceEngine.licence,
                                note: "prosody from emotion presets or a reference clip; no timbre cloning")]
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
                if let missing { print("  \(missing)") }
            }
            print("aliases: \(RequestResolver.openAIVoices.joined(separator: ", ")) (OpenAI's names, spoken by baker)")
            if library.isEmpty {
                print("library (\(location.library.root.path)): empty; add one with 'indextts voices add NAME CLIP'")
            } else {
                print("library (\(location.library.root.path)):")
                for e in library {
                    print(String(format: "  %@\t%.1f s\t%.0f Hz\t%.1f syllables/s\t%.1f LUFS%@", e.name, e.seconds, e.pitchHz,
                                 e.syllablesPerSecond, e.loudnessDB, e.description.map { "\t" + $0 } ?? ""))
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

        func run() throws {
            guard let data = FileManager.default.contents(atPath: clip) else { throw ValidationError("cannot read \(clip)") }
            let entry = try location.library.add(name: name, audio: [UInt8](data), fileName: clip, description: description)
            print(String(format: "added %@: %.1f s, %.0f Hz mean pitch, %.1f syllables/s", entry.name, entry.seconds,
                         entry.pitchHz, entry.syllablesPerSecond))
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
