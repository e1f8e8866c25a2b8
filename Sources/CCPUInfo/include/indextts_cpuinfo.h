// CPU identification through CPUID (x86-64) for IndexTTS-Swift: which instruction sets the CPU has *and* the
// operating system has enabled (XSAVE state for YMM/ZMM/AMX registers), the vendor and the brand string.
// Compiled without -target-cpu flags, so it runs on any x86-64 CPU; on other architectures every query reports
// nothing.
#ifndef INDEXTTS_CPUINFO_H
#define INDEXTTS_CPUINFO_H

#include <stdint.h>

/// Bits of indextts_cpu_features(). Each is set only when the CPU reports the feature and, for the AVX families,
/// the OS saves the register state it needs.
#define INDEXTTS_CPU_SSE3 0x1ull
#define INDEXTTS_CPU_SSSE3 0x2ull
#define INDEXTTS_CPU_SSE41 0x4ull
#define INDEXTTS_CPU_SSE42 0x8ull
#define INDEXTTS_CPU_POPCNT 0x10ull
#define INDEXTTS_CPU_AVX 0x20ull
#define INDEXTTS_CPU_F16C 0x40ull
#define INDEXTTS_CPU_FMA 0x80ull
#define INDEXTTS_CPU_AVX2 0x100ull
#define INDEXTTS_CPU_BMI1 0x200ull
#define INDEXTTS_CPU_BMI2 0x400ull
#define INDEXTTS_CPU_LZCNT 0x800ull
#define INDEXTTS_CPU_MOVBE 0x1000ull
#define INDEXTTS_CPU_AVX512F 0x2000ull
#define INDEXTTS_CPU_AVX512DQ 0x4000ull
#define INDEXTTS_CPU_AVX512CD 0x8000ull
#define INDEXTTS_CPU_AVX512BW 0x10000ull
#define INDEXTTS_CPU_AVX512VL 0x20000ull
#define INDEXTTS_CPU_AVX512VNNI 0x40000ull
#define INDEXTTS_CPU_AVX512BF16 0x80000ull
#define INDEXTTS_CPU_AVX512FP16 0x100000ull
#define INDEXTTS_CPU_AMXTILE 0x200000ull
#define INDEXTTS_CPU_AMXBF16 0x400000ull
#define INDEXTTS_CPU_AMXINT8 0x800000ull
#define INDEXTTS_CPU_AVXVNNI 0x1000000ull

/// The feature bits above (0 on non-x86 machines).
uint64_t indextts_cpu_features(void);

/// The CPUID vendor string ("GenuineIntel", "AuthenticAMD", ...) into `buffer` (at least 13 bytes); "" when unknown.
void indextts_cpu_vendor(char *buffer);

/// The CPUID brand string ("Intel(R) Xeon(R) Platinum 8480+", ...) into `buffer` (at least 49 bytes), leading
/// spaces removed; "" when the CPU has none.
void indextts_cpu_brand(char *buffer);

/// Family and model as CPUID reports them (extended fields folded in); 0 on non-x86 machines.
uint32_t indextts_cpu_family(void);
uint32_t indextts_cpu_model(void);

/// The features this project's release binary is compiled for (Swift's `-target-cpu haswell`): AVX, AVX2, FMA, F16C,
/// BMI1/2, LZCNT, MOVBE, POPCNT.
uint64_t indextts_cpu_required_features(void);

#endif
