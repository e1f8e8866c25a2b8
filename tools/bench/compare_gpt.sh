#!/usr/bin/env bash
# Runs `indextts bench gpt` and the PyTorch reference (tools/bench/torch_gpt.py) on the same configuration and token
# counts, one after the other on this machine, and prints both.
# Usage: tools/bench/compare_gpt.sh [--threads N] [--precision f32|f16] [--prefill 128] [--steps 100] [--beams 3]
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
source "$(dirname "$0")/common.sh"
threads=2 precision=f32 prefill=128 steps=100 beams=3
declare -A option=([--threads]=threads [--precision]=precision [--prefill]=prefill [--steps]=steps [--beams]=beams)
bench_parse "$@"
bench_build
bench_machine
echo "== IndexTTS-Swift: indextts bench gpt --precision $precision --prefill $prefill --steps $steps --beams $beams (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  .build/release/indextts bench gpt --precision "$precision" --prefill "$prefill" --steps "$steps" --beams "$beams"
echo "== PyTorch reference: torch_gpt.py (fp32)"
"$venv/bin/python" tools/bench/torch_gpt.py --threads "$threads" --prefill "$prefill" --steps "$steps" --beams "$beams"
