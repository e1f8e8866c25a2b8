#!/usr/bin/env bash
# Runs `indextts bench emotion` and the transformers reference (tools/bench/torch_qwen_emotion.py) on Qwen3-0.6B shapes
# with random weights, one after the other on this machine, and prints both.
# Usage: tools/bench/compare_emotion.sh [--threads N] [--dtype float32|float16|bfloat16] [--prompt-tokens 40] [--new-tokens 40]
# Needs the fixture virtual environment (tools/fixtures/regenerate.sh creates it; or FIXTURE_VENV=DIR).
set -euo pipefail
source "$(dirname "$0")/common.sh"
threads=2 dtype=float32 prompt=40 new=40
declare -A option=([--threads]=threads [--dtype]=dtype [--prompt-tokens]=prompt [--new-tokens]=new)
bench_parse "$@"
bench_build
echo "== IndexTTS-Swift: indextts bench emotion --prompt-tokens $prompt --new-tokens $new (threads $threads, fp16 weights)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  .build/release/indextts bench emotion --prompt-tokens "$prompt" --new-tokens "$new"
echo "== transformers reference: torch_qwen_emotion.py ($dtype)"
"$venv/bin/python" tools/bench/torch_qwen_emotion.py --threads "$threads" --dtype "$dtype" --prompt-tokens "$prompt" --new-tokens "$new"
