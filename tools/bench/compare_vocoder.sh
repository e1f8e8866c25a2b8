#!/usr/bin/env bash
# Runs `indextts bench vocoder` and the PyTorch reference (tools/bench/torch_bigvgan.py) on the same model size and
# frame count, one after the other on this machine, and prints both.
# Usage: tools/bench/compare_vocoder.sh [--threads N] [--frames 172] [--runs 3]
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
source "$(dirname "$0")/common.sh"
threads=2 frames=172 runs=3
declare -A option=([--threads]=threads [--frames]=frames [--runs]=runs)
bench_parse "$@"
bench_build
bench_machine
echo "== IndexTTS-Swift: indextts bench vocoder --frames $frames --runs $runs (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  .build/release/indextts bench vocoder --frames "$frames" --runs "$runs"
echo "== PyTorch reference: torch_bigvgan.py (fp32)"
"$venv/bin/python" tools/bench/torch_bigvgan.py --threads "$threads" --frames "$frames" --runs "$runs"
