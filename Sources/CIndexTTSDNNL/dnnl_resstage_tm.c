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
    long kernel, dilation, halo, widen;  // widen: H_bm, rows computed beyond the tile on each side
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t src_md, dst_md, weights_md, bias_md, scratchpad_md;
    void *weights;
    float *bias;  // channels values or NULL
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
    if (s->conv) {
        for (long i = 0; i < s->blocks * s->convs; i++) {
            if (s->conv[i].primitive) dnnl_primitive_destroy(s->conv[i].primitive);
            free(s->conv[i].weights);
            free(s->conv[i].bias);
        }
    }
    free(s->conv);
    free(s);
}

long indextts_dnnl_tm_resstage_tile(const indextts_dnnl_tm_resstage *s) { return s ? s->tile : 0; }

// Compiles one convolution for `rows` output rows from rows + (k − 1)·d input rows (no padding) with the sum post-op,
// oneDNN choosing the weights' layout, and reorders its weights. Refuses oneDNN's reference implementation.
static dnnl_status_t create_conv(stage_conv *c, long channels, long rows, const float *weight, const float *bias,
                                 dnnl_stream_t stream) {
    dnnl_status_t status = dnnl_success;
    dnnl_engine_t engine = indextts_dnnl_engine();
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t any_md, plain_md;
    long span = c->dilation * (c->kernel - 1) + 1;
    dnnl_dims_t s_dims = {1, channels, rows + span - 1}, d_dims = {1, channels, rows};
    dnnl_dims_t w_dims = {channels, channels, c->kernel}, b_dims = {channels};
    dnnl_dims_t strides = {1}, dilates = {c->dilation - 1}, zero = {0};
    TRY(dnnl_memory_desc_init_by_tag(&c->src_md, 3, s_dims, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&c->dst_md, 3, d_dims, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&any_md, 3, w_dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&plain_md, 3, w_dims, dnnl_f32, dnnl_abc));
    TRY(dnnl_memory_desc_init_by_tag(&c->bias_md, 1, b_dims, dnnl_f32, dnnl_x));
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    TRY(dnnl_post_ops_create(&ops));
    TRY(dnnl_post_ops_append_sum(ops, 1.0f));
    TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    {
        dnnl_convolution_desc_t desc;
        TRY(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &c->src_md,
                                                       &any_md, bias ? &c->bias_md : NULL, &c->dst_md, strides, dilates,
                                                       zero, zero));
        TRY(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    }
    {
        const char *impl = NULL;
        TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
        if (!impl || strncmp(impl, "ref", 3) == 0) {
            status = dnnl_unimplemented;
            goto done;
        }
    }
    c->weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    c->scratchpad_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    TRY(dnnl_primitive_create(&c->primitive, pd));
    c->weights = malloc(dnnl_memory_desc_get_size(&c->weights_md));
    if (bias) c->bias = malloc((size_t)channels * sizeof(float));
    if (!c->weights || (bias && !c->bias)) {
        status = dnnl_out_of_memory;
        goto done;
    }
    if (bias) memcpy(c->bias, bias, (size_t)channels * sizeof(float));
    TRY(indextts_dnnl_reorder(stream, &plain_md, weight, &c->weights_md, c->weights));
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return status;
}

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
            c->kernel = kernels[b];
            c->dilation = dilations[b * convs + m];
            c->halo = (c->kernel - 1) * c->dilation / 2;
            c->widen = widen;
            widen += c->halo;
        }
        if (tile + 2 * widen > s->max_rows) s->max_rows = tile + 2 * widen;
        for (long m = 0; m < convs; m++) {
            stage_conv *c = &s->conv[b * convs + m];
            TRY(create_conv(c, channels, tile + 2 * c->widen, weights[b * convs + m], biases ? biases[b * convs + m] : NULL,
                            stream));
            size_t bytes = dnnl_memory_desc_get_size(&c->scratchpad_md);
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

// rows [first, first + rows) of x (zero outside [0, time)) into dst; leaky ReLU applied when `activate`.
static void gather(float *dst, const float *x, long first, long rows, long time, long ch, int activate, float slope) {
    for (long r = 0; r < rows; r++) {
        long j = first + r;
        float *d = dst + r * ch;
        if (j < 0 || j >= time) {
            memset(d, 0, (size_t)ch * sizeof(float));
        } else if (!activate) {
            memcpy(d, x + j * ch, (size_t)ch * sizeof(float));
        } else {
            const float *v = x + j * ch;
            for (long i = 0; i < ch; i++) d[i] = v[i] < 0 ? v[i] * slope : v[i];
        }
    }
}

// libgomp's entry points (the OpenMP runtime oneDNN is built with here): a team of threads runs `fn`; oneDNN primitives
// executed inside the team run on the calling thread only (oneDNN does not nest parallel regions).
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
extern int omp_get_max_threads(void);

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
    const long ch = s->channels, tile = s->tile;
    dnnl_status_t status = dnnl_success;
    dnnl_engine_t engine = indextts_dnnl_engine();
    dnnl_stream_t stream = NULL;
    long n = s->blocks * s->convs;
    dnnl_memory_t *mem = calloc((size_t)(5 * n), sizeof(dnnl_memory_t));  // per conv: src, dst, weights, bias, scratch
    // y (the block's running value) in two buffers, its activation in a third; rows of the widest convolution's input.
    size_t rows_bytes = (size_t)s->max_rows * (size_t)ch * sizeof(float);
    float *y0 = malloc(rows_bytes), *y1 = malloc(rows_bytes), *act = malloc(rows_bytes);
    void *scratchpad = s->scratch_bytes ? malloc(s->scratch_bytes) : NULL;
    if (!mem || !y0 || !y1 || !act || (s->scratch_bytes && !scratchpad)) {
        status = dnnl_out_of_memory;
        goto done;
    }
    TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    for (long i = 0; i < n; i++) {
        const stage_conv *c = &s->conv[i];
        dnnl_memory_t *m = mem + 5 * i;
        TRY(dnnl_memory_create(&m[0], &c->src_md, engine, act));
        TRY(dnnl_memory_create(&m[1], &c->dst_md, engine, DNNL_MEMORY_NONE));
        TRY(dnnl_memory_create(&m[2], &c->weights_md, engine, c->weights));
        if (c->bias) TRY(dnnl_memory_create(&m[3], &c->bias_md, engine, c->bias));
        if (dnnl_memory_desc_get_size(&c->scratchpad_md)) TRY(dnnl_memory_create(&m[4], &c->scratchpad_md, engine, scratchpad));
    }
    for (long t0 = first_tile * tile; t0 < time && t0 < end_tile * tile; t0 += tile) {
        long rows_out = time - t0 < tile ? time - t0 : tile;
        for (long b = 0; b < s->blocks; b++) {
            const stage_conv *first = &s->conv[b * s->convs];
            // y: rows [t0 − W, t0 + tile + W) of x, W = the first convolution's input widening.
            long w = first->widen + first->halo;
            float *y = y0, *next = y1;
            gather(y, x, t0 - w, tile + 2 * w, time, ch, 0, 0);
            for (long mi = 0; mi < s->convs; mi++) {
                const stage_conv *c = &s->conv[b * s->convs + mi];
                dnnl_memory_t *m = mem + 5 * (b * s->convs + mi);
                long in_rows = tile + 2 * (c->widen + c->halo), rows = tile + 2 * c->widen;
                // The input's activation (zero rows stay zero), the residual — y's middle rows — where the output goes.
                indextts_rows_leaky(act, y, in_rows * ch, 1.0f, s->slope);
                memcpy(next, y + c->halo * ch, (size_t)rows * (size_t)ch * sizeof(float));
                TRY(dnnl_memory_set_data_handle(m[1], next));
                dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[2]}, {DNNL_ARG_DST, m[1]}};
                int count = 3;
                if (m[3]) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m[3]};
                if (m[4]) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m[4]};
                TRY(dnnl_primitive_execute(c->primitive, stream, count, args));
                TRY(dnnl_stream_wait(stream));
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
            if (b == 0) {
                memcpy(o, y, (size_t)rows_out * (size_t)ch * sizeof(float));
            } else {
                indextts_rows_add(o, y, rows_out * ch);
            }
        }
    }
done:
    if (mem) {
        for (long i = 0; i < 5 * n; i++)
            if (mem[i]) dnnl_memory_destroy(mem[i]);
    }
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
