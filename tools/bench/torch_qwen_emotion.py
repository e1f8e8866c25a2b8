"""The reference side of `indextts bench emotion`: transformers 4.52.1 Qwen3ForCausalLM at Qwen3-0.6B size (IndexTTS2's
qwen0.6bemo4-merge) with random weights, a prompt of 40 random ids, then 40 greedy tokens through generate()'s KV cache.

Usage: tools/fixtures/.venv/bin/python tools/bench/torch_qwen_emotion.py [--threads 2] [--dtype float32|float16|bfloat16]
       [--prompt-tokens 40] [--new-tokens 40] [--layers 28]
Upstream loads the model with torch_dtype=float16 (on a CPU-only machine too); float32 is torch's fast CPU path.
"""
import argparse
import resource
import time

import torch

import machine
from transformers import Qwen3Config, Qwen3ForCausalLM

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
parser.add_argument("--prompt-tokens", type=int, default=40)
parser.add_argument("--new-tokens", type=int, default=40)
parser.add_argument("--layers", type=int, default=28)
args = parser.parse_args()
torch.set_num_threads(args.threads)
print(machine.describe(args.threads))
config = Qwen3Config(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=args.layers,
                     num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                     rope_theta=1_000_000.0, tie_word_embeddings=True, sliding_window=None, use_sliding_window=False,
                     rms_norm_eps=1e-6)
torch.manual_seed(0)
model = Qwen3ForCausalLM(config).to(getattr(torch, args.dtype)).eval()
prompt = torch.randint(0, 151643, (1, args.prompt_tokens))
kwargs = dict(attention_mask=torch.ones_like(prompt), do_sample=False, pad_token_id=0, eos_token_id=None,
              top_k=None, top_p=None, temperature=None)
with torch.inference_mode():
    model.generate(prompt, max_new_tokens=2, min_new_tokens=2, **kwargs)   # warm-up
    start = time.perf_counter()
    model(prompt, use_cache=True)
    prefill = time.perf_counter() - start
    start = time.perf_counter()
    out = model.generate(prompt, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, **kwargs)
    total = time.perf_counter() - start
assert out.shape[1] == args.prompt_tokens + args.new_tokens
decode = (total - prefill) / max(args.new_tokens - 1, 1)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, Qwen3 {args.layers}x1024, 16/8 heads of 128, {args.dtype}")
print(f"prefill {args.prompt_tokens} tokens: {prefill * 1e3:.1f} ms")
print(f"cached decode (generate, after prefill): {decode * 1e3:.1f} ms/token, {1 / decode:.1f} tokens/s")
print(f"total generate ({args.prompt_tokens} + {args.new_tokens} tokens): {total:.2f} s")
print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
