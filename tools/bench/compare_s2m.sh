#!/usr/bin/env bash
# Runs `indextts bench s2m` and the PyTorch reference (tools/bench/torch_s2m.py) on the same sizes, one after the
# other on this machine, and prints both.
# Usage: tools/bench/compare_s2m.sh [--threads N] [--prompt-frames 861] [--codes 250] [--steps 25] [--precision fp32|bf16]
# (--precision bf16: ours runs the estimator in bfloat16 and, in the same run, again in fp32 for the mel difference;
# fp32: ours runs the converted estimator — WaveNet head as Winograd F(4, 5), stacked SwiGLU — and, in the same run,
# the model as loaded: im2col products, gate and up apart)
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
source "$(dirname "$0")/common.sh"
threads=2 prompt=861 codes=250 steps=25 precision=fp32
declare -A option=([--threads]=threads [--prompt-frames]=prompt [--codes]=codes [--steps]=steps [--precision]=precision)
bench_parse "$@"
bench_build
extra=(--compare-direct)
[ "$precision" != fp32 ] && extra=(--compare-fp32)
echo "== IndexTTS-Swift: indextts bench s2m --prompt-frames $prompt --codes $codes --steps $steps --precision $precision ${extra[*]} (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" \
  .build/release/indextts bench s2m --prompt-frames "$prompt" --codes "$codes" --steps "$steps" --precision "$precision" "${extra[@]}"
echo "== PyTorch reference: torch_s2m.py (fp32)"
CUDA_VISIBLE_DEVICES="" "$venv/bin/python" tools/bench/torch_s2m.py --threads "$threads" --prompt-frames "$prompt" \
  --codes "$codes" --steps "$steps"
