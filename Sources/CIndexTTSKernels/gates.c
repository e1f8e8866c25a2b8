// The WaveNet gate tanh(a + g_a)·σ(b + g_b) on AVX-512 (see indextts_kernels.h), with VectorMath's formulas: e^x by
// Cody–Waite reduction and its degree-6 polynomial (power of two by `scalef`), tanh as an odd polynomial below
// |x| = 0.625 and 1 − 2/(e^{2|x|} + 1) above, σ(x) = 1/(1 + e^{−x}).
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define INLINE static inline __attribute__((always_inline))

#include "avx512_math.h"

// e^x over the whole fp32 range: avx512_math.h's exp512 below 88.72, +∞ above (NaN stays NaN: `min` returns its
// second operand when either is NaN).
INLINE AVX512 __m512 exp_full(__m512 x) {
    __m512 e = exp512(_mm512_min_ps(_mm512_set1_ps(88.72f), x));
    return _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.72f), _CMP_GT_OQ), _mm512_set1_ps(INFINITY));
}

INLINE AVX512 __m512 tanh512(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 ax = _mm512_abs_ps(x), z = _mm512_mul_ps(x, x);
    __m512 small = _mm512_set1_ps(-5.70498872745e-3f);
    small = _mm512_fmadd_ps(small, z, _mm512_set1_ps(2.06390887954e-2f));
    small = _mm512_fmadd_ps(small, z, _mm512_set1_ps(-5.37397155531e-2f));
    small = _mm512_fmadd_ps(small, z, _mm512_set1_ps(1.33314422036e-1f));
    small = _mm512_fmadd_ps(small, z, _mm512_set1_ps(-3.33332819422e-1f));
    small = _mm512_fmadd_ps(_mm512_mul_ps(small, z), x, x);
    __m512 e = exp_full(_mm512_add_ps(ax, ax));
    __m512 large = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
    large = _mm512_mask_sub_ps(large, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_ps(), large);
    // |x| ≥ 0.625 (NaN compares false and keeps the polynomial's NaN).
    return _mm512_mask_mov_ps(small, _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_GE_OQ), large);
}

INLINE AVX512 __m512 gate512(__m512 a, __m512 b) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 sigma = _mm512_div_ps(one, _mm512_add_ps(one, exp_full(_mm512_sub_ps(_mm512_setzero_ps(), b))));
    return _mm512_mul_ps(tanh512(a), sigma);
}

AVX512 void indextts_gate_tanh_sigmoid_avx512(const float *a, const float *b, float gate_a, float gate_b, float *dst,
                                             long n) {
    const __m512 ga = _mm512_set1_ps(gate_a), gb = _mm512_set1_ps(gate_b);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_add_ps(_mm512_loadu_ps(a + i), ga), y = _mm512_add_ps(_mm512_loadu_ps(b + i), gb);
        _mm512_storeu_ps(dst + i, gate512(x, y));
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), ga), y = _mm512_add_ps(_mm512_maskz_loadu_ps(m, b + i), gb);
        _mm512_mask_storeu_ps(dst + i, m, gate512(x, y));
    }
}
AVX512 void indextts_gate_rows_tanh_sigmoid_avx512(const float *a, const float *b, const float *gate_a,
                                                   const float *gate_b, float *dst, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(gate_a + i));
        __m512 y = _mm512_add_ps(_mm512_loadu_ps(b + i), _mm512_loadu_ps(gate_b + i));
        _mm512_storeu_ps(dst + i, gate512(x, y));
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, gate_a + i));
        __m512 y = _mm512_add_ps(_mm512_maskz_loadu_ps(m, b + i), _mm512_maskz_loadu_ps(m, gate_b + i));
        _mm512_mask_storeu_ps(dst + i, m, gate512(x, y));
    }
}
#else
void indextts_gate_rows_tanh_sigmoid_avx512(const float *a, const float *b, const float *gate_a,
                                            const float *gate_b, float *dst, long n) {}
void indextts_gate_tanh_sigmoid_avx512(const float *a, const float *b, float gate_a, float gate_b, float *dst,
                                       long n) {}
#endif
