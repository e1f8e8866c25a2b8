// See dnnl_internal.h: the element-wise passes around the tiled convolutions, vectorised for the CPU at hand.
//
// This target is compiled for the baseline x86-64 (SSE2); each loop is built again for AVX2 and AVX-512 and chosen
// once per process (the leaky ReLU of a tile's input was a scalar, branching loop: 15 % of the English HiFi-GAN's time).
#include "dnnl_internal.h"

#define LEAKY_BODY                                            \
    for (long i = 0; i < n; i++) {                            \
        float v = src[i] * scale;                             \
        dst[i] = v < 0 ? v * slope : v;                       \
    }
#define ADD_BODY for (long i = 0; i < n; i++) dst[i] += src[i];

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
static void leaky_avx512(float *restrict dst, const float *restrict src, long n, float scale, float slope) { LEAKY_BODY }
__attribute__((target("avx2,fma")))
static void leaky_avx2(float *restrict dst, const float *restrict src, long n, float scale, float slope) { LEAKY_BODY }
static void leaky_base(float *restrict dst, const float *restrict src, long n, float scale, float slope) { LEAKY_BODY }

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
static void add_avx512(float *restrict dst, const float *restrict src, long n) { ADD_BODY }
__attribute__((target("avx2,fma")))
static void add_avx2(float *restrict dst, const float *restrict src, long n) { ADD_BODY }
static void add_base(float *restrict dst, const float *restrict src, long n) { ADD_BODY }

static int level(void) {
    static int cached = -1;  // every thread computes the same value; relaxed atomics keep the race defined
    int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") ? 2
                : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")                                             ? 1
                                                                                                                              : 0;
        __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
    }
    return value;
}

void indextts_rows_leaky(float *dst, const float *src, long n, float scale, float slope) {
    switch (level()) {
    case 2: leaky_avx512(dst, src, n, scale, slope); break;
    case 1: leaky_avx2(dst, src, n, scale, slope); break;
    default: leaky_base(dst, src, n, scale, slope);
    }
}

void indextts_rows_add(float *dst, const float *src, long n) {
    switch (level()) {
    case 2: add_avx512(dst, src, n); break;
    case 1: add_avx2(dst, src, n); break;
    default: add_base(dst, src, n);
    }
}
