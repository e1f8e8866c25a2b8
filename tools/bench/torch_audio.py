"""The reference side of `indextts bench audio`: the same front end through torch/torchaudio/transformers/soxr.

Usage (with the fixture environment of tools/fixtures/regenerate.sh):
  tools/fixtures/.venv/bin/python tools/bench/torch_audio.py [--threads 1]
"""
import argparse
import time

import numpy as np
import soxr
import torch

import machine
import torchaudio
from librosa.filters import mel as librosa_mel_fn
from transformers import SeamlessM4TFeatureExtractor

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--seconds", type=float, default=15)
parser.add_argument("--repetitions", type=int, default=11)
args = parser.parse_args()
torch.set_num_threads(args.threads)
print(machine.describe(args.threads))
rate = 22050
t = np.arange(int(args.seconds * rate)) / rate
audio = (0.3 * np.sin(2 * np.pi * 180 * t) + 0.05 * (np.random.default_rng(0).random(len(t)) - 0.5)).astype(np.float32)
mel_basis = torch.from_numpy(librosa_mel_fn(sr=rate, n_fft=1024, n_mels=80, fmin=0, fmax=None)).float()
window = torch.hann_window(1024)
resample = torchaudio.transforms.Resample(22050, 16000)
extractor = SeamlessM4TFeatureExtractor()


def mel(y):
    y = torch.nn.functional.pad(y.unsqueeze(1), (384, 384), mode="reflect").squeeze(1)
    spec = torch.view_as_real(torch.stft(y, 1024, hop_length=256, win_length=1024, window=window, center=False,
                                         onesided=True, return_complex=True))
    spec = torch.sqrt(spec.pow(2).sum(-1) + 1e-9)
    return torch.log(torch.clamp(torch.matmul(mel_basis, spec), min=1e-5))


x = torch.from_numpy(audio)[None]
x16 = resample(x)
audio44 = soxr.resample(audio, 22050, 44100)


def best(fn):
    fn()
    times = []
    for _ in range(args.repetitions):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
for name, fn in [
    ("mel 80x1024/256 @22.05 kHz (S2M, BigVGAN)", lambda: mel(x)),
    ("kaldi fbank 80 @16 kHz (CAMPPlus)",
     lambda: torchaudio.compliance.kaldi.fbank(x16, num_mel_bins=80, dither=0, sample_frequency=16000)),
    ("mel + fbank", lambda: (mel(x), torchaudio.compliance.kaldi.fbank(x16, num_mel_bins=80, dither=0,
                                                                      sample_frequency=16000))),
    ("SeamlessM4T features (w2v-BERT input)", lambda: extractor(x16[0].numpy(), sampling_rate=16000)),
    ("sinc resample 22.05 -> 16 kHz (torchaudio)", lambda: resample(x)),
    ("soxr HQ 44.1 -> 22.05 kHz (librosa.load)", lambda: soxr.resample(audio44, 44100, 22050)),
]:
    s = best(fn)
    print(f"{name:<48} {s * 1e3:8.2f} ms  {args.seconds / s:8.0f} x real time")
