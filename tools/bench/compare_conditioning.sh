#!/usr/bin/env bash
# Runs `indextts bench conditioning` and the PyTorch reference (tools/bench/torch_conditioning.py) at IndexTTS2's sizes on the
# same synthetic 15 s clip, one after the other on this machine, and prints both.
# Usage: tools/bench/compare_conditioning.sh [--threads N] [--seconds 15] [--runs 3] [--precision fp32|bf16]
# (--precision is ours only, w2v-BERT's arithmetic; the reference is always fp32)
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
source "$(dirname "$0")/common.sh"
threads=2 seconds=15 runs=3 precision=fp32
declare -A option=([--threads]=threads [--seconds]=seconds [--runs]=runs [--precision]=precision)
bench_parse "$@"
bench_build
bench_machine
echo "== IndexTTS-Swift: indextts bench conditioning --seconds $seconds --runs $runs --precision $precision (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  .build/release/indextts bench conditioning --seconds "$seconds" --runs "$runs" --precision "$precision"
echo "== PyTorch reference: torch_conditioning.py (fp32, all 24 layers as IndexTTS2 runs them)"
"$venv/bin/python" tools/bench/torch_conditioning.py --threads "$threads" --seconds "$seconds" --runs "$runs"
