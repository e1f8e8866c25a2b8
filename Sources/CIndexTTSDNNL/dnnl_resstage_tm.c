// See include/indextts_dnnl.h: a HiFi-GAN stage's residual blocks fused over time tiles.
//
// Run layer by layer, each of a stage's convolutions streams the whole activation through memory (8 MB per tensor for
// the English voice's last stage on a 10-second sentence), reading its input and residual and writing its output, and
// every convolution of every tile is a parallel region of its own (a team synchronisation per 10–60 µs of work).
// Here each tile of output rows goes through every block of the stage before the next tile: a block's first
// convolutions also compute the rows the later ones need around the tile (their halo), so the tile's intermediates
// stay in cache and the stage reads its input and writes its output once; and the tiles are split between the threads
// of one OpenMP team, each running its primitives alone (oneDNN does not nest parallel regions), so threads meet once
// per stage. English HiFi-GAN on 2 Zen 4 cores: RTF 0.036 layer by layer → 0.025 (docs/BENCHMARKS.md).
//
// Per block b with convolutions m = 0..n−1 (kernel k_b, dilation d_bm, padding h_bm = (k_b − 1)·d_bm / 2, odd k_b):
// y ← conv_m(leaky(y)) + y from y = x, and the stage's output is Σ_b y_b. Convolution m of a block computes the tile's
// rows widened by H_bm = Σ_{m' > m} h_bm' on both sides; rows outside the sequence are zero before every convolution
// (PyTorch's zero padding of each convolution's input, which the leaky ReLU keeps at zero).
#include "indextts_dnnl.h"
#include "dnnl_internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    long halo, widen;  // widen: H_bm, rows computed beyond the tile on each side
    indextts_tm_prim prim;
} stage_conv;

struct indextts_dnnl_tm_resstage {
    long channels, blocks, convs, tile, max_rows;  // max_rows: the widest input of any convolution
    float slope;
    stage_conv *conv;  // blocks × convs, row-major
    size_t scratch_bytes;
};

#define TRY(x) do { status = (x); if (status != dnnl_success) goto done; } while (0)

void indextts_dnnl_tm_resstage_destroy(indextts_dnnl_tm_resstage *s) {
    if (!s) return;
    if (s->conv)
        for (long i = 0; i < s->blocks * s->convs; i++) indextts_tm_prim_destroy(&s->conv[i].prim);
    free(s->conv);
    free(s);
}

long indextts_dnnl_tm_resstage_tile(const indextts_dnnl_tm_resstage *s) { return s ? s->tile : 0; }

indextts_dnnl_tm_resstage *indextts_dnnl_tm_resstage_create(long channels, long blocks, long convs, const long *kernels,
                                                            const long *dilations, const float *const *weights,
                                                            const float *const *biases, long tile, float slope) {
    if (!indextts_dnnl_available() || channels <= 0 || blocks <= 0 || convs <= 0 || tile <= 0 || !kernels || !dilations ||
        !weights)
        return NULL;
    for (long b = 0; b < blocks; b++) {
        if (kernels[b] <= 0 || kernels[b] % 2 == 0) return NULL;  // symmetric padding (k − 1)·d / 2 only
        for (long m = 0; m < convs; m++)
            if (dilations[b * convs + m] <= 0 || !weights[b * convs + m]) return NULL;
    }
    indextts_dnnl_tm_resstage *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->channels = channels;
    s->blocks = blocks;
    s->convs = convs;
    s->tile = tile;
    s->slope = slope;
    s->conv = calloc((size_t)(blocks * convs), sizeof *s->conv);
    dnnl_status_t status = s->conv ? dnnl_success : dnnl_out_of_memory;
    dnnl_stream_t stream = NULL;
    if (status != dnnl_success) goto done;
    TRY(dnnl_stream_create(&stream, indextts_dnnl_engine(), dnnl_stream_default_flags));
    for (long b = 0; b < blocks; b++) {
        long widen = 0;  // Σ of the halos of the convolutions after m, filled from the last one
        for (long m = convs - 1; m >= 0; m--) {
            stage_conv *c = &s->conv[b * convs + m];
            c->halo = (kernels[b] - 1) * dilations[b * convs + m] / 2;
            c->widen = widen;
            widen += c->halo;
        }
        if (tile + 2 * widen > s->max_rows) s->max_rows = tile + 2 * widen;
        for (long m = 0; m < convs; m++) {
            stage_conv *c = &s->conv[b * convs + m];
            TRY(indextts_tm_prim_create(&c->prim, channels, channels, kernels[b], dilations[b * convs + m],
                                        tile + 2 * c->widen, weights[b * convs + m], biases ? biases[b * convs + m] : NULL,
                                        1, stream));
            size_t bytes = indextts_tm_prim_scratch_bytes(&c->prim);
            if (bytes > s->scratch_bytes) s->scratch_bytes = bytes;
        }
    }
    TRY(dnnl_stream_wait(stream));
done:
    if (stream) dnnl_stream_destroy(stream);
    if (status == dnnl_success) return s;
    indextts_dnnl_tm_resstage_destroy(s);
    return NULL;
}

// rows [first, first + rows) of x (zero outside [0, time)) into dst.
static void gather(float *dst, const float *x, long first, long rows, long time, long ch) {
    for (long r = 0; r < rows; r++) {
        long j = first + r;
        if (j < 0 || j >= time) memset(dst + r * ch, 0, (size_t)ch * sizeof(float));
        else memcpy(dst + r * ch, x + j * ch, (size_t)ch * sizeof(float));
    }
}

typedef struct {
    const indextts_dnnl_tm_resstage *s;
    long time;
    const float *x;
    float *out;
    int status[64];
} run_job;

// One thread's share: a contiguous run of tiles, with its own buffers, memory objects and scratchpad.
static dnnl_status_t run_tiles(const indextts_dnnl_tm_resstage *s, long time, const float *x, float *out, long first_tile,
                               long end_tile) {
    const long ch = s->channels, tile = s->tile, n = s->blocks * s->convs;
    dnnl_status_t status = dnnl_success;
    dnnl_stream_t stream = NULL;
    indextts_tm_prim_mem *mem = calloc((size_t)n, sizeof *mem);
    // y (the block's running value) in two buffers, its activation in a third; rows of the widest convolution's input.
    size_t rows_bytes = (size_t)s->max_rows * (size_t)ch * sizeof(float);
    float *y0 = malloc(rows_bytes), *y1 = malloc(rows_bytes), *act = malloc(rows_bytes);
    void *scratchpad = s->scratch_bytes ? malloc(s->scratch_bytes) : NULL;
    if (!mem || !y0 || !y1 || !act || (s->scratch_bytes && !scratchpad)) {
        status = dnnl_out_of_memory;
        goto done;
    }
    TRY(dnnl_stream_create(&stream, indextts_dnnl_engine(), dnnl_stream_default_flags));
    for (long i = 0; i < n; i++) TRY(indextts_tm_prim_bind(&s->conv[i].prim, &mem[i], scratchpad));
    for (long t0 = first_tile * tile; t0 < time && t0 < end_tile * tile; t0 += tile) {
        long rows_out = time - t0 < tile ? time - t0 : tile;
        for (long b = 0; b < s->blocks; b++) {
            const stage_conv *first = &s->conv[b * s->convs];
            // y: rows [t0 − W, t0 + tile + W) of x, W = the first convolution's input widening.
            long w = first->widen + first->halo;
            float *y = y0, *next = y1;
            gather(y, x, t0 - w, tile + 2 * w, time, ch);
            for (long mi = 0; mi < s->convs; mi++) {
                const stage_conv *c = &s->conv[b * s->convs + mi];
                long in_rows = tile + 2 * (c->widen + c->halo), rows = tile + 2 * c->widen;
                // The input's activation (zero rows stay zero), the residual — y's middle rows — where the output goes.
                indextts_rows_leaky(act, y, in_rows * ch, 1.0f, s->slope);
                memcpy(next, y + c->halo * ch, (size_t)rows * (size_t)ch * sizeof(float));
                TRY(indextts_tm_prim_exec(&c->prim, &mem[b * s->convs + mi], stream, act, next));
                // Rows outside the sequence are the next convolution's zero padding.
                long lo = t0 - c->widen;  // position of row 0 of `next`
                for (long r = 0; r < rows; r++) {
                    long j = lo + r;
                    if (j < 0 || j >= time) memset(next + r * ch, 0, (size_t)ch * sizeof(float));
                }
                float *t = y;
                y = next;
                next = t;
            }
            // y: the block's rows [t0, t0 + tile).
            float *o = out + t0 * ch;
            if (b == 0) memcpy(o, y, (size_t)rows_out * (size_t)ch * sizeof(float));
            else indextts_rows_add(o, y, rows_out * ch);
        }
    }
done:
    if (mem)
        for (long i = 0; i < n; i++) indextts_tm_prim_unbind(&mem[i]);
    free(mem);
    if (stream) dnnl_stream_destroy(stream);
    free(y0);
    free(y1);
    free(act);
    free(scratchpad);
    return status;
}

static void run_thread(void *data) {
    run_job *job = data;
    long threads = omp_get_num_threads(), i = omp_get_thread_num();
    long tiles = (job->time + job->s->tile - 1) / job->s->tile;
    long per = (tiles + threads - 1) / threads;
    if (i < 64) job->status[i] = (int)run_tiles(job->s, job->time, job->x, job->out, i * per, (i + 1) * per);
}

int indextts_dnnl_tm_resstage_run(const indextts_dnnl_tm_resstage *s, long time, const float *x, float *out) {
    if (!s || !x || !out || time <= 0) return (int)dnnl_invalid_arguments;
    long tiles = (time + s->tile - 1) / s->tile;
    indextts_dnnl_configure_thread();
    long threads = omp_get_max_threads();
    if (threads > tiles) threads = tiles;
    if (threads > 64) threads = 64;
    if (threads < 1) threads = 1;
    run_job job = {s, time, x, out, {0}};
    // Tiles split between the threads (each runs its primitives alone): no team synchronisation per convolution.
    GOMP_parallel(run_thread, &job, (unsigned)threads, 0);
    for (long i = 0; i < threads; i++)
        if (job.status[i] != 0) return job.status[i];
    return 0;
}
