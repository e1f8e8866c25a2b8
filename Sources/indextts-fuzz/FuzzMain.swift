import Foundation
import IndexTTSFuzzing

// Two builds of one file:
// - Normal `swift build`: a replay tool, `indextts-fuzz <harness> FILE|DIR…`, that runs a harness on saved inputs
//   (a crash artefact, a corpus) without libFuzzer and prints what each input gave.
// - tools/fuzz/run.sh builds it with `-sanitize=fuzzer,address -D INDEXTTS_LIBFUZZER`: libFuzzer's own `main` drives
//   `LLVMFuzzerTestOneInput`, and the harness is chosen with the environment variable INDEXTTS_FUZZ_HARNESS.

#if INDEXTTS_LIBFUZZER
nonisolated(unsafe) private var selected: FuzzHarness?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    if selected == nil {
        let name = ProcessInfo.processInfo.environment["INDEXTTS_FUZZ_HARNESS"] ?? ""
        guard let harness = FuzzHarness(rawValue: name) else {
            FileHandle.standardError.write(Data("set INDEXTTS_FUZZ_HARNESS to one of \(FuzzHarness.allCases.map(\.rawValue))\n".utf8))
            exit(2)
        }
        selected = harness
    }
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    do { try selected!.run(bytes) } catch is FuzzFailure {
        // An invariant broke: report it as the crash it is.
        fatalError("fuzz harness \(selected!.rawValue): invariant broken")
    } catch {
        // Typed errors are the expected outcome of hostile input.
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>,
                       _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable target's entry point as `<module>_main` (aliased to `main`), so the fuzz build
/// defines that symbol and hands control to libFuzzer's driver.
@_cdecl("indextts_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments, fuzzOneInput)
}
#else
@main
struct FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let harness = FuzzHarness(rawValue: name), arguments.count >= 2 else {
            print("usage: indextts-fuzz <harness> FILE|DIR...   harnesses: \(FuzzHarness.allCases.map(\.rawValue).joined(separator: ", "))")
            exit(2)
        }
        var files: [String] = []
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        var failures = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { print("\(file): unreadable"); continue }
            let start = Date()
            do {
                try harness.run([UInt8](data))
                print("\(file): accepted (\(String(format: "%.3f", Date().timeIntervalSince(start))) s)")
            } catch let failure as FuzzFailure {
                failures += 1
                print("\(file): FAILED: \(failure)")
            } catch {
                print("\(file): rejected (\(String(format: "%.3f", Date().timeIntervalSince(start))) s): \(error)")
            }
        }
        exit(failures == 0 ? 0 : 1)
    }
}
#endif
