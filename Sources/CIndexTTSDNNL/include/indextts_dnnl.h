// Reduced-precision (bfloat16) matrix products and fp32 1-D convolutions for IndexTTS-Swift through oneDNN, Debian's libdnnl (2.x C API).
// fp32 operands are rounded to bfloat16 (nearest, ties to even) per call; products accumulate in fp32; the result is
// fp32. Compiled for baseline x86-64: oneDNN picks its own kernels at run time (avx512_core_bf16, AMX where present).
#ifndef INDEXTTS_DNNL_H
#define INDEXTTS_DNNL_H

#include <stdint.h>

/// 1 when a oneDNN CPU engine could be created (the library loads and works), else 0.
int indextts_dnnl_available(void);

/// oneDNN's version into the three integers; returns 0 (or -1 when oneDNN reports none).
int indextts_dnnl_version(int *major, int *minor, int *patch);

/// Threads of the oneDNN products of every thread that has not chosen its own count (``indextts_dnnl_swap_threads``;
/// OpenMP's per-thread `nthreads` setting): the calling thread now, every other one before its next product. Before
/// any call, OpenMP's default (`OMP_NUM_THREADS` or every core). `threads` ≤ 0 changes nothing.
void indextts_dnnl_set_threads(int threads);

/// Applies the count of ``indextts_dnnl_set_threads`` to the calling thread once (the products call it themselves).
void indextts_dnnl_configure_thread(void);

/// Sets the threads of the products this thread starts from now on (OpenMP's per-thread `nthreads` setting) and
/// returns the previous value, to be restored: e.g. 1 on each worker of a loop that runs independent products side
/// by side. `threads` ≤ 0 changes nothing (and still returns the current value).
int indextts_dnnl_swap_threads(int threads);

/// C[m, n] = op(A)·op(B) + beta·C, row-major, where op(X) is X or Xᵀ (`trans_*` != 0), A is `m×k` after op, B is
/// `k×n` after op, with leading dimensions `lda`, `ldb`, `ldc` (elements). Each operand is fp32 (`*_bf16` == 0) or
/// bfloat16 (`uint16_t` bit patterns, `*_bf16` != 0). Returns 0 on success, else oneDNN's status code (or -1 when
/// oneDNN is unavailable); C is unspecified after a failure.
int indextts_dnnl_matmul(long m, long n, long k,
                         const void *a, int a_bf16, int trans_a, long lda,
                         const void *b, int b_bf16, int trans_b, long ldb,
                         float *c, long ldc, float beta);

/// The same product in fp32 throughout, C = op(A)·op(B) (+ `bias`, `n` values added to every row, when not NULL),
/// C overwritten: fp32 operands and accumulation on oneDNN's fp32 kernels (`brg:avx512_core` where the CPU has
/// AVX-512). Same returns; after a failure C is unspecified (write it again, e.g. with SGEMM).
int indextts_dnnl_sgemm(long m, long n, long k, const float *a, int trans_a, long lda, const float *b, int trans_b,
                        long ldb, const float *bias, float *c, long ldc);

/// A `k×n` right-hand operand rounded to bfloat16 and laid out once in the blocked layout oneDNN's bf16 matmul
/// chooses for it (e.g. a Linear layer's weight, `op(B) = Wᵀ`): products with it skip oneDNN's per-call copy of B
/// into that layout. The layout depends on `n`, `k` and the CPU, not on the row count of A (oneDNN 2.6's brgemm
/// matmul); a product whose row count it does not serve fails and the caller falls back to the plain operand.
typedef struct indextts_dnnl_packed_b indextts_dnnl_packed_b;

/// Packs op(B) (`k×n` after op; fp32 or bfloat16 bits, leading dimension `ldb`), choosing the layout for products
/// of `m` rows. Returns NULL when oneDNN is unavailable or fails. Free with ``indextts_dnnl_packed_b_free``.
indextts_dnnl_packed_b *indextts_dnnl_pack_b(long m, long n, long k, const void *b, int b_bf16, int trans_b, long ldb);

/// Frees a packed operand (NULL is ignored).
void indextts_dnnl_packed_b_free(indextts_dnnl_packed_b *packed);

/// Bytes the packed layout occupies (0 for NULL).
long indextts_dnnl_packed_b_bytes(const indextts_dnnl_packed_b *packed);

/// Writes the packed operand back as plain bfloat16 bits: op(B) `k×n` with `trans_b` and `ldb` as for
/// ``indextts_dnnl_pack_b``. Returns 0 on success, else oneDNN's status.
int indextts_dnnl_unpack_b(const indextts_dnnl_packed_b *packed, uint16_t *dst, int trans_b, long ldb);

/// C[m, n] = A·B + beta·C with A `m×k` (row-major, leading dimension `lda`; fp32, rounded per call, or bfloat16
/// bits when `a_bf16` != 0) and B packed by ``indextts_dnnl_pack_b``. Returns 0 on success, else oneDNN's status
/// (fall back to ``indextts_dnnl_matmul`` on the plain operand then).
int indextts_dnnl_matmul_packed(long m, const void *a, int a_bf16, long lda, const indextts_dnnl_packed_b *b, float *c,
                                long ldc, float beta);

/// fp32 1-D convolution, no padding (pad the input first), groups 1: for each batch item b, output channel o and
/// output frame t, dst[b, o, t] = bias[o] + Σ_i Σ_j w[o, i, j] · src[b, i, t·stride + j·dilation], with src
/// `[batch, in_channels, in_time]`, w `[out_channels, in_channels, kernel]`, dst `[batch, out_channels, out_time]`,
/// all dense row-major; `bias` may be NULL. out_time = (in_time − dilation·(kernel − 1) − 1) / stride + 1 must be
/// ≥ 1. oneDNN's direct convolution on the plain layouts: no im2col copy of the input. Returns 0 on success, else
/// oneDNN's status (or -1 when oneDNN is unavailable); dst is unspecified after a failure.
int indextts_dnnl_conv1d(long batch, long in_channels, long in_time, long out_channels, long kernel, long stride,
                         long dilation, const float *src, const float *w, const float *bias, float *dst);

/// A 1-D convolution (stride 1, zero padding, one group, fp32) on time-major rows (`[batch, time, channels]`,
/// oneDNN's nwc), run by oneDNN's brgemm convolution in tiles of a fixed number of output rows: one primitive
/// compiled and its weights reordered once at creation serve every length. On narrow channels several times faster
/// than ``indextts_dnnl_conv1d`` on channel-major rows, which oneDNN can only run as im2col + GEMM. Immutable after
/// creation; each run brings its own scratchpad (oneDNN's user scratchpad mode), so runs from several threads at once
/// are safe.
typedef struct indextts_dnnl_tm_conv indextts_dnnl_tm_conv;

/// Prepares a convolution with weight `[out, in, kernel]` (PyTorch's layout) and `bias` (`out_channels` values or
/// NULL; both copied), PyTorch's `padding` on both ends, `tile` output rows per primitive call. With `accumulate`
/// != 0 every run adds its result to what dst holds (oneDNN's sum post-op: a residual connection without a separate
/// pass); else it overwrites dst. Returns NULL when oneDNN is unavailable, refuses the arguments or fails; free with
/// ``indextts_dnnl_tm_conv_destroy``.
indextts_dnnl_tm_conv *indextts_dnnl_tm_conv_create(long in_channels, long out_channels, long kernel, long dilation,
                                                    long padding, const float *weight, const float *bias, long tile,
                                                    int accumulate);

/// Frees a prepared convolution (NULL is ignored).
void indextts_dnnl_tm_conv_destroy(indextts_dnnl_tm_conv *conv);

/// Output frames for `in_time` input frames (in_time + 2·padding − dilation·(kernel − 1)), or -1 when none.
long indextts_dnnl_tm_conv_out_time(const indextts_dnnl_tm_conv *conv, long in_time);

/// Output rows per primitive call.
long indextts_dnnl_tm_conv_tile(const indextts_dnnl_tm_conv *conv);

/// dst `[batch, out_time, out_channels]` = conv(act(src `[batch, in_time, in_channels]`)) + bias, dense row-major,
/// plus — for a convolution prepared to accumulate — `residual` (same shape as dst; may be src itself), or what dst
/// holds when `residual` is NULL. act(v) is v, or with `activate` != 0 a leaky ReLU of v·`scale` (slope `slope`),
/// applied while each tile's rows are gathered (the zero padding stays zero, as for PyTorch's padded activation);
/// each tile's residual rows are copied just before it is computed. Returns 0 on success, else oneDNN's status; dst
/// is unspecified after a failure.
int indextts_dnnl_tm_conv_run(const indextts_dnnl_tm_conv *conv, long batch, long in_time, const float *src, float *dst,
                              const float *residual, int activate, float scale, float slope);

/// A vocoder stage's residual blocks fused over time tiles (HiFi-GAN's ResBlock type 2 as Piper uses it): `blocks`
/// blocks of `convs` convolutions `[channels, channels, kernels[b]]` (odd kernels) with dilations
/// `dilations[b·convs + m]` and PyTorch's padding (k − 1)·d / 2; per block y ← conv_m(leaky(y)) + y from y = x, and the
/// stage's output is the sum of the blocks' y. Each tile of `tile` output rows goes through every block before the
/// next (a block's first convolutions widened by the later ones' halos), so intermediates stay in cache. `weights`
/// and `biases` (NULL, or NULL entries, for none) hold blocks·convs pointers in PyTorch's layouts, copied. Returns NULL
/// when oneDNN is unavailable, has only its reference implementation for a shape, or fails.
typedef struct indextts_dnnl_tm_resstage indextts_dnnl_tm_resstage;
indextts_dnnl_tm_resstage *indextts_dnnl_tm_resstage_create(long channels, long blocks, long convs, const long *kernels,
                                                            const long *dilations, const float *const *weights,
                                                            const float *const *biases, long tile, float slope);
void indextts_dnnl_tm_resstage_destroy(indextts_dnnl_tm_resstage *stage);
long indextts_dnnl_tm_resstage_tile(const indextts_dnnl_tm_resstage *stage);
/// out `[time, channels]` = the stage on x `[time, channels]` (dense rows; out must not overlap x). Each run brings its
/// own buffers: runs from several threads at once are safe. Returns 0, else oneDNN's status.
int indextts_dnnl_tm_resstage_run(const indextts_dnnl_tm_resstage *stage, long time, const float *x, float *out);

/// fp32 → bfloat16 bit patterns, round to nearest even (NaNs stay NaN).
void indextts_to_bf16(const float *src, uint16_t *dst, long count);

/// The same rounding of `rows` rows of `columns` values: row r of `src` starts at `src + r·src_ld`, its bfloat16 copy
/// at `dst + r·dst_ld` (e.g. one head of a strided key cache into a dense operand).
void indextts_to_bf16_rows(const float *src, long src_ld, uint16_t *dst, long dst_ld, long rows, long columns);

#endif
