// Hand-written hot loops of IndexTTS-Swift that need instruction sets beyond the release build's Haswell baseline,
// each compiled per instruction set with clang's `target` attribute and chosen at run time by the caller (one
// binary for every x86-64 server: AVX2+FMA+F16C, and AVX-512 where the CPU has it). Compiled without -march flags.
// On other architectures every entry point reports itself unavailable and must not be called.
#ifndef INDEXTTS_KERNELS_H
#define INDEXTTS_KERNELS_H

#include <stdint.h>

/// 1 when this build contains the x86-64 kernels below (the caller still checks the CPU's features), else 0.
int indextts_kernels_x86(void);

/// fp16-weight GEMV for a few rows (decoding: 1–4 beams). For output rows r in [row_begin, row_end) and input rows
/// b in [0, nx):  y[b·ldy + r] = Σ_j fp32(w[r·k + j]) · x[b·k + j].
/// `w`: IEEE fp16 bit patterns, row-major [rows, k]; `x`: fp32 [nx, k]; 1 ≤ nx ≤ 4 (nx ≤ 0 does nothing). Products and sums in fp32
/// (FMA), each row's sum split over 16 (AVX-512) or 8 (AVX2) lanes and reduced at the end.
/// `_avx512` needs AVX512F (+ F16C, FMA); `_avx2` needs AVX2, FMA and F16C.
void indextts_f16_gemv_avx512(const uint16_t *w, long k, long row_begin, long row_end,
                              const float *x, long nx, float *y, long ldy);
void indextts_f16_gemv_avx2(const uint16_t *w, long k, long row_begin, long row_end,
                            const float *x, long nx, float *y, long ldy);

/// The same product for many input rows (a batch of requests' beams, a prompt's prefill), where it is bound by
/// arithmetic rather than by reading the weights: a register tile of several weight rows (4 on AVX-512, 3 on AVX2)
/// × the nx input rows, so that each widened weight vector and each loaded input vector serve several products.
/// Same arguments and contract as the GEMV kernels (1 ≤ nx ≤ 4; call it over a cache-resident block of rows, once
/// per group of input rows). Each sum uses one accumulator per lane (another order than the GEMV kernels').
void indextts_f16_gemm_avx512(const uint16_t *w, long k, long row_begin, long row_end,
                              const float *x, long nx, float *y, long ldy);
void indextts_f16_gemm_avx2(const uint16_t *w, long k, long row_begin, long row_end,
                            const float *x, long nx, float *y, long ldy);

/// The unnormalised softmax of one attention row: m = max(row); e_j = e^(scale·(row_j − m)) written over `row`, or
/// as bfloat16 bits (round to nearest even) into `bf16` when it is not NULL; returns 1 / Σ e_j. A row that is
/// entirely −∞ becomes zeros and returns 0. `scale` must be positive. e^x is VectorMath.exp's polynomial.
/// `_avx512` needs AVX512F/VL/BW and FMA; `_avx2` needs AVX2 and FMA.
float indextts_softmax_row_avx512(float *row, long n, float scale, uint16_t *bf16);
float indextts_softmax_row_avx2(float *row, long n, float scale, uint16_t *bf16);

/// The attention softmax row for a bfloat16 P·V product: m = max(row); e_j = e^(scale·(row_j − m)) written as
/// bfloat16 bits (nearest even; values below bfloat16's normal range, ≈ 1.2·10⁻³⁸, become 0: `vcvtne2ps2bf16` flushes
/// them) into `bf16`, `row` left as it is; returns 1 / Σ e_j (summed before rounding). e^x to
/// 2.3·10⁻⁷ relative (not VectorMath.exp's polynomial: the values are rounded to 2⁻⁹ right after). A row that is
/// entirely −∞ becomes zeros and returns 0; masked (−∞) entries are 0. `scale` must be positive.
/// Needs AVX512F/VL/BW, AVX512-BF16 and FMA (see bf16_rows.c).
float indextts_softmax_row_bf16(const float *row, long n, float scale, uint16_t *bf16);

/// SwiGLU's gated activation for a bfloat16 down projection: dst_j = bf16(gate_j / (1 + e^(−gate_j)) · up_j), nearest
/// even (denormals flushed), e^x as in `indextts_softmax_row_bf16`. Same requirements.
void indextts_silu_mul_bf16(const float *gate, const float *up, uint16_t *dst, long n);

/// Attention of many queries in bfloat16 for one (batch, head) pair (attention_bf16.c): softmax(scale·Q·Kᵀ)·V with
/// Q, K, V rounded to bfloat16 (nearest even), both products accumulated in fp32 by `vdpbf16ps`, the probabilities
/// as `indextts_softmax_row_bf16` gives them (unnormalised, bfloat16) and each output row divided by its sum.
/// Same requirements as `indextts_softmax_row_bf16`.
///
/// `indextts_attention_bf16_pack` rounds and packs `keys` key rows (`dim` wide, `k_ld` floats apart) and value rows
/// (`value_dim` wide, `v_ld` apart) into `packed`, which holds `indextts_attention_bf16_packed_count(keys, dim,
/// value_dim)` values. `indextts_attention_bf16_rows` then computes output rows `first_row ..< first_row + row_count`
/// of `queries` (query row i at `q + i·q_ld`, output row i at `out + i·o_ld`, `value_dim` floats): query i attends
/// to keys `0 ..< min(valid_keys, keys)` (`valid_keys` < 0: all), and with `causal` also only to keys
/// `0 ... i + keys − queries`; a query with no key gets zeros. Different row ranges of one packing may run on
/// different threads. With cos/sin tables (`rotary_pairs` values per row, row j for key j and row i for query i;
/// NULL for none) the first `rotary_pairs` interleaved channel pairs of keys and queries are rotated before the
/// rounding, as RotaryEmbedding.apply (style .interleaved) computes them. With `out` NULL the output rows are written
/// to `out_bf16` instead, rounded to bfloat16 (nearest even; `o_ld` then counts bfloat16 values). Both return 0, or
/// −1 for a refused size (dims outside 1...4096, more rotary pairs than fit), a scale that is not positive (each row's
/// maximum is taken before scaling), no output or failed allocation.
long indextts_attention_bf16_packed_count(long keys, long dim, long value_dim);
int indextts_attention_bf16_pack(const float *k, long k_ld, const float *v, long v_ld, long keys, long dim,
                                 long value_dim, const float *k_cos, const float *k_sin, long rotary_pairs,
                                 uint16_t *packed);
int indextts_attention_bf16_rows(const float *q, long q_ld, long first_row, long row_count, long queries,
                                 const uint16_t *packed, long keys, long dim, long value_dim, float scale,
                                 long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                 long rotary_pairs, float *out, uint16_t *out_bf16, long o_ld);

/// The same attention in fp32 (attention_f32.c): softmax(scale·Q·Kᵀ)·V with both products accumulated by fp32 FMAs,
/// the probabilities as `indextts_softmax_row_avx512` computes them (unnormalised; a NaN or +∞ score gives NaN rows,
/// as on the BLAS path, where the bf16 kernel clamps) and each output row divided by its sum. `_avx512` needs
/// AVX512F/VL/BW and FMA, `_avx2` AVX2 and FMA; both read the packing, which runs anywhere.
/// `indextts_attention_f32_pack` copies `keys` key rows (`dim` wide, `k_ld` floats apart; rotated first with cos/sin
/// tables as above) and value rows (`value_dim` wide, `v_ld` apart) into `packed`, which holds
/// `indextts_attention_f32_packed_count(keys, dim, value_dim)` floats (−1 for a negative key count, widths below 1
/// or no x86-64 kernels); `indextts_attention_f32_rows_*` then computes output rows `first_row ..< first_row +
/// row_count` (fp32, `o_ld` apart) with the same masking, rotation and return values as
/// `indextts_attention_bf16_rows`.
long indextts_attention_f32_packed_count(long keys, long dim, long value_dim);
int indextts_attention_f32_pack(const float *k, long k_ld, const float *v, long v_ld, long keys, long dim,
                                long value_dim, const float *k_cos, const float *k_sin, long rotary_pairs,
                                float *packed);
int indextts_attention_f32_rows_avx512(const float *q, long q_ld, long first_row, long row_count, long queries,
                                       const float *packed, long keys, long dim, long value_dim, float scale,
                                       long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                       long rotary_pairs, float *out, long o_ld);
int indextts_attention_f32_rows_avx2(const float *q, long q_ld, long first_row, long row_count, long queries,
                                     const float *packed, long keys, long dim, long value_dim, float scale,
                                     long valid_keys, int causal, const float *q_cos, const float *q_sin,
                                     long rotary_pairs, float *out, long o_ld);

/// The WaveNet gate: dst_i = tanh(a_i + gate_a) · σ(b_i + gate_b), with VectorMath.tanh's and VectorMath.sigmoid's
/// formulas (gates.c). Needs AVX512F/VL/BW and FMA.
void indextts_gate_tanh_sigmoid_avx512(const float *a, const float *b, float gate_a, float gate_b, float *dst, long n);
/// The same with a gate per element (time-major rows: one gate per channel): dst_i = tanh(a_i + gate_a_i) ·
/// σ(b_i + gate_b_i).
void indextts_gate_rows_tanh_sigmoid_avx512(const float *a, const float *b, const float *gate_a,
                                            const float *gate_b, float *dst, long n);

/// fp32 weights in Hugging Face Conv1D layout `w` [k, n] (row-major) and a few input rows (decoding beams): for output
/// columns c in [c0, c1) and input rows b in [0, nx):  y[b·n + c] += Σ_j x[b·x_ld + j] · w[j·n + c], x [nx, ≥ k]
/// (`x_ld` ≥ k floats apart: a caller splitting the depth passes the rows of a slice), y [nx, n]. 1 ≤ nx ≤ 4 (other
/// values do nothing). Every weight is read once for all rows, 8 weight rows at a time along the columns
/// (f32_rows.c). `_avx512` needs AVX512F/VL/BW and FMA; `_avx2` needs AVX2 and FMA.
void indextts_f32_rows_inout_avx512(const float *w, long k, long n, long c0, long c1,
                                    const float *x, long x_ld, long nx, float *y);
void indextts_f32_rows_inout_avx2(const float *w, long k, long n, long c0, long c1,
                                  const float *x, long x_ld, long nx, float *y);
/// `y[b, o] += W[o, :]·x[b, :]` for a row-major [n, k] W (`torch.nn.Linear` layout), the outputs [o0, o1), x [nx, k]
/// and y [nx, n] contiguous. 1 ≤ nx ≤ 4 (other values do nothing). Each weight row is read once and dotted with every
/// input row (f32_rows.c). `_avx512` needs AVX512F/VL/BW and FMA; `_avx2` needs AVX2 and FMA.
void indextts_f32_rows_outin_avx512(const float *w, long k, long n, long o0, long o1,
                                    const float *x, long nx, float *y);
void indextts_f32_rows_outin_avx2(const float *w, long k, long n, long o0, long o1,
                                  const float *x, long nx, float *y);
/// The same product for any number of input rows nx ≥ 1 (requests decoding together), in register tiles of up to 6
/// rows × 16 columns over depth blocks of 128 weight rows: y is read and written once per depth block, each block's
/// weights come from memory once for all rows (f32_rows.c). Needs AVX2 and FMA.
void indextts_f32_rows_tiles_avx2(const float *w, long k, long n, long c0, long c1,
                                  const float *x, long x_ld, long nx, float *y);

/// Winograd minimal filtering F(4, 4) for stride-1 1-D convolutions (winograd.c; portable C, on every architecture),
/// in three steps around 7 matrix products: a filter of `kernel` taps is cut into J = ⌈kernel/4⌉ sub-filters of 4
/// taps; output tile n holds the 4 outputs t = (n / d)·4d + n % d + d·i (i < 4; d the dilation), so one tile of each
/// dilation phase per block of 4d outputs. For each of the 7 transform rows ξ the product is
///     products[ξ] [out, tiles] = u[ξ] [out, J·in] · s[ξ] [J·in, tiles]
/// (row-major; column j·in + c of u[ξ] is sub-filter j of input channel c).
///
/// Weights `w` [out, in, kernel] (PyTorch's layout) → `u` [7][out][J·in], for output channels [o0, o1); `work`:
/// 4·J·in floats of scratch per concurrent caller.
void indextts_winograd44_weights(const float *w, long out_channels, long in_channels, long kernel, long subfilters,
                                 long o0, long o1, float *u, float *work);
/// Input transform of channels [c0, c1) of `x` [in, in_time] (zero padding of `padding` frames on both ends implied)
/// for output tiles [tile0, tile0 + tiles) → `s` [7][J·in][tiles]. `work`: indextts_winograd44_input_work(…) floats
/// of scratch, one per concurrent caller.
void indextts_winograd44_input(const float *x, long in_time, long in_channels, long c0, long c1, long padding,
                               long dilation, long subfilters, long tile0, long tiles, float *s, float *work);
long indextts_winograd44_input_work(long dilation, long subfilters, long tiles);
/// Output transform of `products` [7][out][tiles] for output channels [o0, o1) → `y` [out, out_time] (+ `bias`[o]
/// when not NULL); outputs at or past out_time are dropped. `work`: 4·tiles floats of scratch per concurrent caller.
void indextts_winograd44_output(const float *products, long out_channels, long o0, long o1, long dilation,
                                long tile0, long tiles, long out_time, const float *bias, float *y, float *work);

/// Winograd minimal filtering F(4, 5) for stride-1 1-D convolutions over time-major rows (winograd45.c; portable C):
/// output tile n holds 4 output frames and reads 8 input frames, both given as tables of row pointers, so that the
/// dilation (frames d apart) and any padding (zeros, reflection) are the caller's. For each of the 8 transform rows ξ
///     products[ξ] [tiles, out] = v[ξ] [tiles, in] · u[ξ] [in, out]
/// (row-major). Filters of fewer than 5 taps are zero-padded.
///
/// Weights `w` [out, in, kernel] (PyTorch's layout, kernel ≤ 5) → `u` [8][in][out], for input channels [c0, c1).
void indextts_winograd45_weights(const float *w, long out_channels, long in_channels, long kernel, long c0, long c1,
                                 float *u);
/// Input transform of tiles [n0, n1) of a chunk of `tiles`: `frames[8n + j]` is tile n's input frame j (in_channels
/// floats) or NULL for a frame of zeros → `v` [8][tiles][in].
void indextts_winograd45_input(const float *const *frames, long in_channels, long n0, long n1, long tiles, float *v);
/// Output transform of `products` [8][tiles][out] for tiles [n0, n1) (+ `bias`[o] when not NULL): `rows[4n + i]` is
/// where tile n's output frame i goes (out_channels floats), NULL to drop it.
void indextts_winograd45_output(const float *products, long out_channels, long n0, long n1, long tiles,
                                const float *bias, float *const *rows);

#endif
