// e^x, softmax exponentials and horizontal reductions on 8 fp32 lanes for the AVX2 kernels (softmax.c, attention_f32.c): VectorMath.exp's
// Cody–Waite reduction and degree-6 polynomial, the power of two applied through the exponent bits. Internal to the
// target.
#ifndef INDEXTTS_AVX2_MATH_H
#define INDEXTTS_AVX2_MATH_H
#include <immintrin.h>
#include <stdint.h>

#define AVX2_MATH __attribute__((target("avx2,fma")))

// e^x for x ≤ 88.72: below −87.3 it is 0; NaN propagates.
static inline __attribute__((always_inline)) AVX2_MATH __m256 exp256(__m256 x) {
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

static inline __attribute__((always_inline)) AVX2_MATH float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __attribute__((always_inline)) AVX2_MATH float hadd256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// fp32 → bfloat16 bits, round to nearest even (finite inputs), 8 lanes.
static inline __attribute__((always_inline)) AVX2_MATH __m128i bf16_256(__m256 v) {
    __m256i bits = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    // 8 × 32-bit values < 2^16 → 8 × 16-bit (packus saturates nothing here).
    return _mm_packus_epi32(_mm256_castsi256_si128(rounded), _mm256_extracti128_si256(rounded, 1));
}

// exponentials512 on 8 lanes.
static inline __attribute__((always_inline)) AVX2_MATH float exponentials256(float *row, long n, float scale,
                                                                             float maximum, uint16_t *bf16) {
    __m256 shift = _mm256_set1_ps(maximum), factor = _mm256_set1_ps(scale);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    long i = 0;
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
#endif
