// Winograd minimal filtering F(4, 4) for 1-D convolutions: see include/indextts_kernels.h. Plain C (the transforms
// are a few percent of the convolution's work; the products run as matrix products between them).
//
// Points 0, 1, −1, 2, −2, 1/2 and ∞ (derived exactly with Toom–Cook: y = Aᵀ[(G g) ⊙ (Bᵀ d)] computes the four
// correlations y_i = Σ_κ g_κ d_{i+κ} of a 4-tap filter g with 7 inputs d in 7 products instead of 16).
#include "indextts_kernels.h"
#include <string.h>

static const float G[7][4] = {
    {1, 0, 0, 0}, {1, 1, 1, 1}, {1, -1, 1, -1}, {1, 2, 4, 8}, {1, -2, 4, -8}, {1, 0.5f, 0.25f, 0.125f}, {0, 0, 0, 1},
};

static const float BT[7][7] = {
    {1.f, -2.f, -5.f / 4, 5.f / 2, 1.f / 4, -1.f / 2, 0.f},
    {0.f, (float)(-2.0 / 3), (float)(2.0 / 3), 3.f / 2, (float)(-1.0 / 6), (float)(-1.0 / 3), 0.f},
    {0.f, (float)(-2.0 / 9), (float)(2.0 / 3), (float)(-7.0 / 18), (float)(-1.0 / 6), (float)(1.0 / 9), 0.f},
    {0.f, (float)(1.0 / 36), (float)(-1.0 / 24), (float)(-1.0 / 18), (float)(1.0 / 24), (float)(1.0 / 36), 0.f},
    {0.f, (float)(1.0 / 60), (float)(-1.0 / 24), 0.f, (float)(1.0 / 24), (float)(-1.0 / 60), 0.f},
    {0.f, (float)(128.0 / 45), 0.f, (float)(-32.0 / 9), 0.f, (float)(32.0 / 45), 0.f},
    {0.f, -2.f, 4.f, 5.f / 2, -5.f, -1.f / 2, 1.f},
};

static const float AT[4][7] = {
    {1, 1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0.5f, 0},
    {0, 1, 1, 4, 4, 0.25f, 0},
    {0, 1, -1, 8, -8, 0.125f, 1},
};

void indextts_winograd44_weights(const float *w, long out_channels, long in_channels, long kernel, long subfilters,
                                 long o0, long o1, float *u, float *work) {
    const long columns = subfilters * in_channels, plane = out_channels * columns, taps = 4 * subfilters;
    for (long o = o0; o < o1; o++) {
        // Output channel o's taps transposed to [tap][in] (zero taps past the kernel), so that the loops below read
        // and write contiguous rows.
        for (long k = 0; k < taps; k++) {
            float *row = work + k * in_channels;
            if (k < kernel) {
                for (long c = 0; c < in_channels; c++) row[c] = w[(o * in_channels + c) * kernel + k];
            } else {
                memset(row, 0, sizeof(float) * (size_t)in_channels);
            }
        }
        for (long j = 0; j < subfilters; j++) {
            const float *g0 = work + 4 * j * in_channels, *g1 = g0 + in_channels, *g2 = g1 + in_channels,
                        *g3 = g2 + in_channels;
            for (int xi = 0; xi < 7; xi++) {
                const float a = G[xi][0], b = G[xi][1], c2 = G[xi][2], d = G[xi][3];
                float *target = u + xi * plane + o * columns + j * in_channels;
                for (long c = 0; c < in_channels; c++) target[c] = a * g0[c] + b * g1[c] + c2 * g2[c] + d * g3[c];
            }
        }
    }
}

// Samples of input row `row` for tiles [first, first + count): quarter q of tile m = b·d + p (b = m / d, p = m % d)
// is x[4d·b + p + q·d − padding], zero outside [0, in_time). Sample k of a tile is quarter k % 4 of tile m + (k / 4)·d,
// so four contiguous arrays hold every sample of the chunk's tiles.
static void quarters(const float *row, long in_time, long padding, long d, long first, long count, float *q[4]) {
    long b = first / d, p = first % d;
    for (long n = 0; n < count; n++) {
        const long base = 4 * d * b + p - padding;
        if (base >= 0 && base + 3 * d < in_time) {
            for (int k = 0; k < 4; k++) q[k][n] = row[base + k * d];
        } else {
            for (int k = 0; k < 4; k++) {
                const long t = base + k * d;
                q[k][n] = t >= 0 && t < in_time ? row[t] : 0.f;
            }
        }
        if (++p == d) {
            p = 0;
            b++;
        }
    }
}

long indextts_winograd44_input_work(long dilation, long subfilters, long tiles) {
    const long span = tiles + (subfilters - 1) * dilation;
    return 4 * (span + dilation) + 7 * span;
}

void indextts_winograd44_input(const float *x, long in_time, long in_channels, long c0, long c1, long padding,
                               long dilation, long subfilters, long tile0, long tiles, float *s, float *work) {
    const long d = dilation, rows = subfilters * in_channels, plane = rows * tiles;
    // Tiles [tile0, tile0 + span) feed this chunk (sub-filter j of output tile n reads tile n + j·d); their samples
    // reach into the next d tiles (samples 4–6 are quarters of tile m + d).
    const long span = tiles + (subfilters - 1) * d;
    float *buffer = work;
    float *q[4] = {buffer, buffer + (span + d), buffer + 2 * (span + d), buffer + 3 * (span + d)};
    float *v = buffer + 4 * (span + d);
    for (long c = c0; c < c1; c++) {
        quarters(x + c * in_time, in_time, padding, d, tile0, span + d, q);
        const float *q4 = q[0] + d, *q5 = q[1] + d, *q6 = q[2] + d;
        for (int xi = 0; xi < 7; xi++) {
            const float b0 = BT[xi][0], b1 = BT[xi][1], b2 = BT[xi][2], b3 = BT[xi][3], b4 = BT[xi][4], b5 = BT[xi][5],
                        b6 = BT[xi][6];
            float *out = v + xi * span;
            for (long m = 0; m < span; m++) {
                out[m] = b0 * q[0][m] + b1 * q[1][m] + b2 * q[2][m] + b3 * q[3][m] + b4 * q4[m] + b5 * q5[m] +
                         b6 * q6[m];
            }
        }
        // Row (j, c) of plane ξ: the chunk's tiles shifted by j·d.
        for (long j = 0; j < subfilters; j++) {
            for (int xi = 0; xi < 7; xi++) {
                memcpy(s + xi * plane + (j * in_channels + c) * tiles, v + xi * span + j * d, sizeof(float) * (size_t)tiles);
            }
        }
    }
}

void indextts_winograd44_output(const float *products, long out_channels, long o0, long o1, long dilation,
                                long tile0, long tiles, long out_time, const float *bias, float *y, float *work) {
    const long d = dilation, plane = out_channels * tiles;
    float *buffer = work;
    for (long o = o0; o < o1; o++) {
        const float *p = products + o * tiles;
        const float bo = bias ? bias[o] : 0.f;
        // The four outputs of every tile, contiguous per output index i.
        for (int i = 0; i < 4; i++) {
            const float a0 = AT[i][0], a1 = AT[i][1], a2 = AT[i][2], a3 = AT[i][3], a4 = AT[i][4], a5 = AT[i][5],
                        a6 = AT[i][6];
            float *out = buffer + i * tiles;
            for (long n = 0; n < tiles; n++) {
                out[n] = bo + a0 * p[n] + a1 * p[plane + n] + a2 * p[2 * plane + n] + a3 * p[3 * plane + n] +
                         a4 * p[4 * plane + n] + a5 * p[5 * plane + n] + a6 * p[6 * plane + n];
            }
        }
        // Output i of tile n = b·d + ph goes to t = 4d·b + ph + d·i.
        float *row = y + o * out_time;
        long b = tile0 / d, ph = tile0 % d;
        for (long n = 0; n < tiles; n++) {
            const long t = 4 * d * b + ph;
            for (int i = 0; i < 4; i++) {
                if (t + i * d < out_time) row[t + i * d] = buffer[i * tiles + n];
            }
            if (++ph == d) {
                ph = 0;
                b++;
            }
        }
    }
}
