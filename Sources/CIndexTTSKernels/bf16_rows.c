// Rows that end as bfloat16 operands of a bf16 product (see indextts_kernels.h): the attention softmax and SwiGLU's
// silu(gate)·up. Their values are rounded to 8 significant bits right after, so e^x is computed as 2^t with a
// degree-5 polynomial for 2^f on [−½, ½] (relative error 2.3·10⁻⁷ in fp32, against bfloat16's 2⁻⁹ rounding) and
// the power of two applied by `scalef`; the rounding itself is AVX512-BF16's `vcvtne2ps2bf16` (nearest even, one
// instruction for 32 values). Needs AVX512F/VL/BW, AVX512-BF16 and FMA.
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "bf16_math.h"

BF16K float indextts_softmax_row_bf16(const float *row, long n, float scale, uint16_t *bf16) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    long i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + i));
    if (i < n) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), (__mmask16)((1u << (n - i)) - 1), row + i));
    float maximum = _mm512_reduce_max_ps(m);
    if (maximum == -INFINITY) {
        for (long j = 0; j < n; j++) bf16[j] = 0;
        return 0;
    }
    return softmax_exponentials_bf16(row, n, scale, maximum, bf16);
}

// g / d for d ≥ 1 (1 + e^(−g)): the reciprocal from `rcp14` (2⁻¹⁴) refined by one Newton step (≈ 1 ulp), in place
// of a division (several times the latency and a fraction of the throughput). d = +∞ gives 0 (the limit; the Newton
// step alone would give NaN).
static inline __attribute__((always_inline)) BF16K __m512 divide_by_denominator(__m512 g, __m512 d) {
    __m512 r = _mm512_rcp14_ps(d);
    r = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0f)), r);
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(d, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ), _mm512_setzero_ps());
    return _mm512_mul_ps(g, r);
}

BF16K void indextts_silu_mul_bf16(const float *gate, const float *up, uint16_t *dst, long n) {
    const __m512 minusLog2e = _mm512_set1_ps(-1.44269504f), one = _mm512_set1_ps(1.0f), top = _mm512_set1_ps(128.0f);
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 g0 = _mm512_loadu_ps(gate + i), g1 = _mm512_loadu_ps(gate + i + 16);
        // e^(−g) = 2^(−g·log₂e), capped at 2^128 = ∞ (then silu(g)·u = ±0, its limit).
        __m512 d0 = _mm512_add_ps(one, exp2_512(_mm512_min_ps(_mm512_mul_ps(g0, minusLog2e), top)));
        __m512 d1 = _mm512_add_ps(one, exp2_512(_mm512_min_ps(_mm512_mul_ps(g1, minusLog2e), top)));
        __m512 s0 = _mm512_mul_ps(divide_by_denominator(g0, d0), _mm512_loadu_ps(up + i));
        __m512 s1 = _mm512_mul_ps(divide_by_denominator(g1, d1), _mm512_loadu_ps(up + i + 16));
        _mm512_storeu_si512((void *)(dst + i), (__m512i)_mm512_cvtne2ps_pbh(s1, s0));
    }
    for (; i < n; i += 16) {
        long left = n - i;
        __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 g = _mm512_maskz_loadu_ps(k, gate + i);
        __m512 d = _mm512_add_ps(one, exp2_512(_mm512_min_ps(_mm512_mul_ps(g, minusLog2e), top)));
        __m512 s = _mm512_mul_ps(divide_by_denominator(g, d), _mm512_maskz_loadu_ps(k, up + i));
        _mm256_mask_storeu_epi16(dst + i, k, (__m256i)_mm512_cvtneps_pbh(s));
    }
}

#else

float indextts_softmax_row_bf16(const float *row, long n, float scale, uint16_t *bf16) {
    (void)row; (void)n; (void)scale; (void)bf16;
    return 0;
}
void indextts_silu_mul_bf16(const float *gate, const float *up, uint16_t *dst, long n) {
    (void)gate; (void)up; (void)dst; (void)n;
}

#endif
