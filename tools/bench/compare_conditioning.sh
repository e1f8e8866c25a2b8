#!/usr/bin/env bash
# Runs `indextts bench conditioning` and the PyTorch reference (tools/bench/torch_conditioning.py) at IndexTTS2's sizes on the
# same synthetic 15 s clip, one after the other on this machine, and prints both.
# Usage: tools/bench/compare_conditioning.sh [--threads N] [--seconds 15] [--runs 3]
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="${FIXTURE_VENV:-tools/fixtures/.venv}"
threads=2 seconds=15 runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/setup.sh >/dev/null
swift build -c release --product indextts 2>&1 | grep -E "error|warning: unre" || true
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== IndexTTS-Swift: indextts bench conditioning --seconds $seconds --runs $runs (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  .build/release/indextts bench conditioning --seconds "$seconds" --runs "$runs"
echo "== PyTorch reference: torch_conditioning.py (fp32, all 24 layers as IndexTTS2 runs them)"
"$venv/bin/python" tools/bench/torch_conditioning.py --threads "$threads" --seconds "$seconds" --runs "$runs"
