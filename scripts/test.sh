#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages, builds, and runs every test in the debug
# configuration and again in release (-Ounchecked, AVX2/FMA code generation), since numeric kernels compile
# differently in the two. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# The default voice's wheels (pinned, checksummed): its G2P tests read pypinyin's dictionaries and the phone set.
./scripts/fetch-default-voice.sh

echo "== swift test (debug)"
swift test
echo "== swift test (release)"
swift test -c release
