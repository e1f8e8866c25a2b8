"""Upstream IndexTTS2.infer (index-tts ee40fa7, unmodified) end to end on a model folder, timed per stage, as
`indextts bench e2e` times ours: load time, per-stage seconds, RTF and peak resident memory, for a new voice and then
the same clip again (upstream caches the speaker and emotion conditioning of the last clip, so the second request is
its cached voice).

Codes are forced to --codes per segment with Hugging Face's own `min_new_tokens` (a generation kwarg infer() passes
through to `generate`: the stop code is masked until that many codes exist) and max_mel_tokens = --codes (generation
stops there). Decoding is upstream's default (do_sample, top_p 0.8, top_k 30, temperature 0.8, 3 beams, repetition
penalty 10); CFM runs upstream's hard-coded 25 steps, CFG 0.7 (--diffusion-steps must be 25: infer() takes no such
argument).

Stage times come from wrappers around the instance's components (values pass through unchanged): extract_features,
get_emb (w2v-BERT + stats), semantic_codec.quantize, mel_fn, kaldi fbank, campplus_model, the length regulator,
gpt.merge_emovec, gpt.inference_speech, gpt forward (latent pass), gpt_layer, quantizer.vq2emb, cfm.inference,
bigvgan; "other" is the rest of infer() (resampling, text front end, bookkeeping).

An IndexTTS-2.5 folder (config.yaml `version: 2.5`) runs `infer_v2_5.IndexTTS2.infer` instead, with `--lang`
(default zh) and generate_e2e25.py's construction patches (the tiktoken file read by upstream's `get_encoding`, no
fugashi); its stages have no codec quantize, latent pass or gpt_layer, and time `semantic_codec.decode` instead.

Usage (the upstream checkout on PYTHONPATH, the fixture venv):
  PYTHONPATH=/work/upstream-index-tts tools/fixtures/.venv/bin/python tools/bench/torch_e2e.py \
      --model-dir DIR --ref CLIP.wav [--text T] [--codes 250] [--num-beams 3] [--threads 2] [--repeats 1] [--json OUT]
      [--lang zh]
"""
import argparse
import json
import os
import random
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "fixtures"))
sys.path.insert(0, here)

# generate_e2e applies its import-time stubs (modelscope, DAC quantize, whisper): construction only, never math.
import generate_e2e  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
import torchaudio  # noqa: E402
import yaml  # noqa: E402

infer_v2 = generate_e2e.infer_v2
TEXT = generate_e2e.TEXT


def memory():
    """(VmRSS, VmHWM) in bytes from /proc/self/status."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


class Timers:
    def __init__(self):
        self.seconds = {}

    def wrap(self, label, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t
        return timed


# label, in the order `indextts bench e2e` lists its groups
STAGES = [
    ("audio load (librosa, 15 s cut)", "_load_and_cut_audio"),
    ("SeamlessM4T features", "extract_features"),
    ("w2v-BERT (get_emb: 17 layers, stats)", "get_emb"),
    ("semantic codec quantize", "quantize"),
    ("reference mel", "mel_fn"),
    ("kaldi fbank", "fbank"),
    ("CAM++", "campplus"),
    ("length regulator (prompt + segments)", "length_regulator"),
    ("emotion vectors (merge_emovec)", "merge_emovec"),
    ("GPT generate (inference_speech)", "inference_speech"),
    ("GPT latent pass", "gpt_forward"),
    ("gpt_layer + vq2emb", "s2m_conditions"),
    ("EnhancedCodec decode (2.5)", "codec_decode"),
    ("CFM", "cfm"),
    ("BigVGAN", "bigvgan"),
]


def targets(tts, v25=False):
    """(label key, object, attribute) of every timed component of this instance."""
    if v25:
        return [("_load_and_cut_audio", tts, "_load_and_cut_audio"), ("extract_features", tts, "extract_features"),
                ("get_emb", tts, "get_emb"), ("mel_fn", tts, "mel_fn"),
                ("fbank", torchaudio.compliance.kaldi, "fbank"), ("campplus", tts.campplus_model, "forward"),
                ("length_regulator", tts.s2mel.models["length_regulator"], "forward"),
                ("merge_emovec", tts.gpt, "merge_emovec"), ("inference_speech", tts.gpt, "inference_speech"),
                ("codec_decode", tts.semantic_codec, "decode"), ("cfm", tts.s2mel.models["cfm"], "inference"),
                ("bigvgan", tts.bigvgan, "forward")]
    return [("_load_and_cut_audio", tts, "_load_and_cut_audio"), ("extract_features", tts, "extract_features"),
            ("get_emb", tts, "get_emb"), ("quantize", tts.semantic_codec, "quantize"), ("mel_fn", tts, "mel_fn"),
            ("fbank", torchaudio.compliance.kaldi, "fbank"), ("campplus", tts.campplus_model, "forward"),
            ("length_regulator", tts.s2mel.models["length_regulator"], "forward"),
            ("merge_emovec", tts.gpt, "merge_emovec"), ("inference_speech", tts.gpt, "inference_speech"),
            ("gpt_forward", tts.gpt, "forward"), ("s2m_conditions", tts.s2mel.models["gpt_layer"], "forward"),
            ("s2m_conditions", tts.semantic_codec.quantizer, "vq2emb"), ("cfm", tts.s2mel.models["cfm"], "inference"),
            ("bigvgan", tts.bigvgan, "forward")]


def instrument(tts, timers, v25=False):
    """Wraps every component; returns what restore() needs to put the originals back."""
    label = dict((key, name) for name, key in STAGES)
    saved = []
    for key, obj, attr in targets(tts, v25):
        original = getattr(obj, attr)
        saved.append((obj, attr, original))
        setattr(obj, attr, timers.wrap(label[key], original))
    return saved


def restore(saved):
    for obj, attr, original in reversed(saved):
        setattr(obj, attr, original)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--text", default=TEXT)
    ap.add_argument("--codes", type=int, default=250)
    ap.add_argument("--num-beams", type=int, default=3)
    ap.add_argument("--diffusion-steps", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="requests with the same clip after the first")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    ap.add_argument("--tiny", action="store_true",
                    help="the tiny fixture folder (Tests/Fixtures/e2e/model): generate_e2e.py's tiny constructors")
    ap.add_argument("--lang", default="zh", help="IndexTTS-2.5: the text's language (upstream's required `lang`)")
    args = ap.parse_args()
    if args.codes < 1 or args.num_beams < 1 or args.repeats < 0:
        ap.error("--codes and --num-beams must be at least 1, --repeats at least 0")
    if args.diffusion_steps != 25:
        ap.error("upstream infer() hard-codes 25 diffusion steps")
    here_pkg = os.path.dirname(os.path.abspath(infer_v2.__file__))
    if "site-packages" in here_pkg:
        sys.exit(f"indextts comes from {here_pkg}: put the index-tts checkout (ee40fa7) on PYTHONPATH")
    model_dir = args.model_dir
    with open(os.path.join(model_dir, "config.yaml")) as f:
        v25 = str(yaml.safe_load(f).get("version")) == "2.5"
    if v25:
        import generate_e2e25
        generate_e2e25.patch_upstream(full_size=not args.tiny)
    elif args.tiny:
        infer_v2.UnifiedVoice = generate_e2e.tiny_unified_voice
        infer_v2.MyModel = generate_e2e.tiny_my_model
        infer_v2.CAMPPlus = generate_e2e.campplus_factory(generate_e2e.TINY["campplus"])
    torch.set_num_threads(args.threads)
    print(machine.describe(args.threads))
    t0 = time.perf_counter()
    if v25:
        tts = generate_e2e25.infer_v2_5.IndexTTS2(cfg_path=os.path.join(model_dir, "config.yaml"), model_dir=model_dir,
                                                  use_bf16=False, device="cpu", use_cuda_kernel=False, use_qwen_emo=False)
    else:
        tts = infer_v2.IndexTTS2(cfg_path=os.path.join(model_dir, "config.yaml"), model_dir=model_dir, use_fp16=False,
                                 device="cpu", use_cuda_kernel=False, use_qwen_emo=False)
    load_s = time.perf_counter() - t0
    rss_load, hwm_load = memory()
    print(f"load: {load_s:.2f} s (resident {rss_load / 1e6:.0f} MB, peak {hwm_load / 1e6:.0f} MB)")
    print(f"codes forced to {args.codes} per segment, {args.num_beams} beams, 25 CFM steps; text {args.text}")
    runs = []
    out_dir = tempfile.mkdtemp(prefix="torch_e2e_")
    for index in range(args.repeats + 1):
        timers = Timers()
        saved = instrument(tts, timers, v25)
        codes = []
        generate = tts.gpt.inference_speech

        def counting(*a, **k):
            out = generate(*a, **k)
            codes.append(int((out[0][0] != tts.stop_mel_token).sum()))  # codes before stripping (no stop code here)
            return out
        tts.gpt.inference_speech = counting
        torch.manual_seed(args.seed)
        random.seed(args.seed)
        np.random.seed(args.seed)
        output = os.path.join(out_dir, f"run{index}.wav")
        t = time.perf_counter()
        language = dict(lang=args.lang) if v25 else {}
        tts.infer(spk_audio_prompt=args.ref, text=args.text, output_path=output, verbose=False,
                  num_beams=args.num_beams, max_mel_tokens=args.codes, min_new_tokens=args.codes, **language)
        total = time.perf_counter() - t
        info = sf.info(output)
        audio = info.frames / info.samplerate
        stages = {name: round(timers.seconds[name], 3) for name, _ in STAGES if name in timers.seconds}
        stages["other"] = round(total - sum(timers.seconds.values()), 3)
        _, hwm = memory()
        run = dict(voice="new" if index == 0 else "same clip again (upstream's cached conditioning)",
                   seconds=round(total, 3), audio_seconds=round(audio, 3), rtf=round(total / audio, 3), codes=codes,
                   stages=stages, peak_resident_bytes=hwm)
        runs.append(run)
        print(f"{run['voice']} voice: {total:.2f} s for {audio:.2f} s of audio, RTF {total / audio:.2f}, "
              f"codes {codes}, peak {hwm / 1e6:.0f} MB")
        if any(c != args.codes for c in codes):
            sys.exit(f"upstream generated {codes} codes, not {args.codes} per segment")
        for name, seconds in stages.items():
            print(f"  {name:44s} {seconds:8.3f} s")
        restore(saved)
    _, hwm = memory()
    print(f"peak resident memory: {hwm / 1e6:.0f} MB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=machine.describe(args.threads), model_dir=model_dir, ref=args.ref, text=args.text,
                           version="2.5" if v25 else "2.0",
                           codes=args.codes, num_beams=args.num_beams, diffusion_steps=25, load_seconds=round(load_s, 3),
                           resident_after_load_bytes=rss_load, peak_after_load_bytes=hwm_load, runs=runs,
                           peak_resident_bytes=hwm), f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
