// OpenBLAS SGEMM on the S2M DiT's product shapes with beta = 0 (OpenBLAS first zeroes C in a separate pass) and
// beta = 1 (C accumulated as it is), best of 7 each, alternating, twice. Ours only; the machine's rate varies, so
// compare the two columns of one run.
// Build and run:  cc -O2 tools/bench/sgemm_beta.c -o /tmp/sgemm_beta -lopenblas && OPENBLAS_NUM_THREADS=2 /tmp/sgemm_beta
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    // rows (2 CFG items × 1,291 frames), outputs, depth: fused qkv, wo, w2, stacked gate/up, U-ViT skip
    const int shapes[][3] = {{2582, 1536, 512}, {2582, 512, 512}, {2582, 512, 1536}, {2582, 3072, 512}, {2582, 512, 1024}};
    const long most = 2582L * 3072;
    float *a = malloc(sizeof(float) * most), *b = malloc(sizeof(float) * most), *c = malloc(sizeof(float) * most);
    if (!a || !b || !c) return 1;
    for (long i = 0; i < most; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f, c[i] = 0;
    char cpu[256] = "unknown CPU", line[512];
    FILE *info = fopen("/proc/cpuinfo", "r");
    while (info && fgets(line, sizeof line, info)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(cpu, sizeof cpu, "%s", colon + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    }
    if (info) fclose(info);
    printf("CPU: %s; %s, core %s, %d threads\n", cpu, openblas_get_config(), openblas_get_corename(),
           openblas_get_num_threads());
    for (int round = 0; round < 2; round++) {
        for (int s = 0; s < 5; s++) {
            const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            double best[2] = {1e9, 1e9};
            for (int r = 0; r < 7; r++) {
                for (int beta = 0; beta < 2; beta++) {
                    double t = now();
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, (float)beta, c, n);
                    t = now() - t;
                    if (t < best[beta]) best[beta] = t;
                }
            }
            printf("%4d x %4d x %4d: beta 0 %6.1f GFLOP/s, beta 1 %6.1f GFLOP/s\n", m, n, k,
                   2.0 * m * n * k / best[0] / 1e9, 2.0 * m * n * k / best[1] / 1e9);
        }
    }
    free(a), free(b), free(c);
    return 0;
}
