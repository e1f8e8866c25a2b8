// Probe for tools/bench/onednn_probe.sh: im2col + OpenBLAS SGEMM conv1d at one shape (args: channels frames kernel dilation).
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc, char **argv) {
    long C = atol(argv[1]), L = atol(argv[2]), K = atol(argv[3]), D = atol(argv[4]);
    long pad = (K - 1) * D / 2, P = L + 2 * pad;
    float *x = calloc(C * P, 4), *w = malloc(4 * C * C * K), *o = malloc(4 * C * L);
    for (long i=0;i<C*P;i++) x[i]=(i%17)*0.01f; for (long i=0;i<C*C*K;i++) w[i]=(i%13)*0.001f;
    double best = 1e9;
    for (int it = 0; it < 5; it++) {
        double t0 = now();
        float *cols = malloc(4 * C * K * L);
        for (long c = 0; c < C; c++) for (long k = 0; k < K; k++) memcpy(cols + (c * K + k) * L, x + c * P + k * D, 4 * L);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, L, C * K, 1, w, C * K, cols, L, 0, o, L);
        free(cols);
        double t = now() - t0; if (t < best) best = t;
    }
    printf("im2col+sgemm C %ld L %ld K %ld D %ld: %.2f ms, %.1f GFLOP/s\n", C, L, K, D, best * 1e3, 2.0*C*C*K*L/best/1e9);
}
