import ArgumentParser

/// `indextts`: the command-line entry point. Library errors arrive as typed errors whose descriptions name the
/// file, key or shape at fault; ArgumentParser prints them and exits non-zero.
@main
struct IndexTTSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indextts",
        abstract: "IndexTTS-Swift: native text-to-speech — IndexTTS2 from its official model folder (--model-dir), or the embedded Mandarin default voice.",
        version: "0.1.0",
        subcommands: [SynthCommand.self, ServeCommand.self, BatchCommand.self, VoicesCommand.self, TextCommand.self, AudioCommand.self, ModelsCommand.self, BenchCommand.self, SystemCommand.self, EmotionCommand.self]
    )

    static func main() async {
        BLASStartupTuning.apply()
        await main(nil)
    }
}
