#include "indextts_cpuinfo.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static int cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
    return __get_cpuid_count(leaf, subleaf, &regs[0], &regs[1], &regs[2], &regs[3]);
}

static uint64_t xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

uint64_t indextts_cpu_features(void) {
    unsigned r1[4] = {0}, r7[4] = {0}, r71[4] = {0}, rx[4] = {0};
    if (!cpuid(1, 0, r1)) return 0;
    unsigned max = __get_cpuid_max(0, 0);
    if (max >= 7) {
        cpuid(7, 0, r7);
        cpuid(7, 1, r71);
    }
    cpuid(0x80000001u, 0, rx);
    const unsigned ecx1 = r1[2], ebx7 = r7[1], ecx7 = r7[2], edx7 = r7[3], eax71 = r71[0];
    uint64_t f = 0;
    if (ecx1 & (1u << 0)) f |= INDEXTTS_CPU_SSE3;
    if (ecx1 & (1u << 9)) f |= INDEXTTS_CPU_SSSE3;
    if (ecx1 & (1u << 19)) f |= INDEXTTS_CPU_SSE41;
    if (ecx1 & (1u << 20)) f |= INDEXTTS_CPU_SSE42;
    if (ecx1 & (1u << 23)) f |= INDEXTTS_CPU_POPCNT;
    if (ecx1 & (1u << 22)) f |= INDEXTTS_CPU_MOVBE;
    if (ebx7 & (1u << 3)) f |= INDEXTTS_CPU_BMI1;
    if (ebx7 & (1u << 8)) f |= INDEXTTS_CPU_BMI2;
    if (rx[2] & (1u << 5)) f |= INDEXTTS_CPU_LZCNT;
    // AVX-class features count only when the OS saves the registers (OSXSAVE, then XCR0 bits).
    const int osxsave = (ecx1 & (1u << 27)) != 0;
    const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    const int ymm = (xcr0 & 0x6) == 0x6;                 // SSE + AVX state
    const int zmm = ymm && (xcr0 & 0xE0) == 0xE0;        // opmask, ZMM0-15 upper halves, ZMM16-31
    const int amx = (xcr0 & 0x60000) == 0x60000;         // XTILECFG + XTILEDATA
    if (ymm) {
        if (ecx1 & (1u << 28)) f |= INDEXTTS_CPU_AVX;
        if (ecx1 & (1u << 29)) f |= INDEXTTS_CPU_F16C;
        if (ecx1 & (1u << 12)) f |= INDEXTTS_CPU_FMA;
        if (ebx7 & (1u << 5)) f |= INDEXTTS_CPU_AVX2;
        if (eax71 & (1u << 4)) f |= INDEXTTS_CPU_AVXVNNI;
    }
    if (zmm) {
        if (ebx7 & (1u << 16)) f |= INDEXTTS_CPU_AVX512F;
        if (ebx7 & (1u << 17)) f |= INDEXTTS_CPU_AVX512DQ;
        if (ebx7 & (1u << 28)) f |= INDEXTTS_CPU_AVX512CD;
        if (ebx7 & (1u << 30)) f |= INDEXTTS_CPU_AVX512BW;
        if (ebx7 & (1u << 31)) f |= INDEXTTS_CPU_AVX512VL;
        if (ecx7 & (1u << 11)) f |= INDEXTTS_CPU_AVX512VNNI;
        if (eax71 & (1u << 5)) f |= INDEXTTS_CPU_AVX512BF16;
        if (edx7 & (1u << 23)) f |= INDEXTTS_CPU_AVX512FP16;
    }
    if (amx) {
        if (edx7 & (1u << 24)) f |= INDEXTTS_CPU_AMXTILE;
        if (edx7 & (1u << 22)) f |= INDEXTTS_CPU_AMXBF16;
        if (edx7 & (1u << 25)) f |= INDEXTTS_CPU_AMXINT8;
    }
    return f;
}

void indextts_cpu_vendor(char *buffer) {
    unsigned r[4] = {0};
    buffer[0] = 0;
    if (!cpuid(0, 0, r)) return;
    memcpy(buffer, &r[1], 4);
    memcpy(buffer + 4, &r[3], 4);
    memcpy(buffer + 8, &r[2], 4);
    buffer[12] = 0;
}

void indextts_cpu_brand(char *buffer) {
    unsigned r[4];
    char raw[49] = {0};
    buffer[0] = 0;
    if (__get_cpuid_max(0x80000000u, 0) < 0x80000004u) return;
    for (unsigned i = 0; i < 3; i++) {
        if (!cpuid(0x80000002u + i, 0, r)) return;
        memcpy(raw + 16 * i, r, 16);
    }
    const char *start = raw;
    while (*start == ' ') start++;
    size_t n = strlen(start);
    while (n > 0 && start[n - 1] == ' ') n--;
    memcpy(buffer, start, n);
    buffer[n] = 0;
}

uint32_t indextts_cpu_family(void) {
    unsigned r[4] = {0};
    if (!cpuid(1, 0, r)) return 0;
    uint32_t family = (r[0] >> 8) & 0xF;
    if (family == 0xF) family += (r[0] >> 20) & 0xFF;
    return family;
}

uint32_t indextts_cpu_model(void) {
    unsigned r[4] = {0};
    if (!cpuid(1, 0, r)) return 0;
    uint32_t family = (r[0] >> 8) & 0xF, model = (r[0] >> 4) & 0xF;
    if (family == 0x6 || family == 0xF) model |= ((r[0] >> 16) & 0xF) << 4;
    return model;
}

#else
uint64_t indextts_cpu_features(void) { return 0; }
void indextts_cpu_vendor(char *buffer) { buffer[0] = 0; }
void indextts_cpu_brand(char *buffer) { buffer[0] = 0; }
uint32_t indextts_cpu_family(void) { return 0; }
uint32_t indextts_cpu_model(void) { return 0; }
#endif

uint64_t indextts_cpu_required_features(void) {
#if defined(__x86_64__)
    return INDEXTTS_CPU_AVX | INDEXTTS_CPU_AVX2 | INDEXTTS_CPU_FMA | INDEXTTS_CPU_F16C | INDEXTTS_CPU_BMI1 |
           INDEXTTS_CPU_BMI2 | INDEXTTS_CPU_LZCNT | INDEXTTS_CPU_MOVBE | INDEXTTS_CPU_POPCNT;
#else
    return 0;
#endif
}
