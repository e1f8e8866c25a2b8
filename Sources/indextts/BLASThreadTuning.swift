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
/// for this process is to set the variable and exec the binary again (same PID, same arguments). A value the user
/// set wins; when the re-exec fails the program simply continues with OpenBLAS's default.
enum BLASThreadTuning {
    static let variable = "OPENBLAS_THREAD_TIMEOUT"
    static let value = "18"

    static func apply() {
        #if os(Linux)
        guard getenv(variable) == nil else { return }
        setenv(variable, value, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when exec failed: carry on with the default policy (the variable now set is harmless).
        #endif
    }
}
