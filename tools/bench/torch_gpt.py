"""The reference side of `indextts bench gpt`: transformers' GPT2Model at IndexTTS2 size (random weights, no
position embeddings, inputs_embeds), prefill then cached decoding of one sequence and of 3 beams, on the CPU.

Usage: tools/fixtures/.venv/bin/python tools/bench/torch_gpt.py [--threads 2] [--prefill 128] [--steps 100] [--beams 3]
(tools/bench/compare_gpt.sh runs this and `indextts bench gpt` in one go.)
"""
import argparse
import resource
import time

import torch

import machine
from transformers import GPT2Config, GPT2Model

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--layers", type=int, default=24)
parser.add_argument("--width", type=int, default=1280)
parser.add_argument("--heads", type=int, default=20)
parser.add_argument("--prefill", type=int, default=128)
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--beams", type=int, default=3)
args = parser.parse_args()
torch.set_num_threads(args.threads)
print(machine.describe(args.threads))
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
    # Beams: the prompt's cache repeated per beam, as generate() expands it.
    out = model(inputs_embeds=prompt, use_cache=True)
    past = tuple((k.repeat(args.beams, 1, 1, 1), v.repeat(args.beams, 1, 1, 1)) for k, v in out.past_key_values)
    beam_step = torch.randn(args.beams, 1, args.width)
    start = time.perf_counter()
    for _ in range(args.steps):
        out = model(inputs_embeds=beam_step, past_key_values=past, use_cache=True)
        past = out.past_key_values
    beam_decode = (time.perf_counter() - start) / args.steps
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.layers}x{args.width}, {args.heads} heads, fp32")
print(f"prefill {args.prefill} positions: {prefill * 1e3:.2f} ms, {args.prefill / prefill:.1f} positions/s")
print(f"cached decode step, 1 sequence: {decode * 1e3:.2f} ms, {1 / decode:.1f} tokens/s")
print(f"cached decode step, {args.beams} beams: {beam_decode * 1e3:.2f} ms, {1 / beam_decode:.1f} steps/s")
print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
