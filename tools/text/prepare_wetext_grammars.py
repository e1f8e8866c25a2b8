"""Prepares WeTextProcessing's text-normalisation grammars for IndexTTS-Swift (run once at set-up by
scripts/fetch-default-voice.sh; not needed at run time).

WeTextProcessing ships its compiled grammars as OpenFst files and, when it loads them, runs pynini's `optimize()`
on each (tn/processor.py: `Fst.read(path).optimize()`). Optimisation moves weights and reorders arcs, and both
decide which reading wins among equally weighted ones ("1001" as a year or a number), so the Swift runtime reads
the grammars in exactly the form WeTextProcessing searches: this script loads each shipped file, optimises it with
pynini as WeTextProcessing does, and writes it out, next to the two character tables the Chinese verbalizer uses.

    python tools/text/prepare_wetext_grammars.py <unpacked wetextprocessing wheel> <output folder>
"""
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys

import pynini

source, target = sys.argv[1], sys.argv[2]
tn = os.path.join(source, "tn")
work = target + ".partial"
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
manifest = {"wetextprocessing": "1.2.0", "pynini": importlib.metadata.version("pynini"), "files": {}}
# zh_tn_verbalizer.fst is compiled with WeTextProcessing's defaults (erhua and interjections removed); the runtime
# verbalizes Chinese natively with IndexTTS2's switches, and its tests check the native verbalizer against this file.
for name in ["zh_tn_tagger.fst", "zh_tn_verbalizer.fst", "en_tn_tagger.fst", "en_tn_verbalizer.fst"]:
    fst = pynini.Fst.read(os.path.join(tn, name)).optimize()
    fst.write(os.path.join(work, name))
for name in ["chinese/data/char/fullwidth_to_halfwidth.tsv", "chinese/data/default/blacklist.tsv"]:
    shutil.copy(os.path.join(tn, name), os.path.join(work, os.path.basename(name)))
for name in sorted(os.listdir(work)):
    with open(os.path.join(work, name), "rb") as f:
        manifest["files"][name] = hashlib.sha256(f.read()).hexdigest()
with open(os.path.join(work, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
shutil.rmtree(target, ignore_errors=True)
os.rename(work, target)
print(f"prepared {len(manifest['files'])} grammar files in {target}")
