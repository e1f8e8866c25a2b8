import ArgumentParser

/// `indextts`: the command-line entry point. Library errors arrive as typed errors whose descriptions name the
/// file, key or shape at fault; ArgumentParser prints them and exits non-zero.
@main
struct IndexTTSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indextts",
        abstract: "IndexTTS-Swift: native IndexTTS2 text-to-speech (engine in progress; see README).",
        version: "0.1.0",
        subcommands: [TextCommand.self, AudioCommand.self, ModelsCommand.self, BenchCommand.self]
    )
}
