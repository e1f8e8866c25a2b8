// Shared between the oneDNN sources of this target; not part of the public header.
#ifndef INDEXTTS_DNNL_INTERNAL_H
#define INDEXTTS_DNNL_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

/// The process' CPU engine (created on first use; check ``indextts_dnnl_available`` first).
dnnl_engine_t indextts_dnnl_engine(void);

#endif
