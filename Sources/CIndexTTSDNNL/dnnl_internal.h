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

#endif
