"""The reference side of `indextts bench conditioning`: what IndexTTS2's `infer()` runs on a reference clip before
the GPT — `SeamlessM4TFeatureExtractor` (transformers 4.52.1), `Wav2Vec2BertModel` at facebook/w2v-bert-2.0's size
with random weights called as `get_emb` calls it (`output_hidden_states=True`, all 24 layers run, `hidden_states[17]`
kept), the stats normalisation, and the MaskGCT codec's `quantize` (upstream `build_semantic_codec` with IndexTTS2's
`semantic_codec` sizes); best of N per stage, on the same synthetic 16 kHz signal as the Swift side.

Usage: tools/fixtures/.venv/bin/python tools/bench/torch_conditioning.py [--threads 2] [--seconds 15] [--runs 3]
       [--layers 24]   (17: a model cut to the layers the output needs, as the Swift side runs it)
(tools/bench/compare_conditioning.sh runs this and `indextts bench conditioning` in one go.)
"""
import argparse
import math
import resource
import time

import numpy as np
import torch
from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

from indextts.utils.maskgct_utils import JsonHParams, build_semantic_codec

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seconds", type=float, default=15)
parser.add_argument("--runs", type=int, default=3)
parser.add_argument("--layers", type=int, default=24)
args = parser.parse_args()
torch.set_num_threads(args.threads)

# The Swift side's synthetic clip: a 180 Hz tone plus LCG noise, directly at 16 kHz.
state = 12345
samples = np.empty(int(args.seconds * 16000), dtype=np.float32)
for i in range(samples.size):
    state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
    samples[i] = 0.3 * math.sin(2 * math.pi * 180 * i / 16000) + 0.05 * ((state >> 8) / float(1 << 24) - 0.5)

# Preprocessor settings of facebook/w2v-bert-2.0's preprocessor_config.json are the class defaults.
extractor = SeamlessM4TFeatureExtractor()
model = Wav2Vec2BertModel(Wav2Vec2BertConfig(num_hidden_layers=args.layers)).eval()
codec = build_semantic_codec(JsonHParams(codebook_size=8192, hidden_size=1024, codebook_dim=8, vocos_dim=384,
                                         vocos_intermediate_dim=2048, vocos_num_layers=12))
mean, std = torch.randn(1024) * 0.1, torch.sqrt(torch.rand(1024) * 0.4 + 0.8)


def best(body):
    times = []
    result = None
    for _ in range(args.runs):
        start = time.perf_counter()
        result = body()
        times.append(time.perf_counter() - start)
    return min(times), result


with torch.inference_mode():
    t_features, inputs = best(lambda: extractor(samples, sampling_rate=16000, return_tensors="pt"))
    t_w2v, hidden = best(lambda: model(input_features=inputs["input_features"], attention_mask=inputs["attention_mask"],
                                       output_hidden_states=True).hidden_states[17])
    t_norm, feat = best(lambda: (hidden - mean) / std)
    t_codec, _ = best(lambda: codec.quantize(feat))
print(f"w2v-BERT 2.0 ({args.layers} layers run) {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, "
      f"codec {sum(p.numel() for p in codec.parameters()) / 1e6:.1f} M (PyTorch {torch.__version__}, {args.threads} threads)")
print(f"{args.seconds:.2f} s of audio → {inputs['input_features'].shape[1]} frames (best of {args.runs} runs)")
print(f"  features (SeamlessM4T)      {t_features:8.3f} s")
print(f"  w2v-BERT to hidden_states[17] {t_w2v:6.3f} s")
print(f"  stats normalisation         {t_norm:8.3f} s")
print(f"  semantic codec quantize     {t_codec:8.3f} s")
print(f"  total                       {t_features + t_w2v + t_norm + t_codec:8.3f} s")
print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
