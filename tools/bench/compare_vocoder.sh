#!/usr/bin/env bash
# Runs `indextts bench vocoder` and the PyTorch reference (tools/bench/torch_bigvgan.py) on the same model size and
# frame count, one after the other on this machine, and prints both.
# Usage: tools/bench/compare_vocoder.sh [--threads N] [--frames 172] [--runs 3]
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="${FIXTURE_VENV:-tools/fixtures/.venv}"
threads=2 frames=172 runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/setup.sh >/dev/null
swift build -c release --product indextts 2>&1 | grep -E "error|warning: unre" || true
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== IndexTTS-Swift: indextts bench vocoder --frames $frames --runs $runs (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  .build/release/indextts bench vocoder --frames "$frames" --runs "$runs"
echo "== PyTorch reference: torch_bigvgan.py (fp32)"
"$venv/bin/python" tools/bench/torch_bigvgan.py --threads "$threads" --frames "$frames" --runs "$runs"
