// See include/indextts_dnnl.h: 1-D convolutions on time-major rows in fixed-size tiles.
//
// On the plain channel-major layout (ncw) oneDNN 2.6 can only run a convolution as im2col + GEMM (`gemm:jit`), which
// on the narrow channels of a vocoder's late stages (32–64) reaches 45–120 GFLOP/s on two Zen 4 cores; on time-major
// rows (nwc) it runs its brgemm convolution (`brgconv:avx512_core`, ≈ 220 GFLOP/s on the same shapes). A brgemm
// primitive is compiled for one shape (2–20 ms each, and sentences differ in length), so the output is cut into
// tiles of a fixed row count: interior tiles read their input rows in place (time-major rows of a tile and its halo
// are contiguous), the edge tiles go through small zero-padded copies, and one primitive per layer — created here,
// its weights reordered once — serves every length. Primitives execute concurrently from several threads (oneDNN's
// scratchpad the caller provides per run: oneDNN's default, library-managed scratchpad is one buffer per primitive (or
// per creating thread), which concurrent runs would share), so a prepared convolution is immutable and thread-safe.
#include "indextts_dnnl.h"
#include "dnnl_internal.h"
#include <stdlib.h>
#include <string.h>

struct indextts_dnnl_tm_conv {
    long padding;
    int accumulate;
    indextts_tm_prim prim;  // one tile: `tile` output rows
};

#define TRY(x) do { status = (x); if (status != dnnl_success) goto done; } while (0)

static long span_of(const indextts_dnnl_tm_conv *c) { return c->prim.dilation * (c->prim.kernel - 1) + 1; }

long indextts_dnnl_tm_conv_out_time(const indextts_dnnl_tm_conv *c, long in_time) {
    if (!c || in_time <= 0) return -1;
    long out = in_time + 2 * c->padding - span_of(c) + 1;
    return out > 0 ? out : -1;
}

long indextts_dnnl_tm_conv_tile(const indextts_dnnl_tm_conv *c) { return c ? c->prim.rows : 0; }

void indextts_dnnl_tm_conv_destroy(indextts_dnnl_tm_conv *c) {
    if (!c) return;
    indextts_tm_prim_destroy(&c->prim);
    free(c);
}

indextts_dnnl_tm_conv *indextts_dnnl_tm_conv_create(long in_channels, long out_channels, long kernel, long dilation,
                                                    long padding, const float *weight, const float *bias, long tile,
                                                    int accumulate) {
    if (!indextts_dnnl_available() || !weight || in_channels <= 0 || out_channels <= 0 || kernel <= 0 || dilation <= 0 ||
        padding < 0 || tile <= 0)
        return NULL;
    indextts_dnnl_tm_conv *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->padding = padding;
    c->accumulate = accumulate != 0;
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    // One tile: `tile` output rows from tile + span − 1 input rows, no padding (the edges are padded by the caller);
    // oneDNN's reference implementation refused (hundreds of times slower than the caller's channel-major path).
    TRY(dnnl_stream_create(&stream, indextts_dnnl_engine(), dnnl_stream_default_flags));
    TRY(indextts_tm_prim_create(&c->prim, in_channels, out_channels, kernel, dilation, tile, weight, bias, c->accumulate,
                                stream));
    TRY(dnnl_stream_wait(stream));
done:
    if (stream) dnnl_stream_destroy(stream);
    if (status == dnnl_success) return c;
    indextts_dnnl_tm_conv_destroy(c);
    return NULL;
}

// Copies input rows into a tile's scratch: row j of src (zeros outside [0, in_time)), through v·scale and a leaky ReLU
// when `activate`.
static void fill_rows(float *dst, const float *source, long first, long rows, long in_time, long ic, int activate,
                      float scale, float slope) {
    for (long r = 0; r < rows; r++) {
        long j = first + r;
        float *d = dst + r * ic;
        if (j < 0 || j >= in_time) {
            memset(d, 0, (size_t)ic * sizeof(float));
        } else if (!activate) {
            memcpy(d, source + j * ic, (size_t)ic * sizeof(float));
        } else {
            indextts_rows_leaky(d, source + j * ic, ic, scale, slope);
        }
    }
}

int indextts_dnnl_tm_conv_run(const indextts_dnnl_tm_conv *c, long batch, long in_time, const float *src, float *dst,
                              const float *residual, int activate, float scale, float slope) {
    long out_time = indextts_dnnl_tm_conv_out_time(c, in_time);
    if (!c || !src || !dst || batch <= 0 || out_time <= 0) return (int)dnnl_invalid_arguments;
    const long ic = c->prim.in_ch, oc = c->prim.out_ch, tile = c->prim.rows, rows_in = tile + span_of(c) - 1;
    indextts_dnnl_configure_thread();
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    indextts_tm_prim_mem mem = {0};
    size_t scratch_bytes = indextts_tm_prim_scratch_bytes(&c->prim);
    float *edge_in = malloc((size_t)rows_in * (size_t)ic * sizeof(float));
    float *edge_out = malloc((size_t)tile * (size_t)oc * sizeof(float));
    void *scratchpad = scratch_bytes ? malloc(scratch_bytes) : NULL;
    if (!edge_in || !edge_out || (scratch_bytes && !scratchpad)) {
        status = dnnl_out_of_memory;
        goto done;
    }
    TRY(dnnl_stream_create(&stream, indextts_dnnl_engine(), dnnl_stream_default_flags));
    TRY(indextts_tm_prim_bind(&c->prim, &mem, scratchpad));
    for (long b = 0; b < batch; b++) {
        const float *source = src + b * in_time * ic;
        float *target = dst + b * out_time * oc;
        for (long t0 = 0; t0 < out_time; t0 += tile) {
            // Output rows [t0, t0 + tile) read padded rows [t0, t0 + rows_in), i.e. input rows from t0 − padding.
            long first = t0 - c->padding, rows_out = out_time - t0 < tile ? out_time - t0 : tile;
            const float *in = source + first * ic;
            if (activate || first < 0 || first + rows_in > in_time) {
                fill_rows(edge_in, source, first, rows_in, in_time, ic, activate, scale, slope);
                in = edge_in;
            }
            float *out = target + t0 * oc;
            if (c->accumulate && residual) {
                // The residual's rows of this tile, copied while the tile is computed (they stay in cache for the
                // sum post-op).
                memcpy(out, residual + (b * out_time + t0) * oc, (size_t)rows_out * (size_t)oc * sizeof(float));
            }
            if (rows_out < tile) {
                if (c->accumulate) {
                    memcpy(edge_out, out, (size_t)rows_out * (size_t)oc * sizeof(float));
                    memset(edge_out + rows_out * oc, 0, (size_t)(tile - rows_out) * (size_t)oc * sizeof(float));
                }
                out = edge_out;
            }
            TRY(indextts_tm_prim_exec(&c->prim, &mem, stream, in, out));
            if (out == edge_out) memcpy(target + t0 * oc, edge_out, (size_t)rows_out * (size_t)oc * sizeof(float));
        }
    }
done:
    indextts_tm_prim_unbind(&mem);
    if (stream) dnnl_stream_destroy(stream);
    free(edge_in);
    free(edge_out);
    free(scratchpad);
    return status == dnnl_success ? 0 : (int)status;
}
