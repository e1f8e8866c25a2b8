// One fp32 1-D convolution C→C (kernel k, dilation d, "same" padding except mode 2) on T frames, timed with oneDNN:
//   mode 0: channel-major rows (ncw, plain weights), as indextts_dnnl_conv1d runs it;
//   mode 1: time-major rows (nwc), weights in oneDNN's layout (reordered once, untimed);
//   mode 2: one time-major tile as TimeMajorConvolution runs it: T output rows, no padding, sum post-op.
// Prints the implementation oneDNN chose, the primitive's creation time and the best of 20 runs.
// Usage: tmconv C k d T mode
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define CHK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { fprintf(stderr, "%s: %d\n", #x, s_); exit(1); } } while (0)

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: tmconv C k d T mode\n"); return 2; }
    long c = atol(argv[1]), k = atol(argv[2]), d = atol(argv[3]), t = atol(argv[4]), mode = atol(argv[5]);
    long span = d * (k - 1) + 1, pad = mode == 2 ? 0 : (span - 1) / 2, tin = mode == 2 ? t + span - 1 : t;
    dnnl_engine_t engine; dnnl_stream_t stream;
    CHK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    dnnl_memory_desc_t s_md, w_md, d_md, b_md;
    dnnl_dims_t s_dims = {1, c, tin}, w_dims = {c, c, k}, d_dims = {1, c, t}, b_dims = {c};
    dnnl_dims_t strides = {1}, dilates = {d - 1}, padding = {pad};
    dnnl_format_tag_t rows = mode == 0 ? dnnl_ncw : dnnl_nwc;
    CHK(dnnl_memory_desc_init_by_tag(&s_md, 3, s_dims, dnnl_f32, rows));
    CHK(dnnl_memory_desc_init_by_tag(&d_md, 3, d_dims, dnnl_f32, rows));
    CHK(dnnl_memory_desc_init_by_tag(&w_md, 3, w_dims, dnnl_f32, mode == 0 ? dnnl_oiw : dnnl_format_tag_any));
    CHK(dnnl_memory_desc_init_by_tag(&b_md, 1, b_dims, dnnl_f32, dnnl_x));
    dnnl_primitive_attr_t attr; dnnl_post_ops_t ops;
    CHK(dnnl_primitive_attr_create(&attr)); CHK(dnnl_post_ops_create(&ops));
    if (mode == 2) CHK(dnnl_post_ops_append_sum(ops, 1.0f));
    CHK(dnnl_primitive_attr_set_post_ops(attr, ops));
    double t0 = now();
    dnnl_convolution_desc_t desc; dnnl_primitive_desc_t pd; dnnl_primitive_t conv;
    CHK(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &s_md, &w_md,
                                                   &b_md, &d_md, strides, dilates, padding, padding));
    CHK(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    CHK(dnnl_primitive_create(&conv, pd));
    double created = now() - t0;
    const char *impl; CHK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    dnnl_memory_t ms, mw, md, mb;
    CHK(dnnl_memory_create(&ms, &s_md, engine, DNNL_MEMORY_ALLOCATE));
    CHK(dnnl_memory_create(&mw, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), engine, DNNL_MEMORY_ALLOCATE));
    CHK(dnnl_memory_create(&md, &d_md, engine, DNNL_MEMORY_ALLOCATE));
    CHK(dnnl_memory_create(&mb, &b_md, engine, DNNL_MEMORY_ALLOCATE));
    void *h;
    CHK(dnnl_memory_get_data_handle(ms, &h)); memset(h, 0, dnnl_memory_desc_get_size(&s_md));
    CHK(dnnl_memory_get_data_handle(md, &h)); memset(h, 0, dnnl_memory_desc_get_size(&d_md));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}, {DNNL_ARG_BIAS, mb}};
    double best = 1e9;
    for (int i = 0; i < 21; i++) {
        double s = now();
        CHK(dnnl_primitive_execute(conv, stream, 4, args)); CHK(dnnl_stream_wait(stream));
        if (i > 0 && now() - s < best) best = now() - s;
    }
    printf("conv C%ld k%ld d%ld T%ld mode %ld: %-24s create %6.1f ms, run %7.3f ms, %5.0f GFLOP/s\n", c, k, d, t, mode, impl,
           created * 1e3, best * 1e3, 2.0 * c * c * k * t / best / 1e9);
    return 0;
}
