// e^x on 16 fp32 lanes for the AVX-512 kernels (softmax.c, gates.c): VectorMath.exp's Cody–Waite reduction and
// degree-6 polynomial, the power of two applied by `scalef`. Internal to the target.
#ifndef INDEXTTS_AVX512_MATH_H
#define INDEXTTS_AVX512_MATH_H
#include <immintrin.h>

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
#endif
