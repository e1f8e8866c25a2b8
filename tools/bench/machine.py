"""One line on what the PyTorch reference runs on, printed by every tools/bench/torch_*.py script next to the
Swift side's header (CPU, instruction sets, OpenBLAS core, threads), so that both sides of a comparison are on record."""
import platform

import torch


def describe(threads: int) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    capability = torch.backends.cpu.get_cpu_capability()
    blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
    onednn = "oneDNN" if torch.backends.mkldnn.is_available() else "no oneDNN"
    return (f"reference machine: {cpu}; PyTorch {torch.__version__} kernels {capability}, {blas}, {onednn}; "
            f"{threads} threads (torch.get_num_threads() = {torch.get_num_threads()})")
