// e^x and softmax exponentials on 16 fp32 lanes for the AVX-512 kernels (softmax.c, gates.c, attention_f32.c): VectorMath.exp's Cody–Waite reduction and
// degree-6 polynomial, the power of two applied by `scalef`. Internal to the target.
#ifndef INDEXTTS_AVX512_MATH_H
#define INDEXTTS_AVX512_MATH_H
#include <immintrin.h>
#include <stdint.h>

#define AVX512_MATH __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

// e^x for x ≤ 88.72 (above it the caller decides; the result would overflow): below −87.3 it is 0; NaN propagates.
static inline __attribute__((always_inline)) AVX512_MATH __m512 exp512(__m512 x) {
    __m512 c = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), c);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.98756915e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.39819995e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.33345191e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.16657959e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66666655e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.00000012e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512 e = _mm512_scalef_ps(p, n);
    e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ), _mm512_setzero_ps());
    return _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

// fp32 → bfloat16 bits, round to nearest even (finite inputs), as BFloat16.swift rounds.
static inline __attribute__((always_inline)) AVX512_MATH __m256i bf16_512(__m512 v) {
    __m512i bits = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), 16);
    return _mm512_cvtepi32_epi16(rounded);
}

// The exponentials of a softmax row: e_j = e^(scale·(row_j − maximum)) for j < n, written over `row` or, when `bf16`
// is not NULL, as bfloat16 bits (nearest even) into it; returns 1 / Σ e_j. `maximum` is the row's (finite).
static inline __attribute__((always_inline)) AVX512_MATH float exponentials512(float *row, long n, float scale,
                                                                               float maximum, uint16_t *bf16) {
    __m512 shift = _mm512_set1_ps(maximum), factor = _mm512_set1_ps(scale);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    long i = 0;
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
#endif
