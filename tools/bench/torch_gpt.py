"""The reference side of `indextts bench gpt`: transformers' GPT2Model at IndexTTS2 size (random weights, no
position embeddings, inputs_embeds), prefill then cached decoding, on the CPU.

Usage: tools/fixtures/.venv/bin/python tools/bench/torch_gpt.py [--threads 2] [--prefill 128] [--steps 100]
"""
import argparse
import time

import torch
from transformers import GPT2Config, GPT2Model

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--layers", type=int, default=24)
parser.add_argument("--width", type=int, default=1280)
parser.add_argument("--heads", type=int, default=20)
parser.add_argument("--prefill", type=int, default=128)
parser.add_argument("--steps", type=int, default=100)
args = parser.parse_args()
torch.set_num_threads(args.threads)
config = GPT2Config(vocab_size=256, n_positions=4096, n_embd=args.width, n_layer=args.layers, n_head=args.heads)
model = GPT2Model(config).eval()
prompt = torch.randn(1, args.prefill, args.width)
step = torch.randn(1, 1, args.width)
with torch.inference_mode():
    model(inputs_embeds=prompt, use_cache=True)  # warm-up
    start = time.perf_counter()
    out = model(inputs_embeds=prompt, use_cache=True)
    prefill = time.perf_counter() - start
    past = out.past_key_values
    start = time.perf_counter()
    for _ in range(args.steps):
        out = model(inputs_embeds=step, past_key_values=past, use_cache=True)
        past = out.past_key_values
    decode = (time.perf_counter() - start) / args.steps
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.layers}x{args.width}, {args.heads} heads, fp32")
print(f"prefill {args.prefill} positions: {prefill * 1e3:.2f} ms, {args.prefill / prefill:.1f} positions/s")
print(f"cached decode step: {decode * 1e3:.2f} ms, {1 / decode:.1f} tokens/s")
