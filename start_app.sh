#!/usr/bin/env bash
# Starts IndexTTS-Swift. Installs missing system packages, builds the release binary when sources changed, and
# then checks the model folder (default ./checkpoints, or --model-dir DIR), saying which IndexTTS2 files are
# present, readable or missing. The HTTP server and the WebUI on port 7860 are not built yet (see README); until
# they are, this is the entry point that proves the build and the model files.
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
echo
echo "Next: '$bin models inspect FILE' lists a checkpoint's tensors; '$bin bench ops' measures the compute core."
