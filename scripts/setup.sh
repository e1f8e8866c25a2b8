#!/usr/bin/env bash
# Installs what building IndexTTS-Swift needs on Debian/Ubuntu, when missing. Idempotent; sourced by the other scripts.
# Needs: Swift 6 (looked for on PATH, then /opt/swift), and Debian's OpenBLAS.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "error: Swift 6 is required (https://www.swift.org/install/linux/); swift was not found on PATH or in /opt/swift" >&2
  exit 1
fi

# Installs the Debian packages named as arguments that are not installed yet (other scripts reuse it).
install_missing_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "installing system packages: ${missing[*]}"
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
}
install_missing_packages libopenblas-dev libdnnl-dev libsndfile1-dev libsoxr-dev libsqlite3-dev libavcodec-dev libavutil-dev pkg-config espeak-ng
