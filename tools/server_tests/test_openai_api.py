"""`/v1/audio/speech` and the native API driven by the official `openai` client and plain HTTP, against a real
`indextts serve` with the embedded default voice."""
import base64
import concurrent.futures
import io
import json
import time

import av
import numpy as np
import openai
import pytest
import requests
import soundfile as sf

TEXT = "今天天气很好，我们一起去公园散步吧。"


def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_every_format_is_valid_audio(server, fmt):
    audio = client(server).audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format=fmt).read()
    if fmt == "pcm":
        samples = np.frombuffer(audio, dtype="<i2")
        seconds = len(samples) / 24000
    elif fmt == "aac":
        # An independent decoder (PyAV's FFmpeg) reads the ADTS stream.
        with av.open(io.BytesIO(audio), format="aac") as container:
            frames = [f.to_ndarray() for f in container.decode(audio=0)]
            rate = container.streams.audio[0].rate
        samples = np.concatenate(frames, axis=1)[0]
        seconds = len(samples) / rate
    else:
        data, rate = sf.read(io.BytesIO(audio))
        seconds = len(data) / rate
        samples = data
    assert 1.5 < seconds < 8, seconds
    assert np.abs(samples).max() > 0


def test_unknown_formats_are_refused_with_an_openai_error(server):
    with pytest.raises(openai.BadRequestError) as e:
        client(server).audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="ogg")
    assert e.value.body["param"] == "response_format"


def test_instructions_and_speed_reach_the_engine(server):
    raw = client(server).audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="wav", instructions="sad", speed=1.5)
    controls = raw.headers["x-indextts-controls"]
    assert "duration_scale=" in controls and "pitch_shift=-" in controls, controls
    fast, _ = sf.read(io.BytesIO(raw.content))
    normal, _ = sf.read(io.BytesIO(client(server).audio.speech.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="wav").read()))
    assert len(fast) < len(normal)


def test_streamed_audio_plays(server):
    with client(server).audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=TEXT + "明天见。", response_format="wav", stream_format="audio") as r:
        body = b"".join(r.iter_bytes())
    data, rate = sf.read(io.BytesIO(body))
    assert rate == 24000 and len(data) / rate > 2


def test_sse_streams_in_order(server):
    with client(server).audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input="第一句。第二句，还有呢。第三句！", response_format="pcm", stream_format="sse") as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    types = [e["type"] for e in events]
    assert types[-1] == "speech.audio.done" and set(types[:-1]) == {"speech.audio.delta"} and len(types) >= 4
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    whole = client(server).audio.speech.create(model="tts-1", voice="alloy", input="第一句。第二句，还有呢。第三句！",
                                               response_format="pcm").read()
    assert pcm == whole  # the deltas, in order, are exactly the file
    assert events[-1]["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("body,status,param", [
    ({"model": "tts-1", "voice": "alloy", "input": ""}, 400, "input"),
    ({"model": "tts-1", "voice": "alloy", "input": "好" * 5000}, 422, "input"),
    ({"model": "tts-1", "voice": "nobody", "input": TEXT}, 400, "voice"),
    ({"model": "tts-1", "voice": "alloy", "input": ["not", "a", "string"]}, 400, "input"),
    ({"model": "tts-1", "voice": "alloy", "input": TEXT, "speed": "fast"}, 400, "speed"),
    ({"model": "tts-1", "voice": "alloy", "input": TEXT, "speed": 5}, 400, "speed"),
    ({"model": "tts-9", "voice": "alloy", "input": TEXT}, 400, "model"),
])
def test_bad_inputs_get_4xx_json(server, body, status, param):
    r = requests.post(server.url + "/v1/audio/speech", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["param"] == param and r.json()["error"]["message"]


def test_native_api_rejects_corrupt_audio_and_bad_vectors(server):
    r = requests.post(server.url + "/v1/tts", data={"text": TEXT}, files={"spk_audio_prompt": ("a.wav", b"RIFF0000WAVEjunk")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_audio"
    r = requests.post(server.url + "/v1/tts", data={"text": TEXT, "emo_vector": "1,2,3"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "emo_vector"
    r = requests.post(server.url + "/v1/tts", data={"text": TEXT, "emotion": "happy", "format": "mp3"})
    assert r.status_code == 200 and float(r.headers["x-indextts-rtf"]) > 0
    assert sf.read(io.BytesIO(r.content))[1] == 24000


def test_twenty_concurrent_clients_for_a_minute_get_no_5xx(server):
    deadline = time.time() + 60
    texts = ["你好。", "今天天气很好。", "我们一起去公园散步吧，好吗？", ""]

    def worker(i):
        counts = {}
        session = requests.Session()
        n = 0
        while time.time() < deadline:
            body = {"model": "tts-1", "voice": "alloy", "input": texts[(i + n) % len(texts)], "response_format": "wav"}
            n += 1
            try:
                status = session.post(server.url + "/v1/audio/speech", json=body, timeout=120).status_code
            except requests.RequestException as e:
                status = f"error {type(e).__name__}"
            counts[status] = counts.get(status, 0) + 1
        return counts

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(worker, range(20)))
    total = {}
    for c in results:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    print("status counts:", total)
    assert all(isinstance(k, int) and k < 500 for k in total), total
    assert total.get(200, 0) >= 20 and total.get(400, 0) >= 1
