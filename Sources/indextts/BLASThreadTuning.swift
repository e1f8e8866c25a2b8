#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS's idle-thread policy for this process. After each BLAS call its worker threads spin (yielding) for
/// 2^28 cycles, about 0.1 s, before they sleep; our own kernels (BigVGAN's anti-aliased activations, element-wise
/// ops) run on the same cores in between and lose that time to the spinning threads. 2^18 cycles (≈ 0.1 ms) keeps
/// the workers warm between back-to-back GEMMs yet lets them sleep during our kernels: BigVGAN 2 s of audio
/// 3.5 → 2.9 s on 2 cores, GPT prefill/decode unchanged (docs/BENCHMARKS.md).
///
/// OpenBLAS reads `OPENBLAS_THREAD_TIMEOUT` in its library constructor, before `main`, so the only way to set it
/// for this process is to set the variable and exec the binary again (same PID, arguments, environment and open
/// files). It is left alone when the user set the variable (any value), when `INDEXTTS_NO_REEXEC` is set, and when
/// `/proc/self/exe` is not this program (started through the dynamic loader or under valgrind); if the exec fails the
/// program simply continues with OpenBLAS's default. The variable being set afterwards is what stops a second exec.
enum BLASThreadTuning {
    static let variable = "OPENBLAS_THREAD_TIMEOUT"
    static let value = "18"

    static func apply() {
        #if os(Linux)
        guard getenv(variable) == nil, getenv("INDEXTTS_NO_REEXEC") == nil, isOwnExecutable() else { return }
        guard setenv(variable, value, 1) == 0 else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        #endif
    }

    /// Whether `/proc/self/exe` is the program named by `argv[0]` (same file name), so that exec'ing it with the
    /// same arguments runs this program again rather than a loader or an instrumentation tool.
    static func isOwnExecutable() -> Bool {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0, let first = CommandLine.arguments.first else { return false }
        let exe = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        func name(_ path: String) -> Substring { path.split(separator: "/").last ?? Substring(path) }
        return name(exe) == name(first)
        #else
        return false
        #endif
    }
}
