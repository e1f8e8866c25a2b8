#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages, builds, and runs every test in the debug
# configuration and again in release (-Ounchecked, AVX2/FMA code generation), since numeric kernels compile
# differently in the two; then the HTTP server's client-side integration tests (tools/server_tests). Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's heading says when it started and how long the run has taken so far (where CI's time goes).
started=$SECONDS
phase() { echo "== $1 ($(date -u +%H:%M:%S), $((SECONDS - started)) s into the run)"; }
pg_started=0
finish() {
  local status=$?
  if [ "$pg_started" = 1 ]; then scripts/postgres-for-tests.sh stop || true; fi
  echo "== finished with status $status after $((SECONDS - started)) s"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
source scripts/setup.sh
# The default voice's wheels (pinned, checksummed): its G2P tests read pypinyin's dictionaries and the phone set.
./scripts/fetch-default-voice.sh

# A throw-away PostgreSQL for the shared-queue tests (Swift queue tests and the two-server crash test).
pg_started=1
pg_url="$(scripts/postgres-for-tests.sh start)"
export INDEXTTS_TEST_POSTGRES_URL="$pg_url"

# QEMU's user-mode emulator: the CLI test that runs the release binary on an emulated pre-AVX2 CPU.
install_missing_packages qemu-user
# Serially: the model suites are long synchronous tests, and run side by side on a 2-core machine they hold every
# thread of Swift's cooperative pool, starving the server and job-worker tests (async, timing-bound) into timeouts.
phase "swift test (debug)"
swift test --no-parallel
phase "swift test (release)"
swift test -c release --no-parallel

# The server as clients see it: the official openai package against `indextts serve` (release build, default
# voice), 20 clients for a minute, SIGKILL and restart with queued and running jobs, two servers on one PostgreSQL.
phase "server integration tests"
# They run the release binary `swift test -c release` just built (with testable imports; the same sources).
# `swift build -c release --product indextts` here would recompile every module and dependency without
# `-enable-testing` (13 minutes on 2 cores, more on a cold machine); start_app.sh's test passes it as --binary.
export INDEXTTS_BINARY="$PWD/.build/release/indextts"
if [ ! -x "$INDEXTTS_BINARY" ]; then
  echo "error: swift test -c release did not leave $INDEXTTS_BINARY" >&2
  exit 1
fi
# The WebUI test drives Debian's Chromium (with CJK fonts for the screenshot).
install_missing_packages chromium chromium-driver fonts-noto-cjk
if ! cmp -s tools/server_tests/requirements.txt .venv-server-tests/requirements.txt; then
  rm -rf .venv-server-tests
  python3 -m venv .venv-server-tests
  .venv-server-tests/bin/pip install -q -r tools/server_tests/requirements.txt
  cp tools/server_tests/requirements.txt .venv-server-tests/requirements.txt
fi
.venv-server-tests/bin/pytest -q tools/server_tests
