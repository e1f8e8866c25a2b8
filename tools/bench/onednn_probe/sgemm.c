// Probe for tools/bench/onednn_probe.sh (docs/BENCHMARKS.md round 8): fp32 products C = A·Wᵀ (W [n, k] row-major, a
// Linear weight) on the models' shapes — oneDNN's fp32 matmul with W reordered once into its own layout ("packed"),
// oneDNN on the plain operands ("plain", what indextts_dnnl_sgemm runs) and OpenBLAS's cblas_sgemm; best of 7 each,
// interleaved, and the largest difference between oneDNN's and OpenBLAS's results.
#include <oneapi/dnnl/dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define CHK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("fail %d line %d\n", s_, __LINE__); exit(1);} } while (0)
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void run(dnnl_engine_t eng, long m, long n, long k, int reps) {
    dnnl_stream_t st; CHK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    float *A = malloc(m*k*4), *W = malloc(n*k*4), *C = malloc(m*n*4), *C2 = malloc(m*n*4);
    for (long i=0;i<m*k;i++) A[i]=(float)((i*7919)%1000)/1000.f-0.5f;
    for (long i=0;i<n*k;i++) W[i]=(float)((i*104729)%1000)/1000.f-0.5f;
    dnnl_memory_desc_t a, b, bany, c;
    dnnl_dims_t ad={m,k}, bd={k,n}, cd={m,n}, as={k,1}, bs={1,k}, cs={n,1};
    CHK(dnnl_memory_desc_init_by_strides(&a,2,ad,dnnl_f32,as));
    CHK(dnnl_memory_desc_init_by_strides(&b,2,bd,dnnl_f32,bs));
    CHK(dnnl_memory_desc_init_by_tag(&bany,2,bd,dnnl_f32,dnnl_format_tag_any));
    CHK(dnnl_memory_desc_init_by_strides(&c,2,cd,dnnl_f32,cs));
    dnnl_matmul_desc_t md; CHK(dnnl_matmul_desc_init(&md,&a,&bany,NULL,&c));
    dnnl_primitive_desc_t pd; CHK(dnnl_primitive_desc_create(&pd,&md,NULL,eng,NULL));
    const char *impl; dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    void *Wp = malloc(dnnl_memory_desc_get_size(wmd)+64);
    dnnl_memory_t mw0, mw, ma, mc;
    CHK(dnnl_memory_create(&mw0,&b,eng,W)); CHK(dnnl_memory_create(&mw,wmd,eng,Wp));
    dnnl_primitive_desc_t rpd; CHK(dnnl_reorder_primitive_desc_create(&rpd,&b,eng,wmd,eng,NULL));
    dnnl_primitive_t r; CHK(dnnl_primitive_create(&r,rpd));
    dnnl_exec_arg_t rargs[2]={{DNNL_ARG_FROM,mw0},{DNNL_ARG_TO,mw}}; CHK(dnnl_primitive_execute(r,st,2,rargs)); dnnl_stream_wait(st);
    CHK(dnnl_memory_create(&ma,&a,eng,A)); CHK(dnnl_memory_create(&mc,&c,eng,C));
    dnnl_primitive_t p; CHK(dnnl_primitive_create(&p,pd));
    dnnl_matmul_desc_t md2; CHK(dnnl_matmul_desc_init(&md2,&a,&b,NULL,&c));
    dnnl_primitive_desc_t pd2; CHK(dnnl_primitive_desc_create(&pd2,&md2,NULL,eng,NULL));
    const char *impl2; dnnl_primitive_desc_query(pd2, dnnl_query_impl_info_str, 0, &impl2);
    dnnl_primitive_t p2; CHK(dnnl_primitive_create(&p2,pd2));
    double bd1=1e9, bb=1e9, bp=1e9;
    for (int it=0; it<reps; it++) {
        double t0=now();
        dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mw},{DNNL_ARG_DST,mc}};
        CHK(dnnl_primitive_execute(p,st,3,args)); dnnl_stream_wait(st);
        double t=now()-t0; if(t<bd1)bd1=t;
        t0=now();
        dnnl_exec_arg_t args2[3]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mw0},{DNNL_ARG_DST,mc}};
        CHK(dnnl_primitive_execute(p2,st,3,args2)); dnnl_stream_wait(st);
        t=now()-t0; if(t<bp)bp=t;
        t0=now();
        cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1.f,A,k,W,k,0.f,C2,n);
        t=now()-t0; if(t<bb)bb=t;
    }
    double md_=0; for(long i=0;i<m*n;i++){double d=C[i]-C2[i]; if(d<0)d=-d; if(d>md_)md_=d;}
    double fl=2.0*m*n*k;
    printf("%5ld %5ld %5ld  packed %6.1f  plain %6.1f  openblas %6.1f GF/s  %.1e %s\n", m,n,k,fl/bd1/1e9,fl/bp/1e9,fl/bb/1e9,md_,impl2);
    free(A);free(W);free(C);free(C2);free(Wp);
}
int main(int argc, char **argv) {
    dnnl_engine_t eng; CHK(dnnl_engine_create(&eng,dnnl_cpu,0));
    int reps = 7;
    long shapes[][3] = {
        {1024,1024,1024},
        {128,3840,1280},{128,1280,1280},{128,5120,1280},{128,1280,5120}, // GPT prefill
        {2582,1536,512},{2582,512,512},{2582,3072,512},{2582,512,1536},  // DiT
        {2582,1024,512},{892,2560,2560}, // WaveNet-ish
        {500,1024,1024},{500,4096,1024},{500,1024,4096}, // w2v-BERT
    };
    for (unsigned i=0;i<sizeof shapes/sizeof shapes[0];i++) run(eng,shapes[i][0],shapes[i][1],shapes[i][2],reps);
    return 0;
}
