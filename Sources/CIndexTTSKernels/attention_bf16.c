// Attention in bfloat16 for many queries (the S2M DiT: 1,291 queries and keys, head width 64), one (batch, head)
// pair at a time, on AVX512-BF16's `vdpbf16ps` (16 fp32 lanes += two bfloat16 products each). See
// indextts_kernels.h for the contract.
//
// Per pair the keys and values are rounded to bfloat16 once and packed for the two products:
//   keys   [key block of 16][pair of head channels][16 keys] × 2 bfloat16 — one 64-byte row holds channels 2p and
//          2p+1 of 16 keys, so a broadcast query pair times it adds two products to 16 scores;
//   values [pair of keys][value channel] × 2 bfloat16 — one 64-byte row holds keys 2j and 2j+1 of 16 channels, so a
//          broadcast probability pair (adjacent in a row of P) times it adds two products to 16 outputs.
// Then per tile of 6 query rows: S = Q·Kᵀ (fp32, 6 rows × 64 keys in 24 accumulators per pass), the unnormalised
// softmax of each row rounded to bfloat16 (as `indextts_softmax_row_bf16`, with each row's maximum taken while the
// scores leave the registers), O = P·V (6 rows × 64 channels in 24 accumulators), rows divided by their sums. A
// tile's scores (6 × keys × 4 bytes: 31 KB at 1,291 keys) and probabilities stay in L1/L2 between the three steps;
// keys and values (165 KB each at 1,291 × 64) stay in L2.
#include "indextts_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention_rows.h"
#include "bf16_math.h"

#define INLINE static inline __attribute__((always_inline))

enum { TILE_ROWS = ATTENTION_TILE_ROWS, KEY_BLOCKS = 4, VALUE_BLOCKS = 4 };
// The tile switches below have cases for 1 ... 6 rows.
_Static_assert(ATTENTION_TILE_ROWS == 6, "tile cases for 1 ... 6 rows");

long indextts_attention_bf16_packed_count(long keys, long dim, long value_dim) {
    long pairs = (dim + 1) / 2;
    return round_up(keys, 16) * pairs * 2 + (keys + 1) / 2 * round_up(value_dim, 16) * 2;
}

// `n` values rounded to bfloat16 (nearest even, `vcvtneps2bf16`), then zeros up to `padded`.
INLINE BF16K void row_to_bf16(const float *src, uint16_t *dst, long n, long padded) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i)));
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm256_mask_storeu_epi16(dst + i, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i)));
    }
    for (long j = n; j < padded; j++) dst[j] = 0;
}

BF16K int indextts_attention_bf16_pack(const float *k, long k_ld, const float *v, long v_ld, long keys, long dim,
                                       long value_dim, const float *k_cos, const float *k_sin, long rotary_pairs,
                                       uint16_t *packed) {
    if (keys < 0 || dim < 1 || value_dim < 1 || dim > 4096 || value_dim > 4096 || 2 * rotary_pairs > dim) return -1;
    const long pairs = (dim + 1) / 2, blocks = (keys + 15) / 16;
    const long valuePadded = round_up(value_dim, 32);  // the interleaving below works 32 channels at a time
    const long valueRow = round_up(value_dim, 16) * 2;  // bfloat16 per key pair in the packed values
    uint16_t *scratch = malloc((size_t)(2 * pairs + 2 * valuePadded) * sizeof(uint16_t) + (size_t)dim * sizeof(float));
    if (!scratch) return -1;
    float *rotated = (float *)(scratch + 2 * pairs + 2 * valuePadded);
    // Keys: the 32-bit pair p of key j goes to lane j % 16 of row p in block j / 16. Rows of a fused projection
    // lie kilobytes apart (the hardware prefetchers do not follow strides across pages), so the rows a few keys
    // ahead are prefetched.
    uint32_t *kp = (uint32_t *)packed;
    for (long j = 0; j < blocks * 16; j++) {
        uint32_t *dst = kp + (j / 16) * pairs * 16 + j % 16;
        if (j + PREFETCH_ROWS < keys) prefetch_row(k + (j + PREFETCH_ROWS) * k_ld, dim);
        if (j < keys) {
            const float *row = rotate_row(k + j * k_ld, k_cos ? k_cos + j * rotary_pairs : NULL,
                                          k_sin ? k_sin + j * rotary_pairs : NULL, rotary_pairs, dim, rotated);
            row_to_bf16(row, scratch, dim, 2 * pairs);
            for (long p = 0; p < pairs; p++) memcpy(dst + p * 16, scratch + 2 * p, sizeof(uint32_t));  // one pair
        } else {
            for (long p = 0; p < pairs; p++) dst[p * 16] = 0;
        }
    }
    // Values: keys 2j and 2j+1 interleaved channel by channel.
    uint16_t *vp = packed + blocks * 16 * pairs * 2;
    uint16_t *a = scratch + 2 * pairs, *b = a + valuePadded;
    const __m512i low = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8,
                                         39, 7, 38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i high = _mm512_set_epi16(63, 31, 62, 30, 61, 29, 60, 28, 59, 27, 58, 26, 57, 25, 56, 24,
                                          55, 23, 54, 22, 53, 21, 52, 20, 51, 19, 50, 18, 49, 17, 48, 16);
    for (long j = 0; j < (keys + 1) / 2; j++) {
        if (2 * j + PREFETCH_ROWS + 1 < keys) {
            prefetch_row(v + (2 * j + PREFETCH_ROWS) * v_ld, value_dim);
            prefetch_row(v + (2 * j + PREFETCH_ROWS + 1) * v_ld, value_dim);
        }
        row_to_bf16(v + 2 * j * v_ld, a, value_dim, valuePadded);
        if (2 * j + 1 < keys) row_to_bf16(v + (2 * j + 1) * v_ld, b, value_dim, valuePadded);
        else memset(b, 0, (size_t)valuePadded * sizeof(uint16_t));
        uint16_t *dst = vp + j * valueRow;
        for (long c = 0; c < valuePadded; c += 32) {
            __m512i x = _mm512_loadu_si512(a + c), y = _mm512_loadu_si512(b + c);
            _mm512_storeu_si512(dst + 2 * c, _mm512_permutex2var_epi16(x, low, y));
            if (2 * c + 32 < valueRow) _mm512_storeu_si512(dst + 2 * c + 32, _mm512_permutex2var_epi16(x, high, y));
        }
    }
    free(scratch);
    return 0;
}

INLINE BF16K __m512bh broadcast_pair(const uint16_t *p) {
    int bits;
    memcpy(&bits, p, sizeof bits);
    return (__m512bh)_mm512_set1_epi32(bits);
}

// Scores of `rows` query rows (bfloat16, `q_ld` apart) against `blocks` blocks of 16 packed keys, the first of them
// key `key0`; each row's running maximum over its keys below `limit[r]` is kept in `maxima[r]` (16 lanes).
INLINE BF16K void score_tile(const uint16_t *q, long q_ld, const int rows, const uint16_t *kp, long pairs,
                             const int blocks, float *s, long s_ld, long key0, const long *limit, __m512 *maxima) {
    __m512 acc[TILE_ROWS][KEY_BLOCKS];
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_setzero_ps();
    const long blockStride = pairs * 32;
    for (long p = 0; p < pairs; p++) {
        __m512bh keys[KEY_BLOCKS];
        for (int b = 0; b < blocks; b++) keys[b] = (__m512bh)_mm512_loadu_si512(kp + b * blockStride + p * 32);
        for (int r = 0; r < rows; r++) {
            __m512bh query = broadcast_pair(q + r * q_ld + 2 * p);
            for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_dpbf16_ps(acc[r][b], query, keys[b]);
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
INLINE BF16K void value_tile(const uint16_t *pr, long p_ld, const int rows, const uint16_t *vp, long v_row,
                             long key_pairs, const int blocks, const float *inverse, float *out, uint16_t *out_bf16,
                             long o_ld, long columns) {
    __m512 acc[TILE_ROWS][VALUE_BLOCKS];
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_setzero_ps();
    for (long j = 0; j < key_pairs; j++) {
        __m512bh values[VALUE_BLOCKS];
        for (int b = 0; b < blocks; b++) values[b] = (__m512bh)_mm512_loadu_si512(vp + j * v_row + b * 32);
        for (int r = 0; r < rows; r++) {
            __m512bh weights = broadcast_pair(pr + r * p_ld + 2 * j);
            for (int b = 0; b < blocks; b++) acc[r][b] = _mm512_dpbf16_ps(acc[r][b], weights, values[b]);
        }
    }
    for (int r = 0; r < rows; r++) {
        __m512 f = _mm512_set1_ps(inverse[r]);
        for (int b = 0; b < blocks; b++) {
            long left = columns - b * 16;
            __m512 y = _mm512_mul_ps(acc[r][b], f);
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            if (out_bf16) _mm256_mask_storeu_epi16(out_bf16 + r * o_ld + b * 16, m, (__m256i)_mm512_cvtneps_pbh(y));
            else if (left >= 16) _mm512_storeu_ps(out + r * o_ld + b * 16, y);
            else _mm512_mask_storeu_ps(out + r * o_ld + b * 16, m, y);
        }
    }
}

// The driver's state (attention_rows.h) for one call: the packed keys and values; a tile's scores (`s_ld` apart),
// probabilities and query rows in bfloat16 (`p_ld`, `qb_ld` apart) and one rotated query row; the output (fp32 or
// bfloat16 rows).
typedef struct {
    const uint16_t *kp, *vp;
    const float *q_cos, *q_sin;
    float *s, *rotated, *out;
    uint16_t *pb, *qb, *out_bf16;
    long s_ld, p_ld, qb_ld, pairs, dim, value_row, value_dim, rotary_pairs, o_ld;
    float scale;
} bf16_tile;

static BF16K void bf16_queries(void *state, const float *q, long q_ld, long i0, int n) {
    const bf16_tile *t = state;
    for (int r = 0; r < n; r++) {
        const long i = i0 + r;
        const float *row = rotate_row(q + i * q_ld, t->q_cos ? t->q_cos + i * t->rotary_pairs : NULL,
                                      t->q_sin ? t->q_sin + i * t->rotary_pairs : NULL, t->rotary_pairs, t->dim,
                                      t->rotated);
        row_to_bf16(row, t->qb + r * t->qb_ld, t->dim, t->qb_ld);
    }
}

#define SCORE_CASE(R, B) \
    case (R) * 8 + (B): \
        score_tile(t->qb, t->qb_ld, R, t->kp + kb * t->pairs * 32, t->pairs, B, t->s + kb * 16, t->s_ld, kb * 16, \
                   limit, m); \
        break;
#define SCORE_ROW(R) SCORE_CASE(R, 1) SCORE_CASE(R, 2) SCORE_CASE(R, 3) SCORE_CASE(R, 4)

static BF16K void bf16_scores(void *state, int n, long blocks, const long *limit, float *maxima) {
    const bf16_tile *t = state;
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

static BF16K float bf16_probabilities(void *state, int r, long limit, long most, float maximum) {
    const bf16_tile *t = state;
    uint16_t *row = t->pb + r * t->p_ld;
    // The maximum came with the scores. They are finite unless the inputs are not (or a product overflows fp32):
    // clamped as in indextts_softmax_row_bf16, so a −∞ score weighs 0 on both paths.
    const float inverse = limit > 0 ? softmax_exponentials_bf16(t->s + r * t->s_ld, limit, t->scale, maximum, row) : 0.0f;
    for (long j = limit > 0 ? limit : 0; j < round_up(most, 2); j++) row[j] = 0;  // P·V reads keys in pairs
    return inverse;
}

#define VALUE_CASE(R, B) \
    case (R) * 8 + (B): \
        value_tile(t->pb, t->p_ld, R, t->vp + 2 * c0, t->value_row, key_pairs, B, inverse, o ? o + c0 : NULL, \
                   o ? NULL : ob + c0, t->o_ld, t->value_dim - c0); \
        break;
#define VALUE_ROW(R) VALUE_CASE(R, 1) VALUE_CASE(R, 2) VALUE_CASE(R, 3) VALUE_CASE(R, 4)

static BF16K void bf16_values(void *state, long i0, int n, long most, const float *inverse) {
    const bf16_tile *t = state;
    float *o = t->out ? t->out + i0 * t->o_ld : NULL;
    uint16_t *ob = t->out ? NULL : t->out_bf16 + i0 * t->o_ld;
    const long key_pairs = (most + 1) / 2;
    for (long c0 = 0; c0 < t->value_dim; c0 += 16 * VALUE_BLOCKS) {
        const long left = (t->value_dim - c0 + 15) / 16;
        const int nb = (int)(left < VALUE_BLOCKS ? left : VALUE_BLOCKS);
        switch (n * 8 + nb) {
            VALUE_ROW(1) VALUE_ROW(2) VALUE_ROW(3) VALUE_ROW(4) VALUE_ROW(5) VALUE_ROW(6)
            default: break;
        }
    }
}

static void bf16_zero(void *state, long i0, int n) {
    const bf16_tile *t = state;
    for (int r = 0; r < n; r++) {
        if (t->out) memset(t->out + (i0 + r) * t->o_ld, 0, (size_t)t->value_dim * sizeof(float));
        else memset(t->out_bf16 + (i0 + r) * t->o_ld, 0, (size_t)t->value_dim * sizeof(uint16_t));
    }
}

static const attention_tile_steps bf16_steps = {bf16_queries, bf16_scores, bf16_probabilities, bf16_values, bf16_zero};

BF16K int indextts_attention_bf16_rows(const float *q, long q_ld, long first_row, long row_count, long queries,
                                       const uint16_t *packed, long keys, long dim, long value_dim, float scale,
                                       long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                       long rotary_pairs, float *out, uint16_t *out_bf16, long o_ld) {
    if (row_count <= 0) return 0;
    if ((!out && !out_bf16) || !(scale > 0)) return -1;
    if (keys < 0 || dim < 1 || value_dim < 1 || dim > 4096 || value_dim > 4096 || 2 * rotary_pairs > dim) return -1;
    const long pairs = (dim + 1) / 2, blocks = (keys + 15) / 16;
    bf16_tile t = {.kp = packed, .vp = packed + blocks * 16 * pairs * 2, .q_cos = q_cos, .q_sin = q_sin, .out = out,
                   .out_bf16 = out_bf16, .s_ld = blocks * 16, .p_ld = round_up(keys, 2) + 2, .qb_ld = 2 * pairs,
                   .pairs = pairs, .dim = dim, .value_row = round_up(value_dim, 16) * 2, .value_dim = value_dim,
                   .rotary_pairs = rotary_pairs, .o_ld = o_ld, .scale = scale};
    t.s = malloc((size_t)(TILE_ROWS * t.s_ld + 16 + dim) * sizeof(float));
    t.pb = malloc((size_t)(TILE_ROWS * (t.p_ld + t.qb_ld)) * sizeof(uint16_t));
    int status = -1;
    if (t.s && t.pb) {
        t.qb = t.pb + TILE_ROWS * t.p_ld;
        t.rotated = t.s + TILE_ROWS * t.s_ld + 16;
        status = attention_tiles(&bf16_steps, &t, q, q_ld, first_row, row_count, queries, keys, dim, valid_keys,
                                 causal);
    }
    free(t.s);
    free(t.pb);
    return status;
}

#else
long indextts_attention_bf16_packed_count(long keys, long dim, long value_dim) { return 0; }
int indextts_attention_bf16_pack(const float *k, long k_ld, const float *v, long v_ld, long keys, long dim,
                                 long value_dim, const float *k_cos, const float *k_sin, long rotary_pairs,
                                 uint16_t *packed) { return -1; }
int indextts_attention_bf16_rows(const float *q, long q_ld, long first_row, long row_count, long queries,
                                 const uint16_t *packed, long keys, long dim, long value_dim, float scale,
                                 long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                 long rotary_pairs, float *out, uint16_t *out_bf16, long o_ld) { return -1; }
#endif
