// Probe for tools/bench/onednn_probe.sh: oneDNN fp32 conv1d at one shape (args: channels frames kernel dilation any).
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define CHK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("fail %d at %s:%d\n", s_, __FILE__, __LINE__); exit(1);} } while (0)
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc, char **argv) {
    long C = atol(argv[1]), L = atol(argv[2]), K = atol(argv[3]), D = atol(argv[4]);
    int anyfmt = atoi(argv[5]);
    dnnl_engine_t eng; CHK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t st; CHK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    long pad = (K - 1) * D / 2;
    dnnl_dims_t sd = {1, C, L}, wd = {C, C, K}, dd = {1, C, L}, bd = {C};
    dnnl_memory_desc_t src, wei, dst, bia, srcA, weiA, dstA;
    CHK(dnnl_memory_desc_init_by_tag(&src, 3, sd, dnnl_f32, dnnl_ncw));
    CHK(dnnl_memory_desc_init_by_tag(&wei, 3, wd, dnnl_f32, dnnl_oiw));
    CHK(dnnl_memory_desc_init_by_tag(&dst, 3, dd, dnnl_f32, dnnl_ncw));
    CHK(dnnl_memory_desc_init_by_tag(&bia, 1, bd, dnnl_f32, dnnl_x));
    CHK(dnnl_memory_desc_init_by_tag(&srcA, 3, sd, dnnl_f32, anyfmt ? dnnl_format_tag_any : dnnl_ncw));
    CHK(dnnl_memory_desc_init_by_tag(&weiA, 3, wd, dnnl_f32, anyfmt ? dnnl_format_tag_any : dnnl_oiw));
    CHK(dnnl_memory_desc_init_by_tag(&dstA, 3, dd, dnnl_f32, anyfmt ? dnnl_format_tag_any : dnnl_ncw));
    dnnl_convolution_desc_t cd;
    dnnl_dims_t strides = {1}, dil = {D - 1}, pl = {pad}, pr = {pad};
    CHK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &srcA, &weiA, &bia, &dstA, strides, dil, pl, pr));
    dnnl_primitive_desc_t pd; CHK(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
    const char *impl; dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    const dnnl_memory_desc_t *psrc = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *pwei = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *pdst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_primitive_t conv; CHK(dnnl_primitive_create(&conv, pd));
    float *s = malloc(4*C*L), *w = malloc(4*C*C*K), *b = calloc(C,4), *o = malloc(4*C*L);
    for (long i=0;i<C*L;i++) s[i]=(i%17)*0.01f; for (long i=0;i<C*C*K;i++) w[i]=(i%13)*0.001f;
    size_t ssz = dnnl_memory_desc_get_size(psrc), wsz = dnnl_memory_desc_get_size(pwei), dsz = dnnl_memory_desc_get_size(pdst);
    dnnl_memory_t ms, mw, md, mb, ms2, mw2, md2;
    CHK(dnnl_memory_create(&ms, &src, eng, s)); CHK(dnnl_memory_create(&mw, &wei, eng, w));
    CHK(dnnl_memory_create(&md, &dst, eng, o)); CHK(dnnl_memory_create(&mb, &bia, eng, b));
    void *s2 = malloc(ssz), *w2 = malloc(wsz), *d2 = malloc(dsz);
    CHK(dnnl_memory_create(&ms2, psrc, eng, s2)); CHK(dnnl_memory_create(&mw2, pwei, eng, w2)); CHK(dnnl_memory_create(&md2, pdst, eng, d2));
    // weights reorder once
    dnnl_primitive_desc_t rpd; dnnl_primitive_t r;
    CHK(dnnl_reorder_primitive_desc_create(&rpd, &wei, eng, pwei, eng, NULL)); CHK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, mw}, {DNNL_ARG_TO, mw2}}; CHK(dnnl_primitive_execute(r, st, 2, ra)); dnnl_stream_wait(st);
    dnnl_primitive_desc_t rspd, rdpd; dnnl_primitive_t rs, rd;
    CHK(dnnl_reorder_primitive_desc_create(&rspd, &src, eng, psrc, eng, NULL)); CHK(dnnl_primitive_create(&rs, rspd));
    CHK(dnnl_reorder_primitive_desc_create(&rdpd, pdst, eng, &dst, eng, NULL)); CHK(dnnl_primitive_create(&rd, rdpd));
    double best = 1e9;
    for (int it = 0; it < 5; it++) {
        double t0 = now();
        dnnl_exec_arg_t a1[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, ms2}}; CHK(dnnl_primitive_execute(rs, st, 2, a1));
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms2}, {DNNL_ARG_WEIGHTS, mw2}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md2}};
        CHK(dnnl_primitive_execute(conv, st, 4, args));
        dnnl_exec_arg_t a2[2] = {{DNNL_ARG_FROM, md2}, {DNNL_ARG_TO, md}}; CHK(dnnl_primitive_execute(rd, st, 2, a2));
        dnnl_stream_wait(st);
        double t = now() - t0; if (t < best) best = t;
    }
    double fl = 2.0*C*C*K*L;
    printf("C %ld L %ld K %ld D %ld any %d: %.2f ms, %.1f GFLOP/s, impl %s\n", C, L, K, D, anyfmt, best*1e3, fl/best/1e9, impl);
    return 0;
}
