// e^x and the exponentials of a softmax row for values that become bfloat16 operands (bf16_rows.c,
// attention_bf16.c): 2^t with a degree-5 polynomial for 2^f on [−½, ½] (relative error 2.3·10⁻⁷ in fp32, against
// bfloat16's 2⁻⁹ rounding), the power of two applied by `scalef`, rounding by `vcvtne2ps2bf16`. Internal to the target.
#ifndef INDEXTTS_BF16_MATH_H
#define INDEXTTS_BF16_MATH_H
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define BF16K __attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16,fma")))

// 2^t for t ≤ 128 or NaN: below −160 (where 2^t is 0 in fp32) it is 0, −∞ included; NaN stays NaN (`max` returns
// its second operand when either is NaN).
static inline __attribute__((always_inline)) BF16K __m512 exp2_512(__m512 t) {
    t = _mm512_max_ps(_mm512_set1_ps(-160.0f), t);
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.32764445e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.67553724e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.55071346e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.40221202e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.93146944e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.00000012f));
    return _mm512_scalef_ps(p, n);
}

// e_j = e^(scale·(row_j − maximum)) for j < n written as bfloat16 into `bf16`; returns 1 / Σ e_j (summed before
// rounding). `maximum` is the row's finite maximum; −∞ entries give 0.
static inline __attribute__((always_inline)) BF16K float softmax_exponentials_bf16(const float *row, long n, float scale,
                                                                                   float maximum, uint16_t *bf16) {
    // scale·(x − max)·log₂e as one FMA: x·a − max·a.
    const float a = scale * 1.44269504f;
    __m512 factor = _mm512_set1_ps(a), offset = _mm512_set1_ps(-maximum * a);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 e0 = exp2_512(_mm512_fmadd_ps(_mm512_loadu_ps(row + i), factor, offset));
        __m512 e1 = exp2_512(_mm512_fmadd_ps(_mm512_loadu_ps(row + i + 16), factor, offset));
        acc0 = _mm512_add_ps(acc0, e0);
        acc1 = _mm512_add_ps(acc1, e1);
        _mm512_storeu_si512((void *)(bf16 + i), (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
    }
    for (; i < n; i += 16) {
        long left = n - i;
        __mmask16 k = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 e = _mm512_maskz_mov_ps(k, exp2_512(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, row + i), factor, offset)));
        acc0 = _mm512_add_ps(acc0, e);
        _mm256_mask_storeu_epi16(bf16 + i, k, (__m256i)_mm512_cvtneps_pbh(e));
    }
    return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}
#endif
