"""The reference side of `indextts bench s2m`: IndexTTS2's S2M stage built by upstream's `MyModel(cfg.s2mel,
use_gpt_latent=True)` at the real config's size with random weights, timed as `infer_v2` runs it: `gpt_layer`, the
length regulator for the prompt and the generated part (floor(1.72·codes) frames), then `CFM.inference` over
prompt + generated frames with `diffusion_steps` Euler steps and CFG (one batch of two), fp32, `setup_caches` as
infer_v2 calls it. (vq2emb is the codec's, not timed here: a random tensor stands in for it, as on the Swift side.)

Usage: tools/fixtures/.venv/bin/python tools/bench/torch_s2m.py [--threads 2] [--prompt-frames 861] [--codes 250]
       [--steps 25] [--cfg-rate 0.7]
(tools/bench/compare_s2m.sh runs this and `indextts bench s2m` in one go.)
"""
import argparse
import platform
import resource
import sys
import time
import types

import torch
import yaml

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--prompt-frames", type=int, default=861)
parser.add_argument("--codes", type=int, default=250)
parser.add_argument("--steps", type=int, default=25)
parser.add_argument("--cfg-rate", type=float, default=0.7)
args = parser.parse_args()
torch.set_num_threads(args.threads)

# As in generate_s2m.py: the DAC VectorQuantize import needs descript-audiotools and is unused by IndexTTS2.
_quantize = types.ModuleType("indextts.s2mel.dac.nn.quantize")
_quantize.VectorQuantize = None
sys.modules["indextts.s2mel.dac.nn.quantize"] = _quantize
from indextts.s2mel.modules.commons import MyModel  # noqa: E402

S2MEL = """
dit_type: "DiT"
reg_loss_type: "l1"
style_encoder: {dim: 192}
length_regulator: {channels: 512, is_discrete: false, in_channels: 1024, content_codebook_size: 2048, sampling_ratios: [1, 1, 1, 1], vector_quantize: false, n_codebooks: 1, quantizer_dropout: 0.0, f0_condition: false, n_f0_bins: 512}
DiT: {hidden_dim: 512, num_heads: 8, depth: 13, class_dropout_prob: 0.1, block_size: 8192, in_channels: 80, style_condition: true, final_layer_type: "wavenet", target: "mel", content_dim: 512, content_codebook_size: 1024, content_type: "discrete", f0_condition: false, n_f0_bins: 512, content_codebooks: 1, is_causal: false, long_skip_connection: true, zero_prompt_speech_token: false, time_as_token: false, style_as_token: false, uvit_skip_connection: true, add_resblock_in_transformer: false}
wavenet: {hidden_dim: 512, num_layers: 8, kernel_size: 5, dilation_rate: 1, p_dropout: 0.2, style_condition: true}
"""


def namespace(value):
    if isinstance(value, dict):
        return types.SimpleNamespace(**{k: namespace(v) for k, v in value.items()})
    return value


torch.manual_seed(0)
start = time.perf_counter()
model = MyModel(namespace(yaml.safe_load(S2MEL)), use_gpt_latent=True)
model.eval()
model.models["cfm"].estimator.setup_caches(max_batch_size=1, max_seq_length=8192)
build = time.perf_counter() - start
parameters = sum(p.numel() for p in model.parameters())
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"CPU: {cpu}; PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
print(f"S2M {parameters / 1e6:.1f} M parameters, built in {build:.2f} s")

with torch.inference_mode():
    latent = torch.randn(1, args.codes, 1280)
    s_infer = torch.randn(1, args.codes, 1024)
    s_ref = torch.randn(1, args.prompt_frames // 2 + 1, 1024)
    ref_mel = torch.randn(1, 80, args.prompt_frames) * 2 - 5
    style = torch.randn(1, 192)
    start = time.perf_counter()
    regulator = model.models["length_regulator"]
    prompt_condition = regulator(s_ref, ylens=torch.LongTensor([args.prompt_frames]), n_quantizers=3, f0=None)[0]
    content = model.models["gpt_layer"](latent) + s_infer
    target = (torch.LongTensor([args.codes]) * 1.72).long()
    cond = regulator(content, ylens=target, n_quantizers=3, f0=None)[0]
    mu = torch.cat([prompt_condition, cond], dim=1)
    conditions = time.perf_counter() - start
    start = time.perf_counter()
    mel = model.models["cfm"].inference(mu, torch.LongTensor([mu.size(1)]), ref_mel, style, None, args.steps,
                                        inference_cfg_rate=args.cfg_rate)[:, :, args.prompt_frames:]
    flow = time.perf_counter() - start
audio = mel.shape[-1] * 256 / 22050
print(f"{args.prompt_frames} prompt + {mel.shape[-1]} generated frames ({args.codes} codes, {audio:.2f} s of audio), "
      f"{args.steps} steps, batch {2 if args.cfg_rate > 0 else 1}")
print(f"conditions (gpt_layer + regulator x2): {conditions:.3f} s")
print(f"CFM: {flow:.2f} s ({flow / args.steps:.3f} s per step)")
print(f"total: {conditions + flow:.2f} s, RTF {(conditions + flow) / audio:.2f}")
print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
