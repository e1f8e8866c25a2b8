#if canImport(Glibc)
import Glibc

/// glibc's `int mallopt(int param, int value)` (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt") private func mallopt(_ param: Int32, _ value: Int32) -> Int32
private let M_TRIM_THRESHOLD: Int32 = -1, M_TOP_PAD: Int32 = -2, M_MMAP_THRESHOLD: Int32 = -3
#endif

/// Process-wide malloc settings for synthesis. Tensors are large and short-lived; with glibc's defaults every one
/// above the (dynamic) mmap threshold is a fresh mapping whose pages fault in on first touch and are unmapped on
/// free. Keeping them in the heap cut the default voice's vocoder time by 10–20 % (docs/BENCHMARKS.md) for about
/// 60 MB more peak memory. `MALLOC_*_` environment variables, when set, win.
enum AllocatorTuning {
    static func apply() {
        #if canImport(Glibc)
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = mallopt(M_MMAP_THRESHOLD, 256 << 20) }
        if getenv("MALLOC_TRIM_THRESHOLD_") == nil { _ = mallopt(M_TRIM_THRESHOLD, 512 << 20) }
        if getenv("MALLOC_TOP_PAD_") == nil { _ = mallopt(M_TOP_PAD, 64 << 20) }
        #endif
    }
}
