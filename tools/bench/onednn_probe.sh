#!/usr/bin/env bash
# Single-shape probes behind docs/BENCHMARKS.md "Round 3": oneDNN's fp32 1-D convolution (plain ncw layouts, as
# indextts_dnnl_conv1d runs it, and `format_any` with the src/dst reorders timed and the weights reordered once)
# against im2col + OpenBLAS SGEMM on BigVGAN's shapes, and oneDNN's bf16 matmul on the S2M attention's and a
# projection's shapes; and (English voice round 2) the Piper HiFi-GAN's convolutions on channel-major rows, on
# time-major rows, and as one fixed-size time-major tile with the sum post-op (TimeMajorConvolution). Plain C against
# Debian's libdnnl and libopenblas; best of 5 (tmconv: 20) per shape. Round 8: fp32 products on oneDNN (packed and
# plain weights) against OpenBLAS's SGEMM on the models' shapes, and where our oneDNN path overtakes SGEMM.
# Usage: tools/bench/onednn_probe.sh [--threads 2]
set -euo pipefail
source "$(dirname "$0")/common.sh"
threads=2
declare -A option=([--threads]=threads)
bench_parse "$@"
bench_machine
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for p in conv im2col attn tmconv sgemm; do
  lib=-ldnnl; [ "$p" = im2col ] && lib=-lopenblas; [ "$p" = sgemm ] && lib="-ldnnl -lopenblas"
  cc -O2 -o "$out/$p" "tools/bench/onednn_probe/$p.c" $lib
done
cc -O2 -I Sources/CIndexTTSDNNL/include -o "$out/sgemm_small" tools/bench/onednn_probe/sgemm_small.c \
  Sources/CIndexTTSDNNL/dnnl_matmul.c -ldnnl -lopenblas -lgomp -lpthread
# As the indextts binary sets them at start-up: OpenBLAS's idle threads sleep after ≈ 0.1 ms, libgomp's at once (else
# each library's spinning threads take the cores from the other's next product).
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" OPENBLAS_THREAD_TIMEOUT=18 OMP_WAIT_POLICY=PASSIVE
echo "== $threads threads; OpenBLAS core: $(.build/release/indextts system 2>/dev/null | grep -m1 '^blas' || echo 'build indextts to print it')"
echo "== conv1d: channels, frames, kernel, dilation (any 0: plain layouts; any 1: oneDNN's choice + reorders)"
for s in "768 1720 11 1" "384 6880 11 3" "384 6880 3 1" "192 13760 7 5" "96 27520 11 1" "24 110080 7 3"; do
  "$out/conv" $s 0; "$out/conv" $s 1; "$out/im2col" $s
done
echo "== bf16 matmul (S2M attention per head and for 16 heads, a projection)"
"$out/attn"
echo "== Piper HiFi-GAN convolutions: channels, kernel, dilation, frames, mode (0 ncw, 1 nwc, 2 one nwc tile + sum)"
for s in "32 3 1 67840" "32 7 12 67840" "64 3 1 16960" "64 7 12 16960" "128 3 1 4240" "128 7 12 4240"; do
  set -- $s
  "$out/tmconv" $s 0; "$out/tmconv" $s 1; "$out/tmconv" "$1" "$2" "$3" $((65536 / $1)) 2
done
echo "== fp32 products C = A·Wᵀ: m n k, GFLOP/s of oneDNN with W packed once, on plain W, and OpenBLAS"
"$out/sgemm"
echo "== fp32 products, small to large: indextts_dnnl_sgemm against cblas_sgemm"
"$out/sgemm_small"
