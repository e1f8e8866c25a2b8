"""Full-size parity of the reference-conditioning encoders on a real clip: writes random weights at IndexTTS2's
sizes in the official layouts (w2v-BERT 2.0 `config.json` + `model.safetensors` by `save_pretrained`, all 24
layers; `wav2vec2bert_stats.pt`; MaskGCT `semantic_codec/model.safetensors` from upstream's `build_semantic_codec`,
decoder included), runs IndexTTS2's path on the clip (`_load_and_cut_audio` → torchaudio `Resample` →
`SeamlessM4TFeatureExtractor` → `get_emb` → `semantic_codec.quantize`), then `indextts audio conditioning` twice —
on the reference's own features (the encoders alone) and on the clip (our front end included) — and compares
`spk_cond_emb`, `S_ref` and the codes.

Usage: tools/fixtures/.venv/bin/python tools/bench/check_conditioning_fullsize.py CLIP [--work DIR] [--binary PATH]
(needs about 3 GB of disk in DIR and 6 GB of memory; the weights are kept in DIR for reruns.)
"""
import argparse
import os
import subprocess
import sys

import librosa
import numpy as np
import torch
import torchaudio
from safetensors.torch import load_file, save_file
from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

from indextts.utils.maskgct_utils import JsonHParams, build_semantic_codec

parser = argparse.ArgumentParser()
parser.add_argument("clip")
parser.add_argument("--work", default="/tmp/indextts-conditioning-fullsize")
parser.add_argument("--binary", default=".build/release/indextts")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
torch.set_num_threads(args.threads)
os.makedirs(args.work, exist_ok=True)
w2v_dir = os.path.join(args.work, "w2v-bert-2.0")
stats_path = os.path.join(args.work, "wav2vec2bert_stats.pt")
codec_path = os.path.join(args.work, "semantic_codec", "model.safetensors")

torch.manual_seed(0)
if not os.path.exists(os.path.join(w2v_dir, "model.safetensors")):
    model = Wav2Vec2BertModel(Wav2Vec2BertConfig())  # facebook/w2v-bert-2.0's sizes are the config defaults
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(0.05 * torch.randn(p.shape))
    model.save_pretrained(w2v_dir, safe_serialization=True)
    torch.save({"mean": 0.1 * torch.randn(1024), "var": 0.8 + 0.4 * torch.rand(1024)}, stats_path)
    codec = build_semantic_codec(JsonHParams(codebook_size=8192, hidden_size=1024, codebook_dim=8, vocos_dim=384,
                                             vocos_intermediate_dim=2048, vocos_num_layers=12))
    with torch.no_grad():
        for name, p in codec.named_parameters():
            if name.endswith("bias") or name.endswith("gamma"):
                p.add_(0.05 * torch.randn(p.shape))
    os.makedirs(os.path.dirname(codec_path), exist_ok=True)
    save_file({k: v.contiguous() for k, v in codec.state_dict().items()}, codec_path)
model = Wav2Vec2BertModel.from_pretrained(w2v_dir).eval()
stats = torch.load(stats_path)
mean, std = stats["mean"], torch.sqrt(stats["var"])
codec = build_semantic_codec(JsonHParams(codebook_size=8192, hidden_size=1024, codebook_dim=8, vocos_dim=384,
                                         vocos_intermediate_dim=2048, vocos_num_layers=12))
codec.load_state_dict(load_file(codec_path))
codec.eval()

# IndexTTS2's reference path (infer_v2.infer).
audio, sr = librosa.load(args.clip)
audio = torch.tensor(audio).unsqueeze(0)[:, : int(15 * sr)]
audio_16k = torchaudio.transforms.Resample(sr, 16000)(audio)
inputs = SeamlessM4TFeatureExtractor()(audio_16k, sampling_rate=16000, return_tensors="pt")
with torch.no_grad():
    hidden = model(input_features=inputs["input_features"], attention_mask=inputs["attention_mask"],
                   output_hidden_states=True).hidden_states[17]
    spk_cond_emb = (hidden - mean) / std
    codes, s_ref = codec.quantize(spk_cond_emb)
features_path = os.path.join(args.work, "features.safetensors")
save_file({"input_features": inputs["input_features"][0].contiguous(),
           "attention_mask": inputs["attention_mask"][0].to(torch.int64).contiguous()}, features_path)
print(f"clip {args.clip}: {audio.shape[1] / sr:.2f} s → {spk_cond_emb.shape[1]} frames")


def compare(label, ours_path):
    ours = load_file(ours_path)
    ok = True
    for key, ref in [("spk_cond_emb", spk_cond_emb), ("S_ref", s_ref)]:
        a, e = ours[key], ref
        err = (a - e).abs()
        bound = 1e-5 + 1e-4 * e.abs()
        worst = (err - bound).max().item()
        print(f"  {label} {key}: max abs error {err.max().item():.3g}, max |ref| {e.abs().max().item():.3g}, "
              f"{'within' if worst <= 0 else 'OUTSIDE'} 1e-4 rel + 1e-5 abs")
        ok &= worst <= 0
    mismatched = (ours["S_ref_codes"].long() != codes.reshape(1, -1)).sum().item()
    print(f"  {label} codes: {mismatched} of {codes.numel()} differ")
    return ok and mismatched == 0


results = []
for label, source in [("encoders (reference features)", features_path), ("end to end (our front end)", args.clip)]:
    out = os.path.join(args.work, "ours.safetensors")
    subprocess.run([args.binary, "audio", "conditioning", source, out, "--w2v", w2v_dir, "--stats", stats_path,
                    "--codec", codec_path], check=True, env=dict(os.environ, INDEXTTS_THREADS=str(args.threads),
                                                                 OPENBLAS_NUM_THREADS=str(args.threads)))
    results.append(compare(label, out))
sys.exit(0 if results[0] else 1)
