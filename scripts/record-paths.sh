#!/usr/bin/env bash
# Records where the set-up scripts put the model folders, so that `indextts` finds them from any working directory:
#   scripts/record-paths.sh cache /abs/cache_hub      (scripts/fetch-default-voice.sh)
#   scripts/record-paths.sh model_dir /abs/checkpoints (start_app.sh, when the folder exists)
# The record is ${XDG_CONFIG_HOME:-~/.config}/indextts/paths.json, a JSON object {"cache": …, "model_dir": …} of
# absolute paths; other keys are kept. The binary reads it after --model-dir/--cache, $INDEXTTS_MODEL_DIR/
# $INDEXTTS_CACHE and ./checkpoints, ./cache_hub, and before ~/.cache/indextts (see README, "Where the files are").
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 cache|model_dir PATH" >&2; exit 2; }
key="$1"
case "$key" in cache|model_dir) ;; *) echo "unknown key: $key (cache or model_dir)" >&2; exit 2 ;; esac
path="$(cd "$2" && pwd)"
dir="${XDG_CONFIG_HOME:-$HOME/.config}/indextts"
mkdir -p "$dir"
python3 - "$dir/paths.json" "$key" "$path" <<'PY'
import json, os, sys
file, key, value = sys.argv[1:4]
try:
    with open(file, encoding="utf-8") as f:
        record = json.load(f)
    if not isinstance(record, dict):
        record = {}
except (OSError, ValueError):
    record = {}
record[key] = value
tmp = file + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(record, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(tmp, file)
PY
