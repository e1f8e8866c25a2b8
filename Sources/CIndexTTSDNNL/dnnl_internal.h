// Shared between the oneDNN sources of this target; not part of the public header.
#ifndef INDEXTTS_DNNL_INTERNAL_H
#define INDEXTTS_DNNL_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

/// The process' CPU engine (created on first use; check ``indextts_dnnl_available`` first).
dnnl_engine_t indextts_dnnl_engine(void);

/// Reorders `from` (layout `from_md`) into `to` (layout `to_md`) on `stream`; the caller waits on the stream.
dnnl_status_t indextts_dnnl_reorder(dnnl_stream_t stream, const dnnl_memory_desc_t *from_md, const void *from,
                                    const dnnl_memory_desc_t *to_md, void *to);

/// dst[i] = leaky ReLU of src[i]·scale with `slope` (dst and src must not overlap), on the widest vectors the CPU has.
void indextts_rows_leaky(float *dst, const float *src, long n, float scale, float slope);

/// dst[i] += src[i] (no overlap), on the widest vectors the CPU has.
void indextts_rows_add(float *dst, const float *src, long n);

/// One time-major convolution compiled for `rows` output rows from rows + dilation·(kernel − 1) input rows (no padding:
/// callers pad), `[batch 1, rows, channels]` dense rows, on whichever fast kernel oneDNN picks (brgemm on AVX-512 for the
/// vocoder's shapes; its reference implementation is refused: dnnl_unimplemented), its weights reordered once, optionally adding to what dst holds (sum post-op).
typedef struct {
    long rows, in_ch, out_ch, kernel, dilation;
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t src_md, dst_md, weights_md, bias_md, scratchpad_md;
    void *weights;
    float *bias;
} indextts_tm_prim;

/// A thread's memory objects for one ``indextts_tm_prim`` (oneDNN memories are rebound per call, so not shared).
typedef struct {
    dnnl_memory_t src, dst, weights, bias, scratch;
} indextts_tm_prim_mem;

dnnl_status_t indextts_tm_prim_create(indextts_tm_prim *p, long in_ch, long out_ch, long kernel, long dilation, long rows,
                                      const float *weight, const float *bias, int accumulate, dnnl_stream_t stream);
void indextts_tm_prim_destroy(indextts_tm_prim *p);
size_t indextts_tm_prim_scratch_bytes(const indextts_tm_prim *p);
/// Memory objects over the prim's weights and bias and the caller's `scratchpad` (at least the prim's scratch bytes).
dnnl_status_t indextts_tm_prim_bind(const indextts_tm_prim *p, indextts_tm_prim_mem *m, void *scratchpad);
void indextts_tm_prim_unbind(indextts_tm_prim_mem *m);
/// Runs the convolution on `src` into `dst` and waits for it.
dnnl_status_t indextts_tm_prim_exec(const indextts_tm_prim *p, const indextts_tm_prim_mem *m, dnnl_stream_t stream,
                                    const float *src, float *dst);

/// libgomp's entry points (the OpenMP runtime oneDNN is built with here): a team of threads runs `fn`; oneDNN
/// primitives executed inside the team run on the calling thread only (oneDNN does not nest parallel regions).
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
extern int omp_get_max_threads(void);

#endif
