// Winograd minimal filtering F(4, 5) on time-major rows: see include/indextts_kernels.h. Plain C (the transforms
// are a few percent of the convolution's work; the products run as matrix products between them).
//
// Points 0, 1, −1, 2, −2, 1/2, −1/2 and ∞, derived exactly with Toom–Cook (tools/winograd/derive.py prints them):
// y = Aᵀ[(G g) ⊙ (Bᵀ d)] computes the four correlations y_i = Σ_κ g_κ d_{i+κ} of a 5-tap filter g with 8 inputs d
// in 8 products instead of 20. Each transform is written out term by term (the zeros of Bᵀ skipped) so that the
// loops over channels vectorise.
#include "indextts_kernels.h"
#include <stddef.h>

static const float G45[8][5] = {
    {1, 0, 0, 0, 0},
    {1, 1, 1, 1, 1},
    {1, -1, 1, -1, 1},
    {1, 2, 4, 8, 16},
    {1, -2, 4, -8, 16},
    {1, 0.5f, 0.25f, 0.125f, 0.0625f},
    {1, -0.5f, 0.25f, -0.125f, 0.0625f},
    {0, 0, 0, 0, 1},
};

void indextts_winograd45_weights(const float *w, long out_channels, long in_channels, long kernel, long c0, long c1,
                                 float *u) {
    const long plane = in_channels * out_channels;
    for (long c = c0; c < c1; c++) {
        for (long o = 0; o < out_channels; o++) {
            float g[5] = {0, 0, 0, 0, 0};
            for (long k = 0; k < kernel; k++) g[k] = w[(o * in_channels + c) * kernel + k];
            for (int xi = 0; xi < 8; xi++) {
                const float *r = G45[xi];
                u[xi * plane + c * out_channels + o] = r[0] * g[0] + r[1] * g[1] + r[2] * g[2] + r[3] * g[3] + r[4] * g[4];
            }
        }
    }
}

void indextts_winograd45_input(const float *const *frames, long in_channels, long n0, long n1, long tiles, float *v) {
    const long plane = tiles * in_channels;
    const float a = 21.f / 4, b = 2.f / 9, c = 17.f / 18, d = 1.f / 180, e = 1.f / 360, f = 1.f / 36, g = 1.f / 72,
                h = 1.f / 45, k = 1.f / 90, p = 64.f / 45, q = 128.f / 45, r = 16.f / 9, s = 32.f / 9, t = 16.f / 45,
                z = 32.f / 45;
    for (long n = n0; n < n1; n++) {
        const float *x[8];
        int zero = 0;
        for (int j = 0; j < 8; j++) {
            x[j] = frames[8 * n + j];
            zero |= x[j] == NULL;
        }
        float *out[8];
        for (int xi = 0; xi < 8; xi++) out[xi] = v + xi * plane + n * in_channels;
        for (long ch0 = 0; ch0 < in_channels; ch0 += 64) {
            const long width = in_channels - ch0 < 64 ? in_channels - ch0 : 64;
            // A block of up to 64 channels of the 8 frames (zeros for missing ones), then the 8 rows of Bᵀ d.
            float buffer[8][64];
            const float *dv[8];
            for (int j = 0; j < 8; j++) {
                if (!zero || x[j]) {
                    dv[j] = x[j] + ch0;
                } else {
                    for (long m = 0; m < width; m++) buffer[j][m] = 0.f;
                    dv[j] = buffer[j];
                }
            }
            const float *d0 = dv[0], *d1 = dv[1], *d2 = dv[2], *d3 = dv[3], *d4 = dv[4], *d5 = dv[5], *d6 = dv[6],
                        *d7 = dv[7];
            float *o0 = out[0] + ch0, *o1 = out[1] + ch0, *o2 = out[2] + ch0, *o3 = out[3] + ch0, *o4 = out[4] + ch0,
                  *o5 = out[5] + ch0, *o6 = out[6] + ch0, *o7 = out[7] + ch0;
            for (long m = 0; m < width; m++) {
                const float x0 = d0[m], x1 = d1[m], x2 = d2[m], x3 = d3[m], x4 = d4[m], x5 = d5[m], x6 = d6[m],
                            x7 = d7[m];
                o0[m] = x0 - a * x2 + a * x4 - x6;
                o1[m] = -b * x1 - b * x2 + c * x3 + c * x4 - b * x5 - b * x6;
                o2[m] = b * x1 - b * x2 - c * x3 + c * x4 + b * x5 - b * x6;
                o3[m] = d * x1 + e * x2 - f * x3 - g * x4 + h * x5 + k * x6;
                o4[m] = -d * x1 + e * x2 + f * x3 - g * x4 - h * x5 + k * x6;
                o5[m] = p * x1 + q * x2 - r * x3 - s * x4 + t * x5 + z * x6;
                o6[m] = -p * x1 + q * x2 + r * x3 - s * x4 - t * x5 + z * x6;
                o7[m] = -x1 + a * x3 - a * x5 + x7;
            }
        }
    }
}

void indextts_winograd45_output(const float *products, long out_channels, long n0, long n1, long tiles,
                                const float *bias, float *const *rows) {
    const long plane = tiles * out_channels;
    for (long n = n0; n < n1; n++) {
        const float *m0 = products + n * out_channels, *m1 = m0 + plane, *m2 = m1 + plane, *m3 = m2 + plane,
                    *m4 = m3 + plane, *m5 = m4 + plane, *m6 = m5 + plane, *m7 = m6 + plane;
        float *y0 = rows[4 * n], *y1 = rows[4 * n + 1], *y2 = rows[4 * n + 2], *y3 = rows[4 * n + 3];
        for (long o = 0; o < out_channels; o++) {
            const float bo = bias ? bias[o] : 0.f;
            const float sp1 = m1[o] + m2[o], sm1 = m1[o] - m2[o], sp2 = m3[o] + m4[o], sm2 = m3[o] - m4[o],
                        sph = m5[o] + m6[o], smh = m5[o] - m6[o];
            if (y0) y0[o] = bo + m0[o] + sp1 + sp2 + sph;
            if (y1) y1[o] = bo + sm1 + 2.f * sm2 + 0.5f * smh;
            if (y2) y2[o] = bo + sp1 + 4.f * sp2 + 0.25f * sph;
            if (y3) y3[o] = bo + sm1 + 8.f * sm2 + 0.125f * smh + m7[o];
        }
    }
}
