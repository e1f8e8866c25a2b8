// Attention softmax rows (see indextts_kernels.h): the row's maximum, then e^(scale·(x − max)) summed and written
// as fp32 or as bfloat16. e^x as VectorMath.exp computes it (Cody–Waite reduction, the same degree-6 polynomial),
// with the power of two applied by `scalef` (AVX-512) or the exponent bits (AVX2).
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

#include "avx512_math.h"

// ---- AVX-512: 16 lanes.

// exp512: avx512_math.h (the scores here are ≤ 0: scores minus their maximum, times a positive scale).

// fp32 → bfloat16 bits, round to nearest even (finite inputs), as BFloat16.swift rounds.
static inline __attribute__((always_inline)) AVX512 __m256i bf16_512(__m512 v) {
    __m512i bits = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), 16);
    return _mm512_cvtepi32_epi16(rounded);
}

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
    __m512 shift = _mm512_set1_ps(maximum), factor = _mm512_set1_ps(scale);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 e0 = exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + i), shift), factor));
        __m512 e1 = exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + i + 16), shift), factor));
        acc0 = _mm512_add_ps(acc0, e0);
        acc1 = _mm512_add_ps(acc1, e1);
        if (bf16) {
            _mm256_storeu_si256((__m256i *)(bf16 + i), bf16_512(e0));
            _mm256_storeu_si256((__m256i *)(bf16 + i + 16), bf16_512(e1));
        } else {
            _mm512_storeu_ps(row + i, e0);
            _mm512_storeu_ps(row + i + 16, e1);
        }
    }
    for (; i < n; i += 16) {
        long left = n - i;
        __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 e = exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + i), shift), factor));
        e = _mm512_maskz_mov_ps(k, e);
        acc0 = _mm512_add_ps(acc0, e);
        if (bf16) _mm256_mask_storeu_epi16(bf16 + i, k, bf16_512(e));
        else _mm512_mask_storeu_ps(row + i, k, e);
    }
    return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// ---- AVX2: 8 lanes.

static inline __attribute__((always_inline)) AVX2 __m256 exp256(__m256 x) {
    __m256 c = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(c, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), c);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.98756915e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.39819995e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.33345191e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.16657959e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66666655e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.00000012e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    e = _mm256_blendv_ps(e, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ));
    return _mm256_blendv_ps(e, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline __attribute__((always_inline)) AVX2 __m128i bf16_256(__m256 v) {
    __m256i bits = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    // 8 × 32-bit values < 2^16 → 8 × 16-bit (packus saturates nothing here).
    return _mm_packus_epi32(_mm256_castsi256_si128(rounded), _mm256_extracti128_si256(rounded, 1));
}

static inline __attribute__((always_inline)) AVX2 float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __attribute__((always_inline)) AVX2 float hadd256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

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
    __m256 shift = _mm256_set1_ps(maximum), factor = _mm256_set1_ps(scale);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 e0 = exp256(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + i), shift), factor));
        __m256 e1 = exp256(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + i + 8), shift), factor));
        acc0 = _mm256_add_ps(acc0, e0);
        acc1 = _mm256_add_ps(acc1, e1);
        if (bf16) {
            _mm_storeu_si128((__m128i *)(bf16 + i), bf16_256(e0));
            _mm_storeu_si128((__m128i *)(bf16 + i + 8), bf16_256(e1));
        } else {
            _mm256_storeu_ps(row + i, e0);
            _mm256_storeu_ps(row + i + 8, e1);
        }
    }
    float total = hadd256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) {
        float buffer[8] = {(row[i] - maximum) * scale};
        float e = _mm256_cvtss_f32(exp256(_mm256_loadu_ps(buffer)));
        total += e;
        if (bf16) {
            uint32_t bits;
            __builtin_memcpy(&bits, &e, 4);
            bf16[i] = (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
        } else {
            row[i] = e;
        }
    }
    return 1.0f / total;
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
