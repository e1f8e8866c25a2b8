#if canImport(Glibc)
import Glibc
#endif
import IndexTTSTensor

/// OpenBLAS settings that have to be in the environment before the library loads, applied by re-executing the binary
/// once (same PID, arguments, environment and open files) with the variables set:
///
/// - `OPENBLAS_THREAD_TIMEOUT=18`: after each BLAS call OpenBLAS's worker threads spin (yielding) for 2^28 cycles,
///   about 0.1 s, before they sleep; our own kernels (BigVGAN's anti-aliased activations, element-wise ops) run on
///   the same cores in between and lose that time to the spinning threads. 2^18 cycles (≈ 0.1 ms) keeps the workers
///   warm between back-to-back GEMMs yet lets them sleep during our kernels: BigVGAN 2 s of audio 3.5 → 2.9 s on 2
///   cores, GPT prefill/decode unchanged (docs/BENCHMARKS.md).
/// - `OPENBLAS_CORETYPE`: Debian's OpenBLAS 0.3.21 does not recognise CPUs newer than itself and falls back to its
///   generic Prescott (SSE3) kernels, 4–5× slower on an AVX-512 Xeon. When the core OpenBLAS chose has a narrower
///   vector class than the CPU supports, the binary runs with the matching core instead
///   (``BLASCoreAdvisor/startupChanges(environment:detectedCore:configuration:cpu:)``) and records what OpenBLAS had detected in
///   `INDEXTTS_BLAS_CORE_DETECTED` for the reports (`indextts system`, `bench ops`, `serve`'s log, `/metrics`).
///
/// OpenBLAS reads both in its library constructor, before `main`, which is why an exec is needed. A variable the user
/// set (any value) is never changed; nothing happens when `INDEXTTS_NO_REEXEC` is set or when `/proc/self/exe` is
/// not this program (started through the dynamic loader or under valgrind); if the exec fails the program continues
/// with OpenBLAS's defaults. The variables being set afterwards is what stops a second exec.
enum BLASStartupTuning {
    static func apply() {
        #if os(Linux)
        let detected = ComputeEnvironment.current()
        let changes = BLASCoreAdvisor.startupChanges(
            environment: { getenv($0).map { String(cString: $0) } }, detectedCore: detected.blasCore,
            configuration: detected.blasConfiguration, cpu: detected.cpu)
        guard !changes.isEmpty, isOwnExecutable() else { return }
        for (name, value) in changes {
            guard setenv(name, value, 1) == 0 else { return }
        }
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
