// Probe for tools/bench/onednn_probe.sh: oneDNN bf16 matmul rates on the S2M attention and projection shapes.
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#define CHK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("fail %d line %d\n", s_, __LINE__); exit(1);} } while (0)
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
// time bf16 matmul m x n x k with A [m,k] row-major bf16, B [k,n] given as transposed or not, C fp32
static double run(long batch, long m, long n, long k, int transB) {
    dnnl_engine_t eng; CHK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t st; CHK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t ad = {batch, m, k}, bd = {batch, k, n}, cd = {batch, m, n};
    dnnl_dims_t as = {m*k, k, 1}, bs_t = {k*n, 1, k}, bs_n = {k*n, n, 1}, cs = {m*n, n, 1};
    CHK(dnnl_memory_desc_init_by_strides(&a, 3, ad, dnnl_bf16, as));
    CHK(dnnl_memory_desc_init_by_strides(&b, 3, bd, dnnl_bf16, transB ? bs_t : bs_n));
    CHK(dnnl_memory_desc_init_by_strides(&c, 3, cd, dnnl_f32, cs));
    dnnl_matmul_desc_t md; CHK(dnnl_matmul_desc_init(&md, &a, &b, NULL, &c));
    dnnl_primitive_desc_t pd; CHK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    const char *impl; dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    dnnl_primitive_t p; CHK(dnnl_primitive_create(&p, pd));
    uint16_t *A = calloc(batch*m*k, 2), *B = calloc(batch*k*n, 2); float *C = calloc(batch*m*n, 4);
    for (long i=0;i<batch*m*k;i++) A[i]=0x3f80; for (long i=0;i<batch*k*n;i++) B[i]=0x3f80;
    dnnl_memory_t ma, mb, mc; CHK(dnnl_memory_create(&ma,&a,eng,A)); CHK(dnnl_memory_create(&mb,&b,eng,B)); CHK(dnnl_memory_create(&mc,&c,eng,C));
    double best=1e9;
    for (int it=0; it<5; it++) { double t0=now();
        dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mb},{DNNL_ARG_DST,mc}};
        CHK(dnnl_primitive_execute(p, st, 3, args)); dnnl_stream_wait(st);
        double t=now()-t0; if(t<best)best=t; }
    printf("batch %ld m %ld n %ld k %ld transB %d: %.2f ms, %.1f GFLOP/s (%s)\n", batch, m, n, k, transB, best*1e3, 2.0*batch*m*n*k/best/1e9, impl);
    return best;
}
int main(void) {
    run(1, 1291, 1291, 64, 1);   // QK^T one head
    run(16, 1291, 1291, 64, 1);  // all heads
    run(1, 1291, 64, 1291, 0);   // PV one head
    run(16, 1291, 64, 1291, 0);
    run(1, 2582, 1536, 512, 1);  // projection-like
    return 0;
}
