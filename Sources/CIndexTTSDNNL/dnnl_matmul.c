// See include/indextts_dnnl.h. One matmul primitive per call: oneDNN's primitive cache (on by default, 1024 entries)
// makes repeated shapes cheap, and the fp32 → bf16 rounding of each fp32 operand is a oneDNN reorder into a dense
// scratch buffer.
#include "indextts_dnnl.h"
#include "dnnl_internal.h"
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>

extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);

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

dnnl_engine_t indextts_dnnl_engine(void) {
    pthread_once(&engine_once, make_engine);
    return engine;
}

int indextts_dnnl_version(int *major, int *minor, int *patch) {
    const dnnl_version_t *v = dnnl_version();
    if (!v) return -1;
    *major = v->major;
    *minor = v->minor;
    *patch = v->patch;
    return 0;
}

// The thread count set by indextts_dnnl_set_threads, applied once on every other thread that runs a product (OpenMP's
// `nthreads` is a per-thread setting: a thread that never set it would take OpenMP's default, every core) unless that
// thread chose its own.
static _Atomic int default_threads = 0;
static __thread int thread_configured = 0;

void indextts_dnnl_configure_thread(void) {
    if (thread_configured) return;
    int threads = default_threads;
    if (threads <= 0) return;  // nothing chosen yet: OpenMP's default until it is
    thread_configured = 1;
    omp_set_num_threads(threads);
}

void indextts_dnnl_set_threads(int threads) {
    if (threads <= 0) return;
    default_threads = threads;
    // A thread that chose its own count (`indextts_dnnl_swap_threads`, e.g. one product per core) keeps it.
    indextts_dnnl_configure_thread();
}

int indextts_dnnl_swap_threads(int threads) {
    indextts_dnnl_configure_thread();
    int previous = omp_get_max_threads();
    if (threads > 0) {
        thread_configured = 1;
        omp_set_num_threads(threads);
    }
    return previous;
}

// A [rows, cols] operand: row-major with leading dimension ld, or (transposed) column-major.
static dnnl_status_t describe(dnnl_memory_desc_t *md, long rows, long cols, int transposed, long ld, int bf16) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {transposed ? 1 : ld, transposed ? ld : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, bf16 ? dnnl_bf16 : dnnl_f32, strides);
}

#define TRY(x) do { status = (x); if (status != dnnl_success) goto done; } while (0)

dnnl_status_t indextts_dnnl_reorder(dnnl_stream_t stream, const dnnl_memory_desc_t *from_md, const void *from,
                                    const dnnl_memory_desc_t *to_md, void *to) {
    dnnl_status_t status = dnnl_success;
    dnnl_memory_t source = NULL, target = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    TRY(dnnl_memory_create(&source, from_md, engine, (void *)from));
    TRY(dnnl_memory_create(&target, to_md, engine, to));
    TRY(dnnl_reorder_primitive_desc_create(&pd, from_md, engine, to_md, engine, NULL));
    TRY(dnnl_primitive_create(&reorder, pd));
    {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, target}};
        TRY(dnnl_primitive_execute(reorder, stream, 2, args));
    }
done:
    if (reorder) dnnl_primitive_destroy(reorder);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (source) dnnl_memory_destroy(source);
    if (target) dnnl_memory_destroy(target);
    return status;
}

// Rounds an fp32 operand into a dense bf16 copy; `*scratch` receives the buffer (caller frees).
static dnnl_status_t to_bf16(dnnl_stream_t stream, const dnnl_memory_desc_t *src_md, const void *src, long rows,
                             long cols, dnnl_memory_desc_t *dst_md, void **scratch) {
    dnnl_status_t status;
    if ((status = describe(dst_md, rows, cols, 0, cols, 1)) != dnnl_success) return status;
    *scratch = malloc((size_t)rows * (size_t)cols * 2 + 64);
    if (!*scratch) return dnnl_out_of_memory;
    return indextts_dnnl_reorder(stream, src_md, src, dst_md, *scratch);
}


// C = A·B + beta·C (+ bias, a row of n fp32 values added to every row, when not NULL) for described operands
// (bfloat16 A and B, plain or packed, or both fp32).
static dnnl_status_t run_matmul_bias(dnnl_stream_t stream, const dnnl_memory_desc_t *a_md, const void *a,
                                     const dnnl_memory_desc_t *b_md, const void *b, const float *bias,
                                     const dnnl_memory_desc_t *c_md, float *c, float beta) {
    dnnl_status_t status = dnnl_success;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t matmul = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, mbias = NULL;
    dnnl_memory_desc_t bias_md;
    if (bias) {
        dnnl_dims_t bias_dims = {1, c_md->dims[1]}, bias_strides = {c_md->dims[1], 1};
        TRY(dnnl_memory_desc_init_by_strides(&bias_md, 2, bias_dims, dnnl_f32, bias_strides));
        TRY(dnnl_memory_create(&mbias, &bias_md, engine, (void *)bias));
    }
    TRY(dnnl_memory_create(&ma, a_md, engine, (void *)a));
    TRY(dnnl_memory_create(&mb, b_md, engine, (void *)b));
    TRY(dnnl_memory_create(&mc, c_md, engine, c));
    TRY(dnnl_primitive_attr_create(&attr));
    if (beta != 0) {
        TRY(dnnl_post_ops_create(&ops));
        TRY(dnnl_post_ops_append_sum(ops, beta));
        TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    }
    {
        dnnl_matmul_desc_t desc;
        TRY(dnnl_matmul_desc_init(&desc, a_md, b_md, bias ? &bias_md : NULL, c_md));
        TRY(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    }
    TRY(dnnl_primitive_create(&matmul, pd));
    {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_BIAS, mbias}};
        TRY(dnnl_primitive_execute(matmul, stream, bias ? 4 : 3, args));
    }
    TRY(dnnl_stream_wait(stream));
done:
    if (mbias) dnnl_memory_destroy(mbias);
    if (matmul) dnnl_primitive_destroy(matmul);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    return status;
}

static dnnl_status_t run_matmul(dnnl_stream_t stream, const dnnl_memory_desc_t *a_md, const void *a,
                                const dnnl_memory_desc_t *b_md, const void *b, const dnnl_memory_desc_t *c_md, float *c,
                                float beta) {
    return run_matmul_bias(stream, a_md, a, b_md, b, NULL, c_md, c, beta);
}

int indextts_dnnl_matmul(long m, long n, long k,
                         const void *a, int a_bf16, int trans_a, long lda,
                         const void *b, int b_bf16, int trans_b, long ldb,
                         float *c, long ldc, float beta) {
    if (!indextts_dnnl_available()) return -1;
    if (m <= 0 || n <= 0 || k <= 0) return (int)dnnl_invalid_arguments;
    indextts_dnnl_configure_thread();
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
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
    TRY(run_matmul(stream, &a16_md, a_bf16 ? a : sa, &b16_md, b_bf16 ? b : sb, &c_md, c, beta));
done:
    if (stream) dnnl_stream_destroy(stream);
    free(sa);
    free(sb);
    return status == dnnl_success ? 0 : (int)status;
}

int indextts_dnnl_sgemm(long m, long n, long k, const float *a, int trans_a, long lda, const float *b, int trans_b,
                        long ldb, const float *bias, float *c, long ldc) {
    if (!indextts_dnnl_available()) return -1;
    if (m <= 0 || n <= 0 || k <= 0) return (int)dnnl_invalid_arguments;
    indextts_dnnl_configure_thread();
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    dnnl_memory_desc_t a_md, b_md, c_md;
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(describe(&a_md, m, k, trans_a, lda, 0));
    TRY(describe(&b_md, k, n, trans_b, ldb, 0));
    TRY(describe(&c_md, m, n, 0, ldc, 0));
    TRY(run_matmul_bias(stream, &a_md, a, &b_md, b, bias, &c_md, c, 0));
done:
    if (stream) dnnl_stream_destroy(stream);
    return status == dnnl_success ? 0 : (int)status;
}

struct indextts_dnnl_packed_b {
    dnnl_memory_desc_t md;
    void *data;
    long n, k;
};

indextts_dnnl_packed_b *indextts_dnnl_pack_b(long m, long n, long k, const void *b, int b_bf16, int trans_b, long ldb) {
    if (!indextts_dnnl_available() || m <= 0 || n <= 0 || k <= 0) return NULL;
    indextts_dnnl_configure_thread();
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    indextts_dnnl_packed_b *packed = calloc(1, sizeof *packed);
    if (!packed) return NULL;
    dnnl_memory_desc_t a_md, b_any, c_md, src_md;
    dnnl_dims_t b_dims = {k, n};
    TRY(describe(&a_md, m, k, 0, k, 1));
    TRY(dnnl_memory_desc_init_by_tag(&b_any, 2, b_dims, dnnl_bf16, dnnl_format_tag_any));
    TRY(describe(&c_md, m, n, 0, n, 0));
    {
        dnnl_matmul_desc_t desc;
        TRY(dnnl_matmul_desc_init(&desc, &a_md, &b_any, NULL, &c_md));
        TRY(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
    }
    packed->md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    packed->n = n;
    packed->k = k;
    packed->data = malloc(dnnl_memory_desc_get_size(&packed->md) + 64);
    if (!packed->data) { status = dnnl_out_of_memory; goto done; }
    TRY(describe(&src_md, k, n, trans_b, ldb, b_bf16));
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(indextts_dnnl_reorder(stream, &src_md, b, &packed->md, packed->data));
    TRY(dnnl_stream_wait(stream));
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (stream) dnnl_stream_destroy(stream);
    if (status != dnnl_success) {
        indextts_dnnl_packed_b_free(packed);
        return NULL;
    }
    return packed;
}

void indextts_dnnl_packed_b_free(indextts_dnnl_packed_b *packed) {
    if (!packed) return;
    free(packed->data);
    free(packed);
}

int indextts_dnnl_matmul_packed(long m, const void *a, int a_bf16, long lda, const indextts_dnnl_packed_b *b, float *c,
                                long ldc, float beta) {
    if (!indextts_dnnl_available() || !b) return -1;
    if (m <= 0) return (int)dnnl_invalid_arguments;
    indextts_dnnl_configure_thread();
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    void *sa = NULL;
    dnnl_memory_desc_t a_md, a16_md, c_md;
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(describe(&a_md, m, b->k, 0, lda, a_bf16));
    a16_md = a_md;
    if (!a_bf16) TRY(to_bf16(stream, &a_md, a, m, b->k, &a16_md, &sa));
    TRY(describe(&c_md, m, b->n, 0, ldc, 0));
    TRY(run_matmul(stream, &a16_md, a_bf16 ? a : sa, &b->md, b->data, &c_md, c, beta));
done:
    if (stream) dnnl_stream_destroy(stream);
    free(sa);
    return status == dnnl_success ? 0 : (int)status;
}

long indextts_dnnl_packed_b_bytes(const indextts_dnnl_packed_b *packed) {
    return packed ? (long)dnnl_memory_desc_get_size(&packed->md) : 0;
}

int indextts_dnnl_unpack_b(const indextts_dnnl_packed_b *packed, uint16_t *dst, int trans_b, long ldb) {
    if (!packed || !indextts_dnnl_available()) return -1;
    indextts_dnnl_configure_thread();
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    dnnl_memory_desc_t dst_md;
    TRY(describe(&dst_md, packed->k, packed->n, trans_b, ldb, 1));
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    TRY(indextts_dnnl_reorder(stream, &packed->md, packed->data, &dst_md, dst));
    TRY(dnnl_stream_wait(stream));
done:
    if (stream) dnnl_stream_destroy(stream);
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
    indextts_dnnl_configure_thread();
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

static inline uint16_t bf16_round(float f) {
    union { float f; uint32_t u; } v = {f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40u);  // quiet NaN
    v.u += 0x7fffu + ((v.u >> 16) & 1u);  // round to nearest, ties to even
    return (uint16_t)(v.u >> 16);
}

#if defined(__x86_64__)
#include <immintrin.h>
// The same rounding 16 lanes at a time (AVX-512F integer arithmetic: bit-identical to bf16_round).
__attribute__((target("avx512f"))) static void to_bf16_avx512(const float *src, uint16_t *dst, long count) {
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff), quiet = _mm512_set1_epi32(0x40);
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff), infinity = _mm512_set1_epi32(0x7f800000);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512i u = _mm512_castps_si512(_mm512_loadu_ps(src + i));
        __m512i high = _mm512_srli_epi32(u, 16);
        __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(high, one))), 16);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, magnitude), infinity);
        rounded = _mm512_mask_mov_epi32(rounded, nan, _mm512_or_si512(high, quiet));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtepi32_epi16(rounded));
    }
    for (; i < count; i++) dst[i] = bf16_round(src[i]);
}

static int has_avx512f(void) { return __builtin_cpu_supports("avx512f"); }
#endif

void indextts_to_bf16(const float *src, uint16_t *dst, long count) {
#if defined(__x86_64__)
    if (has_avx512f()) {
        to_bf16_avx512(src, dst, count);
        return;
    }
#endif
    for (long i = 0; i < count; i++) dst[i] = bf16_round(src[i]);
}

void indextts_to_bf16_rows(const float *src, long src_ld, uint16_t *dst, long dst_ld, long rows, long columns) {
    for (long r = 0; r < rows; r++) indextts_to_bf16(src + r * src_ld, dst + r * dst_ld, columns);
}
