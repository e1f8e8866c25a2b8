// See dnnl_internal.h: one compiled time-major convolution of a fixed row count, shared by the fused stages.
#include "dnnl_internal.h"
#include <stdlib.h>
#include <string.h>

#define TRY(x) do { status = (x); if (status != dnnl_success) goto done; } while (0)

dnnl_status_t indextts_tm_prim_create(indextts_tm_prim *p, long in_ch, long out_ch, long kernel, long dilation, long rows,
                                      const float *weight, const float *bias, int accumulate, dnnl_stream_t stream) {
    memset(p, 0, sizeof *p);
    p->rows = rows;
    p->in_ch = in_ch;
    p->out_ch = out_ch;
    p->kernel = kernel;
    p->dilation = dilation;
    dnnl_status_t status = dnnl_success;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t any_md, plain_md;
    long span = dilation * (kernel - 1) + 1;
    dnnl_dims_t s_dims = {1, in_ch, rows + span - 1}, d_dims = {1, out_ch, rows};
    dnnl_dims_t w_dims = {out_ch, in_ch, kernel}, b_dims = {out_ch};
    dnnl_dims_t strides = {1}, dilates = {dilation - 1}, zero = {0};
    TRY(dnnl_memory_desc_init_by_tag(&p->src_md, 3, s_dims, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&p->dst_md, 3, d_dims, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&any_md, 3, w_dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&plain_md, 3, w_dims, dnnl_f32, dnnl_abc));
    TRY(dnnl_memory_desc_init_by_tag(&p->bias_md, 1, b_dims, dnnl_f32, dnnl_x));
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (accumulate) {
        TRY(dnnl_post_ops_create(&ops));
        TRY(dnnl_post_ops_append_sum(ops, 1.0f));
        TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    }
    {
        dnnl_convolution_desc_t desc;
        TRY(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &p->src_md,
                                                       &any_md, bias ? &p->bias_md : NULL, &p->dst_md, strides, dilates,
                                                       zero, zero));
        TRY(dnnl_primitive_desc_create(&pd, &desc, attr, indextts_dnnl_engine(), NULL));
    }
    {
        const char *impl = NULL;
        TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
        if (!impl || strncmp(impl, "ref", 3) == 0) {
            status = dnnl_unimplemented;
            goto done;
        }
    }
    p->weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    p->scratchpad_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    TRY(dnnl_primitive_create(&p->primitive, pd));
    p->weights = malloc(dnnl_memory_desc_get_size(&p->weights_md));
    if (bias) p->bias = malloc((size_t)out_ch * sizeof(float));
    if (!p->weights || (bias && !p->bias)) {
        status = dnnl_out_of_memory;
        goto done;
    }
    if (bias) memcpy(p->bias, bias, (size_t)out_ch * sizeof(float));
    TRY(indextts_dnnl_reorder(stream, &plain_md, weight, &p->weights_md, p->weights));
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return status;
}

void indextts_tm_prim_destroy(indextts_tm_prim *p) {
    if (p->primitive) dnnl_primitive_destroy(p->primitive);
    free(p->weights);
    free(p->bias);
    memset(p, 0, sizeof *p);
}

size_t indextts_tm_prim_scratch_bytes(const indextts_tm_prim *p) { return dnnl_memory_desc_get_size(&p->scratchpad_md); }

dnnl_status_t indextts_tm_prim_bind(const indextts_tm_prim *p, indextts_tm_prim_mem *m, void *scratchpad) {
    dnnl_status_t status = dnnl_success;
    dnnl_engine_t engine = indextts_dnnl_engine();
    memset(m, 0, sizeof *m);
    TRY(dnnl_memory_create(&m->src, &p->src_md, engine, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&m->dst, &p->dst_md, engine, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&m->weights, &p->weights_md, engine, p->weights));
    if (p->bias) TRY(dnnl_memory_create(&m->bias, &p->bias_md, engine, p->bias));
    if (indextts_tm_prim_scratch_bytes(p)) TRY(dnnl_memory_create(&m->scratch, &p->scratchpad_md, engine, scratchpad));
done:
    return status;
}

void indextts_tm_prim_unbind(indextts_tm_prim_mem *m) {
    if (m->src) dnnl_memory_destroy(m->src);
    if (m->dst) dnnl_memory_destroy(m->dst);
    if (m->weights) dnnl_memory_destroy(m->weights);
    if (m->bias) dnnl_memory_destroy(m->bias);
    if (m->scratch) dnnl_memory_destroy(m->scratch);
    memset(m, 0, sizeof *m);
}

dnnl_status_t indextts_tm_prim_exec(const indextts_tm_prim *p, const indextts_tm_prim_mem *m, dnnl_stream_t stream,
                                    const float *src, float *dst) {
    dnnl_status_t status = dnnl_success;
    TRY(dnnl_memory_set_data_handle(m->src, (void *)src));
    TRY(dnnl_memory_set_data_handle(m->dst, dst));
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, m->src}, {DNNL_ARG_WEIGHTS, m->weights}, {DNNL_ARG_DST, m->dst}};
    int count = 3;
    if (m->bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m->bias};
    if (m->scratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m->scratch};
    TRY(dnnl_primitive_execute(p->primitive, stream, count, args));
    TRY(dnnl_stream_wait(stream));
done:
    return status;
}
