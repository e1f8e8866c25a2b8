"""WeTextProcessing (Python, pynini) on the chapter `indextts bench text` uses, for docs/BENCHMARKS.md: the same
10,000 characters assembled from tools/fixtures/corpus/zh_g2p.txt (or --text-file), normalised as IndexTTS2
configures WeTextProcessing, best of N.

    python tools/bench/wetext_text.py [--text-file F] [--language zh|en] [--repetitions 5]
(needs `pip install -r tools/fixtures/requirements-tn.txt`)
"""
import argparse
import os
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--text-file")
parser.add_argument("--language", default="zh", choices=["zh", "en"])
parser.add_argument("--characters", type=int, default=10_000)
parser.add_argument("--repetitions", type=int, default=5)
args = parser.parse_args()

if args.text_file:
    text = open(args.text_file, encoding="utf-8").read()
else:
    lines = [l for l in open("tools/fixtures/corpus/zh_g2p.txt", encoding="utf-8").read().split("\n") if not l.startswith("#")]
    text, i = "", 0
    while len(text) < args.characters:
        text += lines[i % len(lines)] + "\n"
        i += 1
text = text[: args.characters]

t = time.perf_counter()
if args.language == "zh":
    from tn.chinese.normalizer import Normalizer
    cache = os.environ.get("TN_CACHE", os.path.join(tempfile.gettempdir(), "indextts-tn-cache"))
    normalizer = Normalizer(cache_dir=cache, remove_interjections=False, remove_erhua=False, overwrite_cache=False)
else:
    from tn.english.normalizer import Normalizer
    normalizer = Normalizer(overwrite_cache=False)
print(f"grammars loaded in {(time.perf_counter() - t) * 1e3:.0f} ms")
best = float("inf")
for _ in range(args.repetitions):
    t = time.perf_counter()
    normalizer.normalize(text)
    best = min(best, time.perf_counter() - t)
print(f"{len(text)} characters, WeTextProcessing {args.language} normalise: {best * 1e3:.1f} ms (best of {args.repetitions})")
