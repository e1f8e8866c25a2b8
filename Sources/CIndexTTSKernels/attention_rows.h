// Pieces shared by the attention kernels (attention_bf16.c, attention_f32.c): row prefetches, the rotary embedding
// applied to a query or key row on its way into a kernel, and the per-tile driver both run. Internal to the target.
#ifndef INDEXTTS_ATTENTION_ROWS_H
#define INDEXTTS_ATTENTION_ROWS_H
#include <immintrin.h>

#include "avx2_math.h"
#include "avx512_math.h"

static inline long round_up(long n, long m) { return (n + m - 1) / m * m; }

enum { PREFETCH_ROWS = 8 };

// Every cache line of a row of n floats into L1.
static inline __attribute__((always_inline)) void prefetch_row(const float *row, long n) {
    for (long i = 0; i < n; i += 16) _mm_prefetch((const char *)(row + i), _MM_HINT_T0);
    _mm_prefetch((const char *)(row + n - 1), _MM_HINT_T0);
}

// Pairs `first ..< rotary_pairs` of rotate_row below one at a time, then the rest of the row copied; returns `rotated`.
static inline __attribute__((always_inline)) const float *rotate_pairs_scalar(const float *src, const float *cs,
                                                                              const float *sn, long first,
                                                                              long rotary_pairs, long n,
                                                                              float *rotated) {
    for (long p = first; p < rotary_pairs; p++) {
        const float x0 = src[2 * p], x1 = src[2 * p + 1];
        const float a = x0 * cs[p], b = x1 * sn[p], c = x1 * cs[p], d = x0 * sn[p];
        rotated[2 * p] = a - b;
        rotated[2 * p + 1] = c + d;
    }
    for (long j = 2 * rotary_pairs; j < n; j++) rotated[j] = src[j];
    return rotated;
}

// rotate_row without vectors (any x86-64 target).
static inline __attribute__((always_inline)) const float *rotate_row_scalar(const float *src, const float *cs,
                                                                            const float *sn, long rotary_pairs, long n,
                                                                            float *rotated) {
    if (!cs || rotary_pairs <= 0) return src;
    return rotate_pairs_scalar(src, cs, sn, 0, rotary_pairs, n, rotated);
}

// The rotary embedding on interleaved pairs (gpt-fast): pair i of the first `rotary_pairs` becomes
// (x₀·cos − x₁·sin, x₁·cos + x₀·sin) with cos, sin = `cs[i]`, `sn[i]`; the same products and sums, in the same order,
// as RotaryEmbedding.apply (x₀·cos + x₁·(−sin) is x₀·cos − x₁·sin exactly). `rotated` receives the row (n values).
static inline __attribute__((always_inline)) AVX512_MATH const float *rotate_row(const float *src, const float *cs,
                                                                                  const float *sn, long rotary_pairs,
                                                                                  long n, float *rotated) {
    if (!cs || rotary_pairs <= 0) return src;
    const __m512i duplicate = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    long p = 0;
    for (; p + 8 <= rotary_pairs; p += 8) {
        __m512 x = _mm512_loadu_ps(src + 2 * p);
        __m512 c = _mm512_permutexvar_ps(duplicate, _mm512_castps256_ps512(_mm256_loadu_ps(cs + p)));
        __m512i sBits = _mm512_castps_si512(_mm512_permutexvar_ps(duplicate, _mm512_castps256_ps512(_mm256_loadu_ps(sn + p))));
        __m512 s = _mm512_castsi512_ps(_mm512_mask_xor_epi32(sBits, (__mmask16)0x5555, sBits, sign));  // −sin on even lanes
        __m512 swapped = _mm512_permute_ps(x, 0xB1);  // x₁, x₀ in each pair
        _mm512_storeu_ps(rotated + 2 * p, _mm512_add_ps(_mm512_mul_ps(x, c), _mm512_mul_ps(swapped, s)));
    }
    return rotate_pairs_scalar(src, cs, sn, p, rotary_pairs, n, rotated);
}

// ---- The flow both kernels share, per tile of up to ATTENTION_TILE_ROWS query rows: which keys each row sees
// (`valid_keys`, causal alignment from the end of the keys), prefetching the next tile's query rows, then the
// kernel's steps on its own state (its packed operands, scratch rows and output): the query rows loaded (rotated,
// converted), the scores with each row's maximum over the keys it sees, each row's unnormalised probabilities and
// 1 / Σ, the output rows. A tile whose rows see no key gets zero rows.

enum { ATTENTION_TILE_ROWS = 6 };

typedef struct {
    // Query rows i0 ..< i0 + n (`q_ld` floats apart) into the state's tile.
    void (*queries)(void *state, const float *q, long q_ld, long i0, int n);
    // Scores of the tile's n rows against the first `blocks` blocks of 16 keys; `maxima[r]` receives the largest
    // score of row r among its first `limit[r]` keys (−∞ where it has none).
    void (*scores)(void *state, int n, long blocks, const long *limit, float *maxima);
    // Row r's unnormalised probabilities over its `limit` keys from its maximum, zeros up to `most` keys; returns
    // 1 / Σ (0 for a row that weighs nothing).
    float (*probabilities)(void *state, int r, long limit, long most, float maximum);
    // Output rows i0 ..< i0 + n: the probabilities over `most` keys times the values, times `inverse[r]`.
    void (*values)(void *state, long i0, int n, long most, const float *inverse);
    // Output rows i0 ..< i0 + n set to zero.
    void (*zero)(void *state, long i0, int n);
} attention_tile_steps;

static inline int attention_tiles(const attention_tile_steps *steps, void *state, const float *q, long q_ld,
                                  long first_row, long row_count, long queries, long keys, long dim, long valid_keys,
                                  int causal) {
    const long usable = valid_keys < 0 || valid_keys > keys ? keys : valid_keys;
    const long end = first_row + row_count;
    for (long i0 = first_row; i0 < end; i0 += ATTENTION_TILE_ROWS) {
        const int n = (int)(end - i0 < ATTENTION_TILE_ROWS ? end - i0 : ATTENTION_TILE_ROWS);
        long limit[ATTENTION_TILE_ROWS], most = 0;
        for (int r = 0; r < n; r++) {
            long l = usable;
            if (causal) {
                long c = i0 + r + keys - queries + 1;  // query i sees keys 0 ... i + keys − queries
                l = c < 0 ? 0 : (c < l ? c : l);
            }
            limit[r] = l;
            if (l > most) most = l;
        }
        for (int r = 0; r < ATTENTION_TILE_ROWS && i0 + ATTENTION_TILE_ROWS + r < end; r++) {
            prefetch_row(q + (i0 + ATTENTION_TILE_ROWS + r) * q_ld, dim);
        }
        if (most == 0) {
            steps->zero(state, i0, n);
            continue;
        }
        steps->queries(state, q, q_ld, i0, n);
        float maxima[ATTENTION_TILE_ROWS], inverse[ATTENTION_TILE_ROWS];
        steps->scores(state, n, (most + 15) / 16, limit, maxima);
        for (int r = 0; r < n; r++) inverse[r] = steps->probabilities(state, r, limit[r], most, maxima[r]);
        steps->values(state, i0, n, most, inverse);
    }
    return 0;
}
#endif
