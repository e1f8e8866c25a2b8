"""The reference side of `indextts bench vocoder`: IndexTTS2's BigVGAN (`indextts.s2mel.modules.bigvgan`, torch
anti-aliased activation as IndexTTS2 runs it on CPU) at the nvidia/bigvgan_v2_22khz_80band_256x size with random
weights and weight norm removed (as IndexTTS2 does after loading), vocoding the same number of frames, best of N.

Usage: tools/fixtures/.venv/bin/python tools/bench/torch_bigvgan.py [--threads 2] [--frames 172] [--runs 3]
(tools/bench/compare_vocoder.sh runs this and `indextts bench vocoder` in one go.)
"""
import argparse
import json
import os
import resource
import time

import torch

import machine

from indextts.s2mel.modules.bigvgan.bigvgan import BigVGAN
from indextts.s2mel.modules.bigvgan.env import AttrDict
import indextts.s2mel.modules.bigvgan as package

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--frames", type=int, default=172)
parser.add_argument("--runs", type=int, default=3)
args = parser.parse_args()
torch.set_num_threads(args.threads)
print(machine.describe(args.threads))
with open(os.path.join(list(package.__path__)[0], "config.json")) as f:
    h = AttrDict(json.load(f))
model = BigVGAN(h, use_cuda_kernel=False)
model.remove_weight_norm()
model.eval()
parameters = sum(p.numel() for p in model.parameters())
mel = torch.randn(1, h.num_mels, args.frames) * 2 - 5
best = float("inf")
with torch.inference_mode():
    for _ in range(args.runs):
        start = time.perf_counter()
        wave = model(mel)
        best = min(best, time.perf_counter() - start)
seconds = wave.shape[-1] / h.sampling_rate
print(f"BigVGAN {parameters / 1e6:.1f} M parameters (PyTorch {torch.__version__}, {args.threads} threads)")
print(f"{args.frames} frames → {wave.shape[-1]} samples ({seconds:.2f} s at {h.sampling_rate} Hz): {best:.3f} s "
      f"(best of {args.runs}), RTF {best / seconds:.3f}")
print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
