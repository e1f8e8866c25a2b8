// Attention in fp32 for many queries (the S2M DiT: 1,291 queries and keys, head width 64; the GPT's prefill), one
// (batch, head) pair at a time, on AVX-512F or AVX2 FMAs. The fp32 sibling of attention_bf16.c; see
// indextts_kernels.h for the contract.
//
// Per pair the keys and values are copied once into the layouts the two products read:
//   keys   [key block of 16][head channel][16 keys] — one 64-byte row holds channel c of 16 keys, so a broadcast query
//          channel times it adds one product to 16 scores;
//   values [key][value channel, padded to 16] — a broadcast probability times a row adds one product to 16 outputs.
// Then per tile of 6 query rows: S = Q·Kᵀ (6 rows × 64 keys in 24 accumulators per pass), the unnormalised softmax of
// each row in place (as `indextts_softmax_row_avx512` computes it, each row's maximum taken while the scores leave the
// registers), O = P·V (6 rows × 64 channels in 24 accumulators), rows divided by their sums. A tile's scores (6 ×
// keys × 4 bytes: 31 KB at 1,291 keys) stay in L1/L2 between the three steps, keys and values (330 KB each at
// 1,291 × 64) in L2. Against OpenBLAS products around separate softmax passes over the whole [queries, keys] score
// matrix (6.7 MB per pair at 1,291²), nothing but the output leaves the cache. The AVX2 variant reads the same
// packing (a 16-key row as two 8-lane halves) in tiles of 6 rows × 16 keys or channels (12 accumulators in 16
// registers); the tile driver the bf16 kernel also runs (attention_rows.h) calls the instruction set's functions
// once per tile.
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention_rows.h"

#define INLINE static inline __attribute__((always_inline))
#define K512 AVX512_MATH
#define AVX2K AVX2_MATH

enum { TILE_ROWS = ATTENTION_TILE_ROWS, KEY_BLOCKS = 4, VALUE_BLOCKS = 4 };
// The tile switches below have cases for 1 ... 6 rows.
_Static_assert(ATTENTION_TILE_ROWS == 6, "tile cases for 1 ... 6 rows");

long indextts_attention_f32_packed_count(long keys, long dim, long value_dim) {
    if (keys < 0 || dim < 1 || value_dim < 1) return -1;
    return round_up(keys, 16) * dim + keys * round_up(value_dim, 16);
}

int indextts_attention_f32_pack(const float *k, long k_ld, const float *v, long v_ld, long keys, long dim,
                                long value_dim, const float *k_cos, const float *k_sin, long rotary_pairs,
                                float *packed) {
    if (keys < 0 || dim < 1 || value_dim < 1 || dim > 4096 || value_dim > 4096 || 2 * rotary_pairs > dim) return -1;
    const long blocks = (keys + 15) / 16, valueRow = round_up(value_dim, 16);
    float *rotated = malloc((size_t)dim * sizeof(float));
    if (!rotated) return -1;
    // Keys: channel c of key j goes to lane j % 16 of row c in block j / 16. Rows of a fused projection lie kilobytes
    // apart (the hardware prefetchers do not follow strides across pages), so the rows a few keys ahead are
    // prefetched.
    for (long j = 0; j < blocks * 16; j++) {
        float *dst = packed + (j / 16) * dim * 16 + j % 16;
        if (j + PREFETCH_ROWS < keys) prefetch_row(k + (j + PREFETCH_ROWS) * k_ld, dim);
        if (j < keys) {
            const float *row = rotate_row_scalar(k + j * k_ld, k_cos ? k_cos + j * rotary_pairs : NULL,
                                                 k_sin ? k_sin + j * rotary_pairs : NULL, rotary_pairs, dim, rotated);
            for (long c = 0; c < dim; c++) dst[c * 16] = row[c];
        } else {
            for (long c = 0; c < dim; c++) dst[c * 16] = 0;
        }
    }
    // Values: dense rows, zeros up to the padded width.
    float *vp = packed + blocks * 16 * dim;
    for (long j = 0; j < keys; j++) {
        if (j + PREFETCH_ROWS < keys) prefetch_row(v + (j + PREFETCH_ROWS) * v_ld, value_dim);
        memcpy(vp + j * valueRow, v + j * v_ld, (size_t)value_dim * sizeof(float));
        for (long c = value_dim; c < valueRow; c++) vp[j * valueRow + c] = 0;
    }
    free(rotated);
    return 0;
}

// Scores of `rows` query rows (`q_ld` apart) against `blocks` blocks of 16 packed keys, the first of them key `key0`;
// each row's running maximum over its keys below `limit[r]` is kept in `maxima[r]` (16 lanes).
INLINE K512 void score_tile(const float *q, long q_ld, const int rows, const float *kp, long dim, const int blocks,
                            float *s, long s_ld, long key0, const long *limit, __m512 *maxima) {
    __m512 acc[TILE_ROWS][KEY_BLOCKS];
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_setzero_ps();
    const long blockStride = dim * 16;
    for (long c = 0; c < dim; c++) {
        __m512 keys[KEY_BLOCKS];
        for (int b = 0; b < blocks; b++) keys[b] = _mm512_loadu_ps(kp + b * blockStride + c * 16);
        for (int r = 0; r < rows; r++) {
            __m512 query = _mm512_set1_ps(q[r * q_ld + c]);
            for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_fmadd_ps(query, keys[b], acc[r][b]);
        }
    }
    for (int r = 0; r < rows; r++) {
        __m512 m = maxima[r];
        for (int b = 0; b < blocks; b++) {
            _mm512_storeu_ps(s + r * s_ld + b * 16, acc[r][b]);
            const long left = limit[r] - (key0 + b * 16);
            if (left >= 16) m = _mm512_max_ps(m, acc[r][b]);
            else if (left > 0) m = _mm512_mask_max_ps(m, (__mmask16)((1u << left) - 1), m, acc[r][b]);
        }
        maxima[r] = m;
    }
}

// out[r][0..<columns] = (P[r] · V)[c0 ..< c0 + columns] · inverse[r] for `blocks` blocks of 16 value channels.
INLINE K512 void value_tile(const float *p, long p_ld, const int rows, const float *vp, long v_row, long keys,
                            const int blocks, const float *inverse, float *out, long o_ld, long columns) {
    __m512 acc[TILE_ROWS][VALUE_BLOCKS];
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_setzero_ps();
    for (long j = 0; j < keys; j++) {
        __m512 values[VALUE_BLOCKS];
        for (int b = 0; b < blocks; b++) values[b] = _mm512_loadu_ps(vp + j * v_row + b * 16);
        for (int r = 0; r < rows; r++) {
            __m512 weight = _mm512_set1_ps(p[r * p_ld + j]);
            for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_fmadd_ps(weight, values[b], acc[r][b]);
        }
    }
    for (int r = 0; r < rows; r++) {
        __m512 f = _mm512_set1_ps(inverse[r]);
        for (int b = 0; b < blocks; b++) {
            long left = columns - b * 16;
            __m512 y = _mm512_mul_ps(acc[r][b], f);
            if (left >= 16) _mm512_storeu_ps(out + r * o_ld + b * 16, y);
            else _mm512_mask_storeu_ps(out + r * o_ld + b * 16, (__mmask16)((1u << left) - 1), y);
        }
    }
}


#define SCORE_CASE(R, B) \
    case (R) * 8 + (B): \
        score_tile(qt, dim, R, kp + kb * dim * 16, dim, B, s + kb * 16, s_ld, kb * 16, limit, m); break;
#define SCORE_ROW(R) SCORE_CASE(R, 1) SCORE_CASE(R, 2) SCORE_CASE(R, 3) SCORE_CASE(R, 4)
#define VALUE_CASE(R, B) \
    case (R) * 8 + (B): \
        value_tile(p, p_ld, R, vp + c0, value_row, keys, B, inverse, o + c0, o_ld, value_dim - c0); break;
#define VALUE_ROW(R) VALUE_CASE(R, 1) VALUE_CASE(R, 2) VALUE_CASE(R, 3) VALUE_CASE(R, 4)

// One tile's work per instruction set, called by the driver below: the scores of `n` query rows (`qt`, `dim` apart)
// against the first `blocks` 16-key blocks with each row's maximum over its keys below `limit[r]`; the
// exponentials of a row (`exponentials_avx512`); the output rows; a query row rotated.
typedef struct {
    void (*scores)(const float *qt, long dim, int n, const float *kp, long blocks, float *s, long s_ld,
                   const long *limit, float *maxima);
    float (*exponentials)(float *row, long n, long padded, float scale, float maximum);
    void (*values)(const float *p, long p_ld, int n, const float *vp, long value_row, long keys,
                   const float *inverse, float *o, long o_ld, long value_dim);
    const float *(*rotate)(const float *src, const float *cs, const float *sn, long rotary_pairs, long n,
                           float *rotated);
} tile_kernels;

static K512 void scores_avx512(const float *qt, long dim, int n, const float *kp, long blocks, float *s, long s_ld,
                               const long *limit, float *maxima) {
    __m512 m[TILE_ROWS];
    for (int r = 0; r < TILE_ROWS; r++) m[r] = _mm512_set1_ps(-INFINITY);
    for (long kb = 0; kb < blocks; kb += KEY_BLOCKS) {
        const int nb = (int)(blocks - kb < KEY_BLOCKS ? blocks - kb : KEY_BLOCKS);
        switch (n * 8 + nb) {
            SCORE_ROW(1) SCORE_ROW(2) SCORE_ROW(3) SCORE_ROW(4) SCORE_ROW(5) SCORE_ROW(6)
            default: break;
        }
    }
    for (int r = 0; r < n; r++) maxima[r] = _mm512_reduce_max_ps(m[r]);
}

// e^(scale·(x − maximum)) over the first n scores of a row, in place (the attention softmax rows' arithmetic:
// avx512_math.h, avx2_math.h), then zeros up to `padded`; returns 1 / Σ.
static K512 float exponentials_avx512(float *row, long n, long padded, float scale, float maximum) {
    const float inverse = exponentials512(row, n, scale, maximum, NULL);
    for (long i = n; i < padded; i++) row[i] = 0;
    return inverse;
}

static K512 void values_avx512(const float *p, long p_ld, int n, const float *vp, long value_row, long keys,
                               const float *inverse, float *o, long o_ld, long value_dim) {
    for (long c0 = 0; c0 < value_dim; c0 += 16 * VALUE_BLOCKS) {
        const long left = (value_dim - c0 + 15) / 16;
        const int nb = (int)(left < VALUE_BLOCKS ? left : VALUE_BLOCKS);
        switch (n * 8 + nb) {
            VALUE_ROW(1) VALUE_ROW(2) VALUE_ROW(3) VALUE_ROW(4) VALUE_ROW(5) VALUE_ROW(6)
            default: break;
        }
    }
}

static K512 const float *rotate_avx512(const float *src, const float *cs, const float *sn, long rotary_pairs, long n,
                                       float *rotated) {
    return rotate_row(src, cs, sn, rotary_pairs, n, rotated);
}

static const tile_kernels kernels_avx512 = {scores_avx512, exponentials_avx512, values_avx512, rotate_avx512};

// ---- AVX2: 8 lanes, the same packing (a 16-key block row is two 8-lane halves), tiles of 6 query rows × 16 keys
// (or 16 value channels): 12 accumulators, 2 operand vectors and a broadcast in 16 registers.

INLINE AVX2K void score_tile_avx2(const float *q, long q_ld, const int rows, const float *kp, long dim, float *s,
                                  long s_ld, long key0, const long *limit, __m256 *maxima) {
    __m256 acc[TILE_ROWS][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (long c = 0; c < dim; c++) {
        const __m256 k0 = _mm256_loadu_ps(kp + c * 16), k1 = _mm256_loadu_ps(kp + c * 16 + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 query = _mm256_broadcast_ss(q + r * q_ld + c);
            acc[r][0] = _mm256_fmadd_ps(query, k0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(query, k1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        __m256 m = maxima[r];
        for (int h = 0; h < 2; h++) {
            _mm256_storeu_ps(s + r * s_ld + h * 8, acc[r][h]);
            const long left = limit[r] - (key0 + h * 8);
            if (left >= 8) {
                m = _mm256_max_ps(m, acc[r][h]);
            } else if (left > 0) {
                const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), lanes));
                m = _mm256_max_ps(m, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), acc[r][h], keep));
            }
        }
        maxima[r] = m;
    }
}

INLINE AVX2K void value_tile_avx2(const float *p, long p_ld, const int rows, const float *vp, long v_row, long keys,
                                  const float *inverse, float *out, long o_ld, long columns) {
    __m256 acc[TILE_ROWS][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (long j = 0; j < keys; j++) {
        const __m256 v0 = _mm256_loadu_ps(vp + j * v_row), v1 = _mm256_loadu_ps(vp + j * v_row + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 weight = _mm256_broadcast_ss(p + r * p_ld + j);
            acc[r][0] = _mm256_fmadd_ps(weight, v0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(weight, v1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        const __m256 f = _mm256_set1_ps(inverse[r]);
        float y[16];
        _mm256_storeu_ps(y, _mm256_mul_ps(acc[r][0], f));
        _mm256_storeu_ps(y + 8, _mm256_mul_ps(acc[r][1], f));
        if (columns >= 16) memcpy(out + r * o_ld, y, 16 * sizeof(float));
        else memcpy(out + r * o_ld, y, (size_t)columns * sizeof(float));
    }
}


static AVX2K void scores_avx2(const float *qt, long dim, int n, const float *kp, long blocks, float *s, long s_ld,
                              const long *limit, float *maxima) {
    __m256 m[TILE_ROWS];
    for (int r = 0; r < TILE_ROWS; r++) m[r] = _mm256_set1_ps(-INFINITY);
    // A constant row count per call, so the accumulators stay in registers.
#define SCORE_AVX2(R) \
    case R: \
        for (long kb = 0; kb < blocks; kb++) \
            score_tile_avx2(qt, dim, R, kp + kb * dim * 16, dim, s + kb * 16, s_ld, kb * 16, limit, m); \
        break;
    switch (n) {
        SCORE_AVX2(1) SCORE_AVX2(2) SCORE_AVX2(3) SCORE_AVX2(4) SCORE_AVX2(5) SCORE_AVX2(6)
        default: break;
    }
#undef SCORE_AVX2
    for (int r = 0; r < n; r++) maxima[r] = hmax256(m[r]);
}

static AVX2K void values_avx2(const float *p, long p_ld, int n, const float *vp, long value_row, long keys,
                              const float *inverse, float *o, long o_ld, long value_dim) {
#define VALUE_AVX2(R) \
    case R: \
        for (long c0 = 0; c0 < value_dim; c0 += 16) \
            value_tile_avx2(p, p_ld, R, vp + c0, value_row, keys, inverse, o + c0, o_ld, value_dim - c0); \
        break;
    switch (n) {
        VALUE_AVX2(1) VALUE_AVX2(2) VALUE_AVX2(3) VALUE_AVX2(4) VALUE_AVX2(5) VALUE_AVX2(6)
        default: break;
    }
#undef VALUE_AVX2
}

static AVX2K float exponentials_avx2(float *row, long n, long padded, float scale, float maximum) {
    const float inverse = exponentials256(row, n, scale, maximum, NULL);
    for (long i = n; i < padded; i++) row[i] = 0;
    return inverse;
}

static const float *rotate_scalar(const float *src, const float *cs, const float *sn, long rotary_pairs, long n,
                                  float *rotated) {
    return rotate_row_scalar(src, cs, sn, rotary_pairs, n, rotated);
}

static const tile_kernels kernels_avx2 = {scores_avx2, exponentials_avx2, values_avx2, rotate_scalar};

// The driver's state (attention_rows.h) for one call: `k`'s tile functions, the packed keys and values, a tile's
// scores (`s_ld` apart, the probabilities written over them) and query rows (dense, `dim` apart), the output.
typedef struct {
    const tile_kernels *k;
    const float *kp, *vp, *q_cos, *q_sin;
    float *s, *qt, *out;
    long s_ld, dim, value_row, value_dim, rotary_pairs, o_ld;
    float scale;
} f32_tile;

static void f32_queries(void *state, const float *q, long q_ld, long i0, int n) {
    const f32_tile *t = state;
    for (int r = 0; r < n; r++) {
        const long i = i0 + r;
        float *dst = t->qt + r * t->dim;
        const float *row = t->k->rotate(q + i * q_ld, t->q_cos ? t->q_cos + i * t->rotary_pairs : NULL,
                                        t->q_sin ? t->q_sin + i * t->rotary_pairs : NULL, t->rotary_pairs, t->dim, dst);
        if (row != dst) memcpy(dst, row, (size_t)t->dim * sizeof(float));
    }
}

static void f32_scores(void *state, int n, long blocks, const long *limit, float *maxima) {
    const f32_tile *t = state;
    t->k->scores(t->qt, t->dim, n, t->kp, blocks, t->s, t->s_ld, limit, maxima);
}

static float f32_probabilities(void *state, int r, long limit, long most, float maximum) {
    const f32_tile *t = state;
    float *row = t->s + r * t->s_ld;
    // A row whose maximum is −∞ (no keys, or inputs that are not finite) weighs nothing, as in
    // indextts_softmax_row_avx512.
    if (limit <= 0 || maximum == -INFINITY) {
        memset(row, 0, (size_t)most * sizeof(float));
        return 0;
    }
    return t->k->exponentials(row, limit, most, t->scale, maximum);
}

static void f32_values(void *state, long i0, int n, long most, const float *inverse) {
    const f32_tile *t = state;
    t->k->values(t->s, t->s_ld, n, t->vp, t->value_row, most, inverse, t->out + i0 * t->o_ld, t->o_ld, t->value_dim);
}

static void f32_zero(void *state, long i0, int n) {
    const f32_tile *t = state;
    for (int r = 0; r < n; r++) memset(t->out + (i0 + r) * t->o_ld, 0, (size_t)t->value_dim * sizeof(float));
}

static const attention_tile_steps f32_steps = {f32_queries, f32_scores, f32_probabilities, f32_values, f32_zero};

// Output rows `first_row ..< first_row + row_count` in tiles of 6 query rows on `k`'s tile functions.
static int attention_rows(const tile_kernels *k, const float *q, long q_ld, long first_row, long row_count,
                          long queries, const float *packed, long keys, long dim, long value_dim, float scale,
                          long valid_keys, int causal, const float *q_cos, const float *q_sin, long rotary_pairs,
                          float *out, long o_ld) {
    if (row_count <= 0) return 0;
    if (!out || !(scale > 0)) return -1;
    if (keys < 0 || dim < 1 || value_dim < 1 || dim > 4096 || value_dim > 4096 || 2 * rotary_pairs > dim) return -1;
    const long blocks = (keys + 15) / 16;
    f32_tile t = {.k = k, .kp = packed, .vp = packed + blocks * 16 * dim, .q_cos = q_cos, .q_sin = q_sin,
                  .out = out, .s_ld = blocks * 16, .dim = dim, .value_row = round_up(value_dim, 16),
                  .value_dim = value_dim, .rotary_pairs = rotary_pairs, .o_ld = o_ld, .scale = scale};
    t.s = malloc((size_t)(TILE_ROWS * t.s_ld + TILE_ROWS * dim) * sizeof(float));
    if (!t.s) return -1;
    t.qt = t.s + TILE_ROWS * t.s_ld;
    const int status = attention_tiles(&f32_steps, &t, q, q_ld, first_row, row_count, queries, keys, dim,
                                       valid_keys, causal);
    free(t.s);
    return status;
}

int indextts_attention_f32_rows_avx512(const float *q, long q_ld, long first_row, long row_count, long queries,
                                       const float *packed, long keys, long dim, long value_dim, float scale,
                                       long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                       long rotary_pairs, float *out, long o_ld) {
    return attention_rows(&kernels_avx512, q, q_ld, first_row, row_count, queries, packed, keys, dim, value_dim, scale,
                          valid_keys, causal, q_cos, q_sin, rotary_pairs, out, o_ld);
}

int indextts_attention_f32_rows_avx2(const float *q, long q_ld, long first_row, long row_count, long queries,
                                     const float *packed, long keys, long dim, long value_dim, float scale,
                                     long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                     long rotary_pairs, float *out, long o_ld) {
    return attention_rows(&kernels_avx2, q, q_ld, first_row, row_count, queries, packed, keys, dim, value_dim, scale,
                          valid_keys, causal, q_cos, q_sin, rotary_pairs, out, o_ld);
}

#else
long indextts_attention_f32_packed_count(long keys, long dim, long value_dim) { return -1; }
int indextts_attention_f32_pack(const float *k, long k_ld, const float *v, long v_ld, long keys, long dim,
                                long value_dim, const float *k_cos, const float *k_sin, long rotary_pairs,
                                float *packed) { return -1; }
int indextts_attention_f32_rows_avx512(const float *q, long q_ld, long first_row, long row_count, long queries,
                                       const float *packed, long keys, long dim, long value_dim, float scale,
                                       long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                       long rotary_pairs, float *out, long o_ld) { return -1; }
int indextts_attention_f32_rows_avx2(const float *q, long q_ld, long first_row, long row_count, long queries,
                                     const float *packed, long keys, long dim, long value_dim, float scale,
                                     long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                     long rotary_pairs, float *out, long o_ld) { return -1; }
#endif
