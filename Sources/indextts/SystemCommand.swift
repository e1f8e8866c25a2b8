import ArgumentParser
import Foundation
import IndexTTSTensor

/// `indextts system`: what the compute core runs on — CPU and instruction sets, the OpenBLAS core in use and how it
/// was chosen, thread counts. The same lines head every `indextts bench` report and `serve`'s start-up log.
struct SystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system",
        abstract: "Show the CPU, its instruction sets, the OpenBLAS kernels in use and thread counts.",
        discussion: """
            indextts re-executes itself once at start-up with OPENBLAS_CORETYPE set when OpenBLAS fell back to \
            generic kernels on a CPU it does not recognise (Debian's 0.3.21 picks Prescott on recent Intel Xeons); \
            a value you set yourself always wins, and INDEXTTS_NO_REEXEC=1 turns the re-exec off.
            """)

    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let environment = ComputeEnvironment.current()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(environment), as: UTF8.self))
        } else {
            environment.lines.forEach { print($0) }
        }
    }
}
