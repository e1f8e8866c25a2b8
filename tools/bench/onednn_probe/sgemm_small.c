// Probe for tools/bench/onednn_probe.sh (docs/BENCHMARKS.md round 8): where indextts_dnnl_sgemm (our oneDNN fp32 path,
// a primitive created per call from oneDNN's cache) overtakes cblas_sgemm, on small to large products; best of up to
// 200 runs each.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "indextts_dnnl.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(void){
  long shapes[][3]={{16,64,64},{32,128,128},{64,256,256},{128,256,256},{128,512,512},{256,512,512},{128,1280,1280},{2,1280,1280},{8,1280,5120},{1291,1291,64},{1291,64,1291}};
  for(unsigned s=0;s<sizeof shapes/sizeof shapes[0];s++){
    long m=shapes[s][0],n=shapes[s][1],k=shapes[s][2];
    float*A=malloc(m*k*4),*W=malloc(n*k*4),*C=malloc(m*n*4);
    for(long i=0;i<m*k;i++)A[i]=0.001f*(i%97); for(long i=0;i<n*k;i++)W[i]=0.001f*(i%89);
    int reps = 2e9/(2.0*m*n*k) > 200 ? 200 : (int)(2e9/(2.0*m*n*k))+3;
    double bd=1e9,bb=1e9;
    for(int r=0;r<reps;r++){double t0=now(); if(indextts_dnnl_sgemm(m,n,k,A,0,k,W,1,k,C,n,0)) {printf("fail\n");return 1;} double t=now()-t0; if(t<bd)bd=t;
      t0=now(); cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1,A,k,W,k,0,C,n); t=now()-t0; if(t<bb)bb=t;}
    printf("%5ld %5ld %5ld (%8.2f M MAC): onednn %8.1f us  openblas %8.1f us\n",m,n,k,m*n*k/1e6,bd*1e6,bb*1e6);
  }
}
