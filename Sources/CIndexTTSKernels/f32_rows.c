// fp32 products of a few input rows (decoding beams) with a large [k, n] weight in Hugging Face Conv1D layout
// (indextts_kernels.h): every weight is read from memory once for all rows. Each call owns the output columns
// [c0, c1); the weights are walked G rows at a time along those columns (G long sequential streams), each loaded
// weight vector is multiplied with every input row's broadcast coefficient, and the rows' outputs are read and
// written once per group of G weight rows (they stay in L1/L2).
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

enum { G = 8 };  // weight rows per pass

// ---- AVX-512: 16 lanes.

static inline __attribute__((always_inline)) AVX512 void
rows512(const float *w, long k, long n, long c0, long c1, const float *x, long x_ld, float *y, const int NX) {
    long j = 0;
    for (; j + G <= k; j += G) {
        __m512 a[4][G];
        for (int b = 0; b < NX; b++)
            for (int t = 0; t < G; t++) a[b][t] = _mm512_set1_ps(x[b * x_ld + j + t]);
        const float *wj = w + j * n;
        for (long c = c0; c < c1; c += 16) {
            long left = c1 - c;  // masked loads and stores cost the same as full ones; the last group is partial
            __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            __m512 wv[G];
            for (int t = 0; t < G; t++) wv[t] = _mm512_maskz_loadu_ps(m, wj + t * n + c);
            for (int b = 0; b < NX; b++) {
                // Two chains per row (products of even and odd weight rows), summed before the store.
                __m512 s0 = _mm512_maskz_loadu_ps(m, y + b * n + c), s1 = _mm512_mul_ps(a[b][1], wv[1]);
                s0 = _mm512_fmadd_ps(a[b][0], wv[0], s0);
                for (int t = 2; t < G; t += 2) {
                    s0 = _mm512_fmadd_ps(a[b][t], wv[t], s0);
                    s1 = _mm512_fmadd_ps(a[b][t + 1], wv[t + 1], s1);
                }
                _mm512_mask_storeu_ps(y + b * n + c, m, _mm512_add_ps(s0, s1));
            }
        }
    }
    for (; j < k; j++) {  // the last k mod G weight rows, one at a time
        const float *wj = w + j * n;
        for (int b = 0; b < NX; b++) {
            __m512 a = _mm512_set1_ps(x[b * x_ld + j]);
            for (long c = c0; c < c1; c += 16) {
                long left = c1 - c;
                __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                __m512 s = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, wj + c), _mm512_maskz_loadu_ps(m, y + b * n + c));
                _mm512_mask_storeu_ps(y + b * n + c, m, s);
            }
        }
    }
}

AVX512 void indextts_f32_rows_inout_avx512(const float *w, long k, long n, long c0, long c1,
                                           const float *x, long x_ld, long nx, float *y) {
    switch (nx) {
    case 1: rows512(w, k, n, c0, c1, x, x_ld, y, 1); break;
    case 2: rows512(w, k, n, c0, c1, x, x_ld, y, 2); break;
    case 3: rows512(w, k, n, c0, c1, x, x_ld, y, 3); break;
    case 4: rows512(w, k, n, c0, c1, x, x_ld, y, 4); break;
    default: break;
    }
}

// ---- [out, in] weights (`torch.nn.Linear` layout), AVX-512: y[b, o] += W[o, :]·x[b, :] for the outputs [o0, o1). Each
// weight row is read once (contiguous, k floats) and dotted with every input row (which stay in L1); two chains of
// 16 lanes per input row, summed lane-wise, then across lanes.

static inline __attribute__((always_inline)) AVX512 void
outin512(const float *w, long k, long o0, long o1, const float *x, float *y, long n, const int NX) {
    for (long o = o0; o < o1; o++) {
        const float *row = w + o * k;
        __m512 s0[4], s1[4];
        for (int b = 0; b < NX; b++) {
            s0[b] = _mm512_setzero_ps();
            s1[b] = _mm512_setzero_ps();
        }
        long j = 0;
        for (; j + 32 <= k; j += 32) {
            const __m512 w0 = _mm512_loadu_ps(row + j), w1 = _mm512_loadu_ps(row + j + 16);
            for (int b = 0; b < NX; b++) {
                s0[b] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + b * k + j), s0[b]);
                s1[b] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + b * k + j + 16), s1[b]);
            }
        }
        for (; j < k; j += 16) {  // the last k mod 32 inputs, masked
            long left = k - j;
            __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            const __m512 w0 = _mm512_maskz_loadu_ps(m, row + j);
            for (int b = 0; b < NX; b++) s0[b] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, x + b * k + j), s0[b]);
        }
        for (int b = 0; b < NX; b++) y[b * n + o] += _mm512_reduce_add_ps(_mm512_add_ps(s0[b], s1[b]));
    }
}

AVX512 void indextts_f32_rows_outin_avx512(const float *w, long k, long n, long o0, long o1,
                                           const float *x, long nx, float *y) {
    switch (nx) {
    case 1: outin512(w, k, o0, o1, x, y, n, 1); break;
    case 2: outin512(w, k, o0, o1, x, y, n, 2); break;
    case 3: outin512(w, k, o0, o1, x, y, n, 3); break;
    case 4: outin512(w, k, o0, o1, x, y, n, 4); break;
    default: break;
    }
}

// ---- AVX2: 8 lanes; the last columns (fewer than 8) in scalar code.

static inline __attribute__((always_inline)) AVX2 void
rows256(const float *w, long k, long n, long c0, long c1, const float *x, long x_ld, float *y, const int NX) {
    long full = c0 + (c1 - c0) / 8 * 8;
    long j = 0;
    for (; j + G <= k; j += G) {
        __m256 a[4][G];
        for (int b = 0; b < NX; b++)
            for (int t = 0; t < G; t++) a[b][t] = _mm256_set1_ps(x[b * x_ld + j + t]);
        const float *wj = w + j * n;
        for (long c = c0; c < full; c += 8) {
            __m256 wv[G];
            for (int t = 0; t < G; t++) wv[t] = _mm256_loadu_ps(wj + t * n + c);
            for (int b = 0; b < NX; b++) {
                __m256 s0 = _mm256_loadu_ps(y + b * n + c), s1 = _mm256_mul_ps(a[b][1], wv[1]);
                s0 = _mm256_fmadd_ps(a[b][0], wv[0], s0);
                for (int t = 2; t < G; t += 2) {
                    s0 = _mm256_fmadd_ps(a[b][t], wv[t], s0);
                    s1 = _mm256_fmadd_ps(a[b][t + 1], wv[t + 1], s1);
                }
                _mm256_storeu_ps(y + b * n + c, _mm256_add_ps(s0, s1));
            }
        }
        for (long c = full; c < c1; c++)
            for (int b = 0; b < NX; b++) {
                float s = y[b * n + c];
                for (int t = 0; t < G; t++) s += x[b * x_ld + j + t] * wj[t * n + c];
                y[b * n + c] = s;
            }
    }
    for (; j < k; j++) {
        const float *wj = w + j * n;
        for (int b = 0; b < NX; b++) {
            float s = x[b * x_ld + j];
            __m256 a = _mm256_set1_ps(s);
            long c = c0;
            for (; c < full; c += 8)
                _mm256_storeu_ps(y + b * n + c, _mm256_fmadd_ps(a, _mm256_loadu_ps(wj + c), _mm256_loadu_ps(y + b * n + c)));
            for (; c < c1; c++) y[b * n + c] += s * wj[c];
        }
    }
}

AVX2 void indextts_f32_rows_inout_avx2(const float *w, long k, long n, long c0, long c1,
                                       const float *x, long x_ld, long nx, float *y) {
    switch (nx) {
    case 1: rows256(w, k, n, c0, c1, x, x_ld, y, 1); break;
    case 2: rows256(w, k, n, c0, c1, x, x_ld, y, 2); break;
    case 3: rows256(w, k, n, c0, c1, x, x_ld, y, 3); break;
    case 4: rows256(w, k, n, c0, c1, x, x_ld, y, 4); break;
    default: break;
    }
}

// ---- [out, in] weights, AVX2: as outin512 with 8 lanes; the last k mod 8 inputs in scalar code.

static inline __attribute__((always_inline)) AVX2 void
outin256(const float *w, long k, long o0, long o1, const float *x, float *y, long n, const int NX) {
    const long full16 = k / 16 * 16, full8 = k / 8 * 8;
    for (long o = o0; o < o1; o++) {
        const float *row = w + o * k;
        __m256 s0[4], s1[4];
        for (int b = 0; b < NX; b++) {
            s0[b] = _mm256_setzero_ps();
            s1[b] = _mm256_setzero_ps();
        }
        long j = 0;
        for (; j < full16; j += 16) {
            const __m256 w0 = _mm256_loadu_ps(row + j), w1 = _mm256_loadu_ps(row + j + 8);
            for (int b = 0; b < NX; b++) {
                s0[b] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + b * k + j), s0[b]);
                s1[b] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + b * k + j + 8), s1[b]);
            }
        }
        for (; j < full8; j += 8) {
            const __m256 w0 = _mm256_loadu_ps(row + j);
            for (int b = 0; b < NX; b++) s0[b] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + b * k + j), s0[b]);
        }
        for (int b = 0; b < NX; b++) {
            const __m256 v = _mm256_add_ps(s0[b], s1[b]);
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            h = _mm_add_ss(h, _mm_movehdup_ps(h));
            float sum = _mm_cvtss_f32(h);
            for (long t = full8; t < k; t++) sum += row[t] * x[b * k + t];
            y[b * n + o] += sum;
        }
    }
}

AVX2 void indextts_f32_rows_outin_avx2(const float *w, long k, long n, long o0, long o1,
                                       const float *x, long nx, float *y) {
    switch (nx) {
    case 1: outin256(w, k, o0, o1, x, y, n, 1); break;
    case 2: outin256(w, k, o0, o1, x, y, n, 2); break;
    case 3: outin256(w, k, o0, o1, x, y, n, 3); break;
    case 4: outin256(w, k, o0, o1, x, y, n, 4); break;
    default: break;
    }
}

// ---- Many rows (requests decoding together: 9–24 rows), AVX2: register tiles of up to 6 rows × 16 columns (12
// accumulators, 2 weight vectors and a broadcast in 16 registers) over depth blocks of 128 weight rows. Each tile
// loads its outputs once per depth block, so the rows' outputs are read and written k / 128 times instead of k / 8
// (the kernel above, which for 12 rows spends its time on them); a depth block's 16 weight columns (8 KB) stay in L1/L2
// while every row tile of the block reads them, so the weights come from memory once.

enum { TILE_ROWS = 6, DEPTH_BLOCK = 128 };

static inline __attribute__((always_inline)) AVX2 void
rows_tile256(const float *w, long n, long j0, long j1, const float *x, long x_ld, float *y, const int R) {
    __m256 acc[TILE_ROWS][2];
    for (int r = 0; r < R; r++) {
        acc[r][0] = _mm256_loadu_ps(y + r * n);
        acc[r][1] = _mm256_loadu_ps(y + r * n + 8);
    }
    for (long j = j0; j < j1; j++) {
        const __m256 w0 = _mm256_loadu_ps(w + j * n), w1 = _mm256_loadu_ps(w + j * n + 8);
        for (int r = 0; r < R; r++) {
            const __m256 a = _mm256_broadcast_ss(x + r * x_ld + j);
            acc[r][0] = _mm256_fmadd_ps(a, w0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, w1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(y + r * n, acc[r][0]);
        _mm256_storeu_ps(y + r * n + 8, acc[r][1]);
    }
}

AVX2 void indextts_f32_rows_tiles_avx2(const float *w, long k, long n, long c0, long c1,
                                       const float *x, long x_ld, long nx, float *y) {
    if (nx < 1 || c0 >= c1) return;
    const long full = c0 + (c1 - c0) / 16 * 16;
    for (long j0 = 0; j0 < k; j0 += DEPTH_BLOCK) {
        const long j1 = j0 + DEPTH_BLOCK < k ? j0 + DEPTH_BLOCK : k;
        for (long c = c0; c < full; c += 16) {
            for (long r0 = 0; r0 < nx; r0 += TILE_ROWS) {
                const float *xr = x + r0 * x_ld;
                float *yr = y + r0 * n + c;
                switch (nx - r0 < TILE_ROWS ? nx - r0 : TILE_ROWS) {
                case 1: rows_tile256(w + c, n, j0, j1, xr, x_ld, yr, 1); break;
                case 2: rows_tile256(w + c, n, j0, j1, xr, x_ld, yr, 2); break;
                case 3: rows_tile256(w + c, n, j0, j1, xr, x_ld, yr, 3); break;
                case 4: rows_tile256(w + c, n, j0, j1, xr, x_ld, yr, 4); break;
                case 5: rows_tile256(w + c, n, j0, j1, xr, x_ld, yr, 5); break;
                default: rows_tile256(w + c, n, j0, j1, xr, x_ld, yr, 6); break;
                }
            }
        }
        for (long b = 0; b < nx; b++)  // the last (c1 − c0) mod 16 columns
            for (long c = full; c < c1; c++) {
                float s = y[b * n + c];
                for (long j = j0; j < j1; j++) s += x[b * x_ld + j] * w[j * n + c];
                y[b * n + c] = s;
            }
    }
}

#else

void indextts_f32_rows_tiles_avx2(const float *w, long k, long n, long c0, long c1,
                                  const float *x, long x_ld, long nx, float *y) {
    (void)w; (void)k; (void)n; (void)c0; (void)c1; (void)x; (void)x_ld; (void)nx; (void)y;
}
void indextts_f32_rows_inout_avx512(const float *w, long k, long n, long c0, long c1,
                                    const float *x, long x_ld, long nx, float *y) {
    (void)w; (void)k; (void)n; (void)c0; (void)c1; (void)x; (void)x_ld; (void)nx; (void)y;
}
void indextts_f32_rows_inout_avx2(const float *w, long k, long n, long c0, long c1,
                                  const float *x, long x_ld, long nx, float *y) {
    (void)w; (void)k; (void)n; (void)c0; (void)c1; (void)x; (void)x_ld; (void)nx; (void)y;
}
void indextts_f32_rows_outin_avx512(const float *w, long k, long n, long o0, long o1,
                                    const float *x, long nx, float *y) {
    (void)w; (void)k; (void)n; (void)o0; (void)o1; (void)x; (void)nx; (void)y;
}
void indextts_f32_rows_outin_avx2(const float *w, long k, long n, long o0, long o1,
                                  const float *x, long nx, float *y) {
    (void)w; (void)k; (void)n; (void)o0; (void)o1; (void)x; (void)nx; (void)y;
}

#endif
