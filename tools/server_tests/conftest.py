"""Starts real `indextts serve` processes on loopback for the integration tests.

Environment: INDEXTTS_BINARY (default .build/release/indextts; test_start_app passes it to start_app.sh as --binary, so
start_app.sh's own build step is not exercised here), INDEXTTS_CACHE (default cache_hub),
INDEXTTS_TEST_POSTGRES_URL (enables the shared-PostgreSQL tests; scripts/postgres-for-tests.sh starts a server).
"""
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("INDEXTTS_BINARY", os.path.join(ROOT, ".build/release/indextts"))
CACHE = os.environ.get("INDEXTTS_CACHE", os.path.join(ROOT, "cache_hub"))


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: the long soak under faults (test_soak.py); runs only with INDEXTTS_SOAK=1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `indextts serve` process; `kill()` sends SIGKILL, `start()` (re)starts it on the same port and data."""

    def __init__(self, data, extra=(), port=None):
        self.data = data
        self.extra = list(extra)
        self.port = port or free_port()
        self.process = None
        self.log = open(os.path.join(data, f"server-{self.port}.log"), "ab")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=60):
        args = [BINARY, "serve", "--port", str(self.port), "--data", self.data, "--cache", CACHE] + self.extra
        self.process = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; log: {self.log.name}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="indextts-it-") as d:
        yield d


@pytest.fixture
def make_server(data_dir):
    servers = []

    def factory(extra=(), data=None):
        server = Server(data or data_dir, extra)
        servers.append(server)
        return server.start()

    yield factory
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()
