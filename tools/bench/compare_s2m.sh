#!/usr/bin/env bash
# Runs `indextts bench s2m` and the PyTorch reference (tools/bench/torch_s2m.py) on the same sizes, one after the
# other on this machine, and prints both.
# Usage: tools/bench/compare_s2m.sh [--threads N] [--prompt-frames 861] [--codes 250] [--steps 25] [--precision fp32|bf16]
# (--precision bf16: ours runs the estimator in bfloat16 and, in the same run, again in fp32 for the mel difference)
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="${FIXTURE_VENV:-tools/fixtures/.venv}"
threads=2 prompt=861 codes=250 steps=25 precision=fp32
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --prompt-frames) prompt="$2"; shift 2 ;;
    --codes) codes="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/setup.sh >/dev/null
swift build -c release --product indextts 2>&1 | grep -E "error|warning: unre" || true
extra=()
[ "$precision" != fp32 ] && extra=(--compare-fp32)
echo "== IndexTTS-Swift: indextts bench s2m --prompt-frames $prompt --codes $codes --steps $steps --precision $precision ${extra[*]} (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" \
  .build/release/indextts bench s2m --prompt-frames "$prompt" --codes "$codes" --steps "$steps" --precision "$precision" "${extra[@]}"
echo "== PyTorch reference: torch_s2m.py (fp32)"
CUDA_VISIBLE_DEVICES="" "$venv/bin/python" tools/bench/torch_s2m.py --threads "$threads" --prompt-frames "$prompt" \
  --codes "$codes" --steps "$steps"
