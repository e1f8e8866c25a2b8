#!/usr/bin/env bash
# IndexTTS2 end to end, ours and upstream's infer() (index-tts ee40fa7) on the same model folder, clip and text, one
# after the other in this run: `indextts bench e2e` and tools/bench/torch_e2e.py, codes forced to --codes, 3 beams,
# 25 CFM steps, a new voice and then the same clip again. Prints both reports, with `uptime` load averages before
# and after each side (on a shared machine, run it under the build lock: flock /work/coord/build.lock ...).
# Usage: tools/bench/compare_e2e.sh --model-dir DIR [--ref CLIP.wav] [--text T] [--codes 250] [--num-beams 3]
#                                   [--threads 2] [--json-dir DIR] [--skip-reference | --skip-ours]
#                                   [--precision fp32|bf16] [--cold]  (precision: ours only; the reference is always fp32)
# Before each side the model folder's files are read once (page cache warm for both: a first request otherwise times
# the disk, as a build or the other side's 10 GB can evict the checkpoints; it cannot help where the folder does not
# fit in memory beside both sides; --cold skips it).
# With --json-dir both reports are kept as JSON (ours.json, reference.json) and printed side by side at the end
# (tools/bench/e2e_report.py); --skip-* run one side (two shorter runs under the build lock).
# Needs a release build (swift build -c release --product indextts), the fixture virtual environment
# (FIXTURE_VENV, default tools/fixtures/.venv) and the upstream checkout (INDEXTTS_REPO, default
# /work/upstream-index-tts). Without --ref: 10 s of CMU ARCTIC a0007 (the speech fixture, repeated). A full-size
# random folder: tools/fixtures/generate_e2e.py --full-size DIR --build-only; for IndexTTS-2.5,
# tools/fixtures/generate_e2e25.py --full-size DIR (the reference side then runs infer_v2_5 with lang zh; 125 codes at
# 25 Hz are the 5 s of speech that 250 codes are for 2.0).
set -euo pipefail
source "$(dirname "$0")/common.sh"
repo="${INDEXTTS_REPO:-/work/upstream-index-tts}"
model="" ref="" text="" codes=250 beams=3 threads=2 jsondir="" reference=1 ours=1 precision=fp32 warm=1
declare -A option=([--model-dir]=model [--ref]=ref [--text]=text [--codes]=codes [--num-beams]=beams [--threads]=threads [--json-dir]=jsondir [--skip-reference]=reference=0 [--skip-ours]=ours=0 [--precision]=precision [--cold]=warm=0)
bench_parse "$@"
[ -n "$model" ] || { echo "usage: $0 --model-dir DIR [--ref CLIP.wav] [...]" >&2; exit 2; }
[ -x "$venv/bin/python" ] || { echo "no Python at $venv (FIXTURE_VENV=DIR: the fixture venv, e.g. the main checkout's)" >&2; exit 2; }
if [ -z "$ref" ]; then
  # The default reference: 10.0 s of real speech, CMU ARCTIC a0007 (Tests/Fixtures/audio/speech, 16 kHz) three
  # times, cut to 10 s.
  ref="$(mktemp -d)/ref10s.wav"
  "$venv/bin/python" -c "import numpy as np, soundfile as sf, sys
x, sr = sf.read('Tests/Fixtures/audio/speech/arctic_a0007.wav', dtype='int16')
sf.write(sys.argv[1], np.concatenate([x, x, x])[:10 * sr], sr, subtype='PCM_16')" "$ref"
fi
[ -x .build/release/indextts ] || { echo "build first: swift build -c release --product indextts" >&2; exit 2; }
textargs=()
[ -n "$text" ] && textargs=(--text "$text")
[ -n "$jsondir" ] && mkdir -p "$jsondir"
# Reads every file of the model folder once, so that neither side's first request waits on the disk.
warm_cache() {
  [ "$warm" = 1 ] || return 0
  local start=$SECONDS
  find "$model" -type f -exec cat {} + > /dev/null || echo "== page cache: some files of $model could not be read"
  echo "== page cache: read $(du -sh --apparent-size "$model" | cut -f1) of $model in $((SECONDS - start)) s"
}
echo "== $(date -u +%FT%TZ) $(uptime)"
if [ "$ours" = 1 ]; then
  warm_cache
  echo "== IndexTTS-Swift: indextts bench e2e --model-dir $model --ref $ref --codes $codes --num-beams $beams (threads $threads)"
  if [ -n "$jsondir" ]; then
    INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" .build/release/indextts bench e2e --model-dir "$model" \
      --ref "$ref" --codes "$codes" --num-beams "$beams" --precision "$precision" "${textargs[@]}" --json > "$jsondir/ours.json"
    .build/release/indextts system | head -3
    "$venv/bin/python" tools/bench/e2e_report.py "$jsondir/ours.json"
  else
    INDEXTTS_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" .build/release/indextts bench e2e --model-dir "$model" \
      --ref "$ref" --codes "$codes" --num-beams "$beams" --precision "$precision" "${textargs[@]}"
  fi
fi
echo "== $(date -u +%FT%TZ) $(uptime)"
if [ "$reference" = 1 ]; then
  warm_cache
  echo "== PyTorch reference: upstream IndexTTS2.infer (tools/bench/torch_e2e.py, fp32)"
  jsonargs=()
  [ -n "$jsondir" ] && jsonargs=(--json "$jsondir/reference.json")
  CUDA_VISIBLE_DEVICES="" PYTHONPATH="$repo" "$venv/bin/python" tools/bench/torch_e2e.py --model-dir "$model" \
    --ref "$ref" --codes "$codes" --num-beams "$beams" --threads "$threads" "${textargs[@]}" "${jsonargs[@]}" \
    2>&1 | grep -v -E "^torch.Size|^>> |^Use the specified|^compute emo|FutureWarning|warnings.warn|^  WeightNorm" || true
  echo "== $(date -u +%FT%TZ) $(uptime)"
fi
if [ -n "$jsondir" ] && [ -f "$jsondir/ours.json" ] && [ -f "$jsondir/reference.json" ]; then
  echo "== side by side"
  "$venv/bin/python" tools/bench/e2e_report.py "$jsondir/ours.json" "$jsondir/reference.json"
fi
