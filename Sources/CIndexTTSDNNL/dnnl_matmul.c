// See include/indextts_dnnl.h. One matmul primitive per call: oneDNN's primitive cache (on by default, 1024 entries)
// makes repeated shapes cheap, and the fp32 → bf16 rounding of each fp32 operand is a oneDNN reorder into a dense
// scratch buffer.
#include "indextts_dnnl.h"
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>

extern void omp_set_num_threads(int);

static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static int engine_ok = 0;

static void make_engine(void) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success) engine_ok = 1;
}

int indextts_dnnl_available(void) {
    pthread_once(&engine_once, make_engine);
    return engine_ok;
}

int indextts_dnnl_version(int *major, int *minor, int *patch) {
    const dnnl_version_t *v = dnnl_version();
    if (!v) return -1;
    *major = v->major;
    *minor = v->minor;
    *patch = v->patch;
    return 0;
}

void indextts_dnnl_set_threads(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
}

// A [rows, cols] operand: row-major with leading dimension ld, or (transposed) column-major.
static dnnl_status_t describe(dnnl_memory_desc_t *md, long rows, long cols, int transposed, long ld, int bf16) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {transposed ? 1 : ld, transposed ? ld : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, bf16 ? dnnl_bf16 : dnnl_f32, strides);
}

// Rounds an fp32 operand into a dense bf16 copy; `*scratch` receives the buffer (caller frees).
static dnnl_status_t to_bf16(dnnl_stream_t stream, const dnnl_memory_desc_t *src_md, const void *src, long rows,
                             long cols, dnnl_memory_desc_t *dst_md, void **scratch) {
    dnnl_status_t status;
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    if ((status = describe(dst_md, rows, cols, 0, cols, 1)) != dnnl_success) return status;
    *scratch = malloc((size_t)rows * (size_t)cols * 2 + 64);
    if (!*scratch) return dnnl_out_of_memory;
    if ((status = dnnl_memory_create(&from, src_md, engine, (void *)src)) != dnnl_success) goto done;
    if ((status = dnnl_memory_create(&to, dst_md, engine, *scratch)) != dnnl_success) goto done;
    if ((status = dnnl_reorder_primitive_desc_create(&pd, src_md, engine, dst_md, engine, NULL)) != dnnl_success) goto done;
    if ((status = dnnl_primitive_create(&reorder, pd)) != dnnl_success) goto done;
    {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        status = dnnl_primitive_execute(reorder, stream, 2, args);
    }
done:
    if (reorder) dnnl_primitive_destroy(reorder);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    return status;
}

#define TRY(x) do { status = (x); if (status != dnnl_success) goto done; } while (0)

int indextts_dnnl_matmul(long m, long n, long k,
                         const void *a, int a_bf16, int trans_a, long lda,
                         const void *b, int b_bf16, int trans_b, long ldb,
                         float *c, long ldc, float beta) {
    if (!indextts_dnnl_available()) return -1;
    if (m <= 0 || n <= 0 || k <= 0) return (int)dnnl_invalid_arguments;
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t matmul = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL;
    void *sa = NULL, *sb = NULL;
    dnnl_memory_desc_t a_md, b_md, c_md, a16_md, b16_md;

    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(describe(&a_md, m, k, trans_a, lda, a_bf16));
    TRY(describe(&b_md, k, n, trans_b, ldb, b_bf16));
    TRY(describe(&c_md, m, n, 0, ldc, 0));
    a16_md = a_md;
    b16_md = b_md;
    if (!a_bf16) TRY(to_bf16(stream, &a_md, a, m, k, &a16_md, &sa));
    if (!b_bf16) TRY(to_bf16(stream, &b_md, b, k, n, &b16_md, &sb));
    TRY(dnnl_memory_create(&ma, &a16_md, engine, a_bf16 ? (void *)a : sa));
    TRY(dnnl_memory_create(&mb, &b16_md, engine, b_bf16 ? (void *)b : sb));
    TRY(dnnl_memory_create(&mc, &c_md, engine, c));
    TRY(dnnl_primitive_attr_create(&attr));
    if (beta != 0) {
        TRY(dnnl_post_ops_create(&ops));
        TRY(dnnl_post_ops_append_sum(ops, beta));
        TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    }
    {
        dnnl_matmul_desc_t desc;
        TRY(dnnl_matmul_desc_init(&desc, &a16_md, &b16_md, NULL, &c_md));
        TRY(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    }
    TRY(dnnl_primitive_create(&matmul, pd));
    {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
        TRY(dnnl_primitive_execute(matmul, stream, 3, args));
    }
    TRY(dnnl_stream_wait(stream));
done:
    if (matmul) dnnl_primitive_destroy(matmul);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    if (stream) dnnl_stream_destroy(stream);
    free(sa);
    free(sb);
    return status == dnnl_success ? 0 : (int)status;
}

int indextts_dnnl_conv1d(long batch, long in_channels, long in_time, long out_channels, long kernel, long stride,
                         long dilation, const float *src, const float *w, const float *bias, float *dst) {
    if (!indextts_dnnl_available()) return -1;
    if (batch <= 0 || in_channels <= 0 || out_channels <= 0 || kernel <= 0 || stride <= 0 || dilation <= 0)
        return (int)dnnl_invalid_arguments;
    long span = dilation * (kernel - 1) + 1;
    if (in_time < span) return (int)dnnl_invalid_arguments;
    long out_time = (in_time - span) / stride + 1;
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t conv = NULL;
    dnnl_memory_t ms = NULL, mw = NULL, mb = NULL, md = NULL;
    dnnl_memory_desc_t s_md, w_md, b_md, d_md;
    dnnl_dims_t s_dims = {batch, in_channels, in_time}, w_dims = {out_channels, in_channels, kernel};
    dnnl_dims_t d_dims = {batch, out_channels, out_time}, b_dims = {out_channels};
    dnnl_dims_t strides = {stride}, dilates = {dilation - 1}, padding = {0};
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(dnnl_memory_desc_init_by_tag(&s_md, 3, s_dims, dnnl_f32, dnnl_ncw));
    TRY(dnnl_memory_desc_init_by_tag(&w_md, 3, w_dims, dnnl_f32, dnnl_oiw));
    TRY(dnnl_memory_desc_init_by_tag(&d_md, 3, d_dims, dnnl_f32, dnnl_ncw));
    TRY(dnnl_memory_desc_init_by_tag(&b_md, 1, b_dims, dnnl_f32, dnnl_x));
    {
        dnnl_convolution_desc_t desc;
        TRY(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &s_md,
                                                       &w_md, bias ? &b_md : NULL, &d_md, strides, dilates, padding,
                                                       padding));
        TRY(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
    }
    TRY(dnnl_primitive_create(&conv, pd));
    TRY(dnnl_memory_create(&ms, &s_md, engine, (void *)src));
    TRY(dnnl_memory_create(&mw, &w_md, engine, (void *)w));
    TRY(dnnl_memory_create(&md, &d_md, engine, dst));
    if (bias) TRY(dnnl_memory_create(&mb, &b_md, engine, (void *)bias));
    {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}, {DNNL_ARG_BIAS, mb}};
        TRY(dnnl_primitive_execute(conv, stream, bias ? 4 : 3, args));
    }
    TRY(dnnl_stream_wait(stream));
done:
    if (conv) dnnl_primitive_destroy(conv);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ms) dnnl_memory_destroy(ms);
    if (mw) dnnl_memory_destroy(mw);
    if (mb) dnnl_memory_destroy(mb);
    if (md) dnnl_memory_destroy(md);
    if (stream) dnnl_stream_destroy(stream);
    return status == dnnl_success ? 0 : (int)status;
}

void indextts_to_bf16(const float *src, uint16_t *dst, long count) {
    for (long i = 0; i < count; i++) {
        union { float f; uint32_t u; } v = {src[i]};
        if ((v.u & 0x7fffffffu) > 0x7f800000u) {
            dst[i] = (uint16_t)((v.u >> 16) | 0x40u);  // quiet NaN
            continue;
        }
        v.u += 0x7fffu + ((v.u >> 16) & 1u);  // round to nearest, ties to even
        dst[i] = (uint16_t)(v.u >> 16);
    }
}
