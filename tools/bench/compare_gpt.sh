#!/usr/bin/env bash
# Runs `indextts bench gpt` and the PyTorch reference (tools/bench/torch_gpt.py) on the same configuration and token
# counts, one after the other on this machine, and prints both.
# Usage: tools/bench/compare_gpt.sh [--threads N] [--precision f32|f16] [--prefill 128] [--steps 100] [--beams 3]
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="${FIXTURE_VENV:-tools/fixtures/.venv}"
threads=2 precision=f32 prefill=128 steps=100 beams=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --prefill) prefill="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --beams) beams="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/setup.sh >/dev/null
swift build -c release --product indextts 2>&1 | grep -E "error|warning: unre" || true
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== IndexTTS-Swift: indextts bench gpt --precision $precision --prefill $prefill --steps $steps --beams $beams (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  .build/release/indextts bench gpt --precision "$precision" --prefill "$prefill" --steps "$steps" --beams "$beams"
echo "== PyTorch reference: torch_gpt.py (fp32)"
"$venv/bin/python" tools/bench/torch_gpt.py --threads "$threads" --prefill "$prefill" --steps "$steps" --beams "$beams"
