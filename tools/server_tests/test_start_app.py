"""`./start_app.sh` as users run it: it starts the server with the WebUI, prints the URL, and a second run replaces
the instance it started (PID file) instead of failing on the busy port or leaving two servers; `--stop` stops it."""
import os
import subprocess
import time

import requests

from conftest import BINARY, ROOT, free_port


def run(*args, timeout=600):
    # The binary under test (INDEXTTS_BINARY): scripts/test.sh runs the one `swift test -c release` built, which
    # start_app.sh's own `swift build` (no test targets) would otherwise recompile from scratch.
    return subprocess.run(["./start_app.sh", "--binary", BINARY, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def alive(pid):
    """Running (a zombie nobody has reaped yet counts as stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_start_replace_and_stop(data_dir):
    port = free_port()
    pid_file = os.path.join(ROOT, "run", f"webui-{port}.pid")
    first = run("--port", str(port), "--data", data_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"http://127.0.0.1:{port}" in first.stdout
    # It says which engine speaks and why (no IndexTTS2 folder in the checkout: the default voice).
    assert "Engine: Default voice" in first.stdout and "default voice:" in first.stdout, first.stdout
    page = requests.get(f"http://127.0.0.1:{port}/")
    assert page.status_code == 200 and "IndexTTS-Swift" in page.text
    old_pid = int(open(pid_file).read())
    # A bad argument is refused before anything is stopped: the running instance stays.
    refused = run("--port", str(port), "--data", data_dir, "--engine", "neither")
    assert refused.returncode == 2 and alive(old_pid), refused.stdout + refused.stderr

    second = run("--port", str(port), "--data", data_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "stopping the previous instance" in second.stdout
    new_pid = int(open(pid_file).read())
    assert new_pid != old_pid and not alive(old_pid) and alive(new_pid)
    speech = requests.post(f"http://127.0.0.1:{port}/v1/audio/speech",
                           json={"input": "你好。", "response_format": "wav", "instructions": "happy"})
    assert speech.status_code == 200 and speech.content[:4] == b"RIFF"

    stopped = run("--stop", "--port", str(port))
    assert stopped.returncode == 0
    for _ in range(100):
        if not alive(new_pid):
            break
        time.sleep(0.1)
    assert not alive(new_pid) and not os.path.exists(pid_file)


def test_binary_that_is_not_executable_is_refused():
    refused = subprocess.run(["./start_app.sh", "--binary", "/nonexistent/indextts", "--port", str(free_port())],
                             cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert "--binary: '/nonexistent/indextts' is not an executable file" in refused.stderr
