// Attention softmax rows (see indextts_kernels.h): the row's maximum, then e^(scale·(x − max)) summed and written
// as fp32 or as bfloat16. e^x as VectorMath.exp computes it (Cody–Waite reduction, the same degree-6 polynomial),
// with the power of two applied by `scalef` (AVX-512) or the exponent bits (AVX2).
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

#include "avx2_math.h"
#include "avx512_math.h"

// ---- AVX-512: 16 lanes.

// exp512, exponentials512: avx512_math.h (the scores here are ≤ 0: scores minus their maximum, times a positive
// scale).

AVX512 float indextts_softmax_row_avx512(float *row, long n, float scale, uint16_t *bf16) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    long i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + i));
    if (i < n) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), (__mmask16)((1u << (n - i)) - 1), row + i));
    float maximum = _mm512_reduce_max_ps(m);
    if (maximum == -INFINITY) {
        for (long j = 0; j < n; j++) { if (bf16) bf16[j] = 0; else row[j] = 0; }
        return 0;
    }
    return exponentials512(row, n, scale, maximum, bf16);
}

// ---- AVX2: 8 lanes.

AVX2 float indextts_softmax_row_avx2(float *row, long n, float scale, uint16_t *bf16) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    long i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(row + i));
    float maximum = hmax256(m);
    for (; i < n; i++) maximum = row[i] > maximum ? row[i] : maximum;
    if (maximum == -INFINITY) {
        for (long j = 0; j < n; j++) { if (bf16) bf16[j] = 0; else row[j] = 0; }
        return 0;
    }
    return exponentials256(row, n, scale, maximum, bf16);
}

#else

float indextts_softmax_row_avx512(float *row, long n, float scale, uint16_t *bf16) {
    (void)row; (void)n; (void)scale; (void)bf16;
    return 0;
}
float indextts_softmax_row_avx2(float *row, long n, float scale, uint16_t *bf16) {
    (void)row; (void)n; (void)scale; (void)bf16;
    return 0;
}

#endif
