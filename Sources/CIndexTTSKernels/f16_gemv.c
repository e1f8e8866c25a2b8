// fp16-weight GEMV kernels (see indextts_kernels.h). Each output row's weights are widened once and multiplied with
// every input row, with enough independent FMA chains in flight to hide the FMA latency (decoding is then bound by
// the weights' read bandwidth, not by one accumulator's latency).
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int indextts_kernels_x86(void) { return 1; }

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma,f16c")))
#define AVX2 __attribute__((target("avx2,fma,f16c")))

// One weight row at a time: walking several rows side by side (more streams) measured 1.6× slower on Zen 4.
// U steps of the row are unrolled so that NX·U independent accumulators hide the FMA latency.

// ---- AVX-512: 16 lanes.

static inline __attribute__((always_inline)) AVX512 void
gemv512(const uint16_t *w, long k, long r0, long r1, const float *x, float *y, long ldy, const int NX, const int U) {
    for (long r = r0; r < r1; r++) {
        const uint16_t *row = w + r * k;
        __m512 acc[4][4];
        for (int b = 0; b < NX; b++)
            for (int u = 0; u < U; u++) acc[b][u] = _mm512_setzero_ps();
        long j = 0;
        for (; j + 16 * U <= k; j += 16 * U) {
            for (int u = 0; u < U; u++) {
                __m512 wv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + j + 16 * u)));
                for (int b = 0; b < NX; b++)
                    acc[b][u] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + b * k + j + 16 * u), acc[b][u]);
            }
        }
        for (; j < k; j += 16) {
            long left = k - j;
            __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            __m512 wv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + j));
            for (int b = 0; b < NX; b++) acc[b][0] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + b * k + j), acc[b][0]);
        }
        for (int b = 0; b < NX; b++) {
            __m512 s = acc[b][0];
            for (int u = 1; u < U; u++) s = _mm512_add_ps(s, acc[b][u]);
            y[b * ldy + r] = _mm512_reduce_add_ps(s);
        }
    }
}

AVX512 void indextts_f16_gemv_avx512(const uint16_t *w, long k, long row_begin, long row_end,
                                     const float *x, long nx, float *y, long ldy) {
    if (nx <= 0) return;
    switch (nx) {
    case 1: gemv512(w, k, row_begin, row_end, x, y, ldy, 1, 4); break;
    case 2: gemv512(w, k, row_begin, row_end, x, y, ldy, 2, 2); break;
    case 3: gemv512(w, k, row_begin, row_end, x, y, ldy, 3, 2); break;
    default: gemv512(w, k, row_begin, row_end, x, y, ldy, 4, 2); break;
    }
}


// Many input rows (a batch of requests' beams, a prompt): compute-bound, so each widened weight vector is reused
// across input rows *and* each input vector across R weight rows (a register tile of R × NX accumulators).

static inline __attribute__((always_inline)) AVX512 void
tile512(const uint16_t *w, long k, long r, const float *x, float *y, long ldy, const int R, const int NX) {
    __m512 acc[4][4];
    for (int i = 0; i < R; i++)
        for (int b = 0; b < NX; b++) acc[i][b] = _mm512_setzero_ps();
    for (long j = 0; j < k; j += 16) {
        long left = k - j;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 wv[4];
        for (int i = 0; i < R; i++) wv[i] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + (r + i) * k + j));
        for (int b = 0; b < NX; b++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + b * k + j);
            for (int i = 0; i < R; i++) acc[i][b] = _mm512_fmadd_ps(wv[i], xv, acc[i][b]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int b = 0; b < NX; b++) y[b * ldy + r + i] = _mm512_reduce_add_ps(acc[i][b]);
}

static inline __attribute__((always_inline)) AVX512 void
gemm512(const uint16_t *w, long k, long r0, long r1, const float *x, float *y, long ldy, const int NX) {
    long r = r0;
    for (; r + 4 <= r1; r += 4) tile512(w, k, r, x, y, ldy, 4, NX);
    for (; r < r1; r++) tile512(w, k, r, x, y, ldy, 1, NX);
}

AVX512 void indextts_f16_gemm_avx512(const uint16_t *w, long k, long row_begin, long row_end,
                                     const float *x, long nx, float *y, long ldy) {
    if (nx <= 0) return;
    switch (nx) {
    case 1: gemm512(w, k, row_begin, row_end, x, y, ldy, 1); break;
    case 2: gemm512(w, k, row_begin, row_end, x, y, ldy, 2); break;
    case 3: gemm512(w, k, row_begin, row_end, x, y, ldy, 3); break;
    default: gemm512(w, k, row_begin, row_end, x, y, ldy, 4); break;
    }
}

// ---- AVX2: 8 lanes, 16 registers (NX·U accumulators ≤ 8, plus the weights and one input vector).

static inline __attribute__((always_inline)) AVX2 float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __attribute__((always_inline)) AVX2 void
gemv256(const uint16_t *w, long k, long r0, long r1, const float *x, float *y, long ldy, const int NX, const int U) {
    for (long r = r0; r < r1; r++) {
        const uint16_t *row = w + r * k;
        __m256 acc[4][4];
        for (int b = 0; b < NX; b++)
            for (int u = 0; u < U; u++) acc[b][u] = _mm256_setzero_ps();
        long j = 0;
        for (; j + 8 * U <= k; j += 8 * U) {
            for (int u = 0; u < U; u++) {
                __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j + 8 * u)));
                for (int b = 0; b < NX; b++)
                    acc[b][u] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + b * k + j + 8 * u), acc[b][u]);
            }
        }
        for (; j + 8 <= k; j += 8) {
            __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j)));
            for (int b = 0; b < NX; b++) acc[b][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + b * k + j), acc[b][0]);
        }
        float tail[4] = {0, 0, 0, 0};
        for (; j < k; j++) {
            float wf = _cvtsh_ss(row[j]);
            for (int b = 0; b < NX; b++) tail[b] += wf * x[b * k + j];
        }
        for (int b = 0; b < NX; b++) {
            __m256 s = acc[b][0];
            for (int u = 1; u < U; u++) s = _mm256_add_ps(s, acc[b][u]);
            y[b * ldy + r] = hsum256(s) + tail[b];
        }
    }
}

AVX2 void indextts_f16_gemv_avx2(const uint16_t *w, long k, long row_begin, long row_end,
                                 const float *x, long nx, float *y, long ldy) {
    if (nx <= 0) return;
    switch (nx) {
    case 1: gemv256(w, k, row_begin, row_end, x, y, ldy, 1, 4); break;
    case 2: gemv256(w, k, row_begin, row_end, x, y, ldy, 2, 2); break;
    case 3: gemv256(w, k, row_begin, row_end, x, y, ldy, 3, 2); break;
    default: gemv256(w, k, row_begin, row_end, x, y, ldy, 4, 2); break;
    }
}


// The register tile on 16 registers: 3 weight rows × up to 4 input rows (12 accumulators, 3 weights, 1 input).
static inline __attribute__((always_inline)) AVX2 void
tile256(const uint16_t *w, long k, long r, const float *x, float *y, long ldy, const int R, const int NX) {
    __m256 acc[3][4];
    for (int i = 0; i < R; i++)
        for (int b = 0; b < NX; b++) acc[i][b] = _mm256_setzero_ps();
    long j = 0;
    for (; j + 8 <= k; j += 8) {
        __m256 wv[3];
        for (int i = 0; i < R; i++) wv[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + (r + i) * k + j)));
        for (int b = 0; b < NX; b++) {
            __m256 xv = _mm256_loadu_ps(x + b * k + j);
            for (int i = 0; i < R; i++) acc[i][b] = _mm256_fmadd_ps(wv[i], xv, acc[i][b]);
        }
    }
    for (int i = 0; i < R; i++) {
        for (int b = 0; b < NX; b++) {
            float tail = 0;
            for (long t = j; t < k; t++) tail += _cvtsh_ss(w[(r + i) * k + t]) * x[b * k + t];
            y[b * ldy + r + i] = hsum256(acc[i][b]) + tail;
        }
    }
}

static inline __attribute__((always_inline)) AVX2 void
gemm256(const uint16_t *w, long k, long r0, long r1, const float *x, float *y, long ldy, const int NX) {
    long r = r0;
    for (; r + 3 <= r1; r += 3) tile256(w, k, r, x, y, ldy, 3, NX);
    for (; r < r1; r++) tile256(w, k, r, x, y, ldy, 1, NX);
}

AVX2 void indextts_f16_gemm_avx2(const uint16_t *w, long k, long row_begin, long row_end,
                                 const float *x, long nx, float *y, long ldy) {
    if (nx <= 0) return;
    switch (nx) {
    case 1: gemm256(w, k, row_begin, row_end, x, y, ldy, 1); break;
    case 2: gemm256(w, k, row_begin, row_end, x, y, ldy, 2); break;
    case 3: gemm256(w, k, row_begin, row_end, x, y, ldy, 3); break;
    default: gemm256(w, k, row_begin, row_end, x, y, ldy, 4); break;
    }
}

#else

int indextts_kernels_x86(void) { return 0; }
void indextts_f16_gemv_avx512(const uint16_t *w, long k, long row_begin, long row_end,
                              const float *x, long nx, float *y, long ldy) {
    (void)w; (void)k; (void)row_begin; (void)row_end; (void)x; (void)nx; (void)y; (void)ldy;
}
void indextts_f16_gemv_avx2(const uint16_t *w, long k, long row_begin, long row_end,
                            const float *x, long nx, float *y, long ldy) {
    (void)w; (void)k; (void)row_begin; (void)row_end; (void)x; (void)nx; (void)y; (void)ldy;
}
void indextts_f16_gemm_avx512(const uint16_t *w, long k, long row_begin, long row_end,
                              const float *x, long nx, float *y, long ldy) {
    (void)w; (void)k; (void)row_begin; (void)row_end; (void)x; (void)nx; (void)y; (void)ldy;
}
void indextts_f16_gemm_avx2(const uint16_t *w, long k, long row_begin, long row_end,
                            const float *x, long nx, float *y, long ldy) {
    (void)w; (void)k; (void)row_begin; (void)row_end; (void)x; (void)nx; (void)y; (void)ldy;
}

#endif
