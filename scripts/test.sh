#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages, builds, and runs every test in the debug
# configuration and again in release (-Ounchecked, AVX2/FMA code generation), since numeric kernels compile
# differently in the two. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== swift test (debug)"
swift test
echo "== swift test (release)"
swift test -c release
