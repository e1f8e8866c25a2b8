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
    long in_channels, out_channels, kernel, dilation, padding, tile;
    int accumulate;
    float *bias;  // out_channels values or NULL
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t src_md, weights_md, dst_md, bias_md, scratchpad_md;
    void *weights;  // in weights_md's layout
};

#define TRY(x) do { status = (x); if (status != dnnl_success) goto done; } while (0)

static long span_of(const indextts_dnnl_tm_conv *c) { return c->dilation * (c->kernel - 1) + 1; }

long indextts_dnnl_tm_conv_out_time(const indextts_dnnl_tm_conv *c, long in_time) {
    if (!c || in_time <= 0) return -1;
    long out = in_time + 2 * c->padding - span_of(c) + 1;
    return out > 0 ? out : -1;
}

long indextts_dnnl_tm_conv_tile(const indextts_dnnl_tm_conv *c) { return c ? c->tile : 0; }

void indextts_dnnl_tm_conv_destroy(indextts_dnnl_tm_conv *c) {
    if (!c) return;
    if (c->primitive) dnnl_primitive_destroy(c->primitive);
    free(c->bias);
    free(c->weights);
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
    c->in_channels = in_channels;
    c->out_channels = out_channels;
    c->kernel = kernel;
    c->dilation = dilation;
    c->padding = padding;
    c->tile = tile;
    c->accumulate = accumulate != 0;
    dnnl_status_t status = dnnl_success;
    dnnl_engine_t engine = indextts_dnnl_engine();
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_memory_desc_t plain_md, any_md;
    if (bias) {
        c->bias = malloc((size_t)out_channels * sizeof(float));
        if (!c->bias) {
            status = dnnl_out_of_memory;
            goto done;
        }
        memcpy(c->bias, bias, (size_t)out_channels * sizeof(float));
    }
    // One tile: `tile` output rows from tile + span − 1 input rows, no padding (the edges are padded by the caller).
    dnnl_dims_t s_dims = {1, in_channels, tile + span_of(c) - 1}, d_dims = {1, out_channels, tile};
    dnnl_dims_t w_dims = {out_channels, in_channels, kernel}, b_dims = {out_channels};
    dnnl_dims_t strides = {1}, dilates = {dilation - 1}, zero = {0};
    TRY(dnnl_memory_desc_init_by_tag(&c->src_md, 3, s_dims, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&c->dst_md, 3, d_dims, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&any_md, 3, w_dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&plain_md, 3, w_dims, dnnl_f32, dnnl_abc));
    TRY(dnnl_memory_desc_init_by_tag(&c->bias_md, 1, b_dims, dnnl_f32, dnnl_x));
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (c->accumulate) {
        TRY(dnnl_post_ops_create(&ops));
        TRY(dnnl_post_ops_append_sum(ops, 1.0f));
        TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    }
    {
        dnnl_convolution_desc_t desc;
        TRY(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                                       &c->src_md, &any_md, bias ? &c->bias_md : NULL, &c->dst_md,
                                                       strides, dilates, zero, zero));
        TRY(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    }
    {
        // oneDNN's reference implementation (a shape its fast kernels do not take) is hundreds of times slower than the
        // channel-major path the caller falls back to.
        const char *impl = NULL;
        TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
        if (!impl || strncmp(impl, "ref", 3) == 0) {
            status = dnnl_unimplemented;
            goto done;
        }
    }
    c->weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    c->scratchpad_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    TRY(dnnl_primitive_create(&c->primitive, pd));
    // The weights, once, into the primitive's layout.
    c->weights = malloc(dnnl_memory_desc_get_size(&c->weights_md));
    if (!c->weights) {
        status = dnnl_out_of_memory;
        goto done;
    }
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(indextts_dnnl_reorder(stream, &plain_md, weight, &c->weights_md, c->weights));
    TRY(dnnl_stream_wait(stream));
done:
    if (stream) dnnl_stream_destroy(stream);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
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
    const long ic = c->in_channels, oc = c->out_channels, tile = c->tile, rows_in = tile + span_of(c) - 1;
    dnnl_status_t status = dnnl_success;
    dnnl_engine_t engine = indextts_dnnl_engine();
    dnnl_stream_t stream = NULL;
    dnnl_memory_t ms = NULL, mw = NULL, md = NULL, mb = NULL, mscratch = NULL;
    size_t scratch_bytes = dnnl_memory_desc_get_size(&c->scratchpad_md);
    float *edge_in = malloc((size_t)rows_in * (size_t)ic * sizeof(float));
    float *edge_out = malloc((size_t)tile * (size_t)oc * sizeof(float));
    void *scratchpad = scratch_bytes ? malloc(scratch_bytes) : NULL;
    if (!edge_in || !edge_out || (scratch_bytes && !scratchpad)) {
        status = dnnl_out_of_memory;
        goto done;
    }
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(dnnl_memory_create(&ms, &c->src_md, engine, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&mw, &c->weights_md, engine, c->weights));
    TRY(dnnl_memory_create(&md, &c->dst_md, engine, DNNL_MEMORY_NONE));
    if (c->bias) TRY(dnnl_memory_create(&mb, &c->bias_md, engine, c->bias));
    if (scratch_bytes) TRY(dnnl_memory_create(&mscratch, &c->scratchpad_md, engine, scratchpad));
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
            TRY(dnnl_memory_set_data_handle(ms, (void *)in));
            TRY(dnnl_memory_set_data_handle(md, out));
            dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}};
            int count = 3;
            if (mscratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mscratch};
            if (mb) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
            TRY(dnnl_primitive_execute(c->primitive, stream, count, args));
            TRY(dnnl_stream_wait(stream));
            if (out == edge_out) memcpy(target + t0 * oc, edge_out, (size_t)rows_out * (size_t)oc * sizeof(float));
        }
    }
done:
    if (ms) dnnl_memory_destroy(ms);
    if (mw) dnnl_memory_destroy(mw);
    if (md) dnnl_memory_destroy(md);
    if (mb) dnnl_memory_destroy(mb);
    if (mscratch) dnnl_memory_destroy(mscratch);
    if (stream) dnnl_stream_destroy(stream);
    free(edge_in);
    free(edge_out);
    free(scratchpad);
    return status == dnnl_success ? 0 : (int)status;
}
