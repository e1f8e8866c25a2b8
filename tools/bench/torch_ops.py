"""The reference side of `indextts bench ops`: the same GEMM and decode-GEMV shapes through PyTorch on the CPU.

Usage (from the repository root, with the fixture environment of tools/fixtures/regenerate.sh):
  tools/fixtures/.venv/bin/python tools/bench/torch_ops.py [--threads 2] [--repetitions 7]
"""
import argparse
import time

import torch

import machine

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repetitions", type=int, default=7)
parser.add_argument("--layers", type=int, default=24)
parser.add_argument("--width", type=int, default=1280)
args = parser.parse_args()
torch.set_num_threads(args.threads)
print(machine.describe(args.threads))
torch.manual_seed(0)


def best(fn):
    fn()
    times = []
    for _ in range(args.repetitions):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


n, wide = args.width, 4 * args.width
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
with torch.inference_mode():
    for m, k, nn, label in [(1024, 1024, 1024, "1024x1024x1024"), (256, n, wide, f"prefill 256x{n}x{wide}")]:
        a, w = torch.rand(m, k) * 2 - 1, torch.rand(nn, k) * 2 - 1
        t = best(lambda: torch.nn.functional.linear(a, w))
        print(f"gemm (torch linear) {label:<40} {t * 1e3:9.3f} ms {2 * m * k * nn / t / 1e9:8.1f} GFLOP/s")
    x = torch.rand(1, n) * 2 - 1
    w = torch.rand(wide, n) * 2 - 1
    t = best(lambda: torch.nn.functional.linear(x, w))
    print(f"gemv 1x{n} · {n}x{wide} (one matrix, cache-warm)      {t * 1e3:9.3f} ms {wide * n * 4 / t / 1e9:8.1f} GB/s")
    layers = [torch.rand(wide, n) * 2 - 1 for _ in range(args.layers)]

    def sweep():
        for w in layers:
            torch.nn.functional.linear(x, w)

    t = best(sweep)
    print(f"gemv sweep over {args.layers} matrices {n}x{wide}                {t * 1e3:9.3f} ms "
          f"{args.layers * wide * n * 4 / t / 1e9:8.1f} GB/s")
