// The release build of indextts is compiled for Haswell-class x86-64 (AVX2, FMA, F16C, BMI1/2; Package.swift's
// numeric settings), so any of its Swift code may execute those instructions. On an older CPU that would be an
// illegal-instruction crash with no explanation. This constructor runs before main (and before any Swift code of
// ours), is compiled for baseline x86-64, and instead prints which features are missing and exits with status 1.
// Debug builds are not compiled for Haswell and skip the check (INDEXTTS_REQUIRE_HASWELL is defined in release).
#include "indextts_startup.h"
#include "indextts_cpuinfo.h"
#include <stdio.h>
#include <unistd.h>

static int check_ran = 0;

int indextts_startup_check_ran(void) { return check_ran; }

__attribute__((constructor)) static void indextts_require_cpu_features(void) {
#if defined(INDEXTTS_REQUIRE_HASWELL) && defined(__x86_64__)
    const uint64_t required = indextts_cpu_required_features();
    const uint64_t missing = required & ~indextts_cpu_features();
    if (missing) {
        static const struct { uint64_t bit; const char *name; } names[] = {
            {INDEXTTS_CPU_AVX, "avx"}, {INDEXTTS_CPU_AVX2, "avx2"}, {INDEXTTS_CPU_FMA, "fma"},
            {INDEXTTS_CPU_F16C, "f16c"}, {INDEXTTS_CPU_BMI1, "bmi1"}, {INDEXTTS_CPU_BMI2, "bmi2"},
            {INDEXTTS_CPU_LZCNT, "lzcnt"}, {INDEXTTS_CPU_MOVBE, "movbe"}, {INDEXTTS_CPU_POPCNT, "popcnt"},
        };
        char brand[49];
        indextts_cpu_brand(brand);
        fprintf(stderr,
                "indextts: this build needs an x86-64 CPU with AVX2, FMA and F16C (Intel Haswell, AMD Excavator or "
                "newer, with the OS saving AVX state); %s lacks:",
                brand[0] ? brand : "this CPU");
        for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
            if (missing & names[i].bit) fprintf(stderr, " %s", names[i].name);
        fprintf(stderr, ".\nA debug build (swift build) runs on any x86-64 CPU, much more slowly.\n");
        _exit(1);
    }
#endif
    check_ran = 1;
}
