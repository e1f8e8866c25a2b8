# Shared by tools/bench/compare_*.sh (source it after `set -euo pipefail`): moves to the repository root, sets
# venv (FIXTURE_VENV, default tools/fixtures/.venv), and offers
#   bench_parse "$@"   options as the script declares them before calling it, in an associative array `option`:
#                      `--name` → a variable that takes the next argument, or `--name` → `var=value` for a flag:
#                        declare -A option=([--threads]=threads [--skip-ours]=ours=0)
#                      an unknown option, or one without its value, exits 2 naming it;
#   bench_build        the release binary (scripts/setup.sh's environment, swift build -c release --product indextts);
#   bench_machine      one line: cores and CPU model (the Swift side's bench header names the rest).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="${FIXTURE_VENV:-tools/fixtures/.venv}"

bench_parse() {
  while [ $# -gt 0 ]; do
    local target="${option[$1]:-}"
    if [ -z "$target" ]; then
      echo "unknown option $1 (options: ${!option[*]})" >&2
      exit 2
    fi
    if [[ "$target" == *=* ]]; then
      printf -v "${target%%=*}" '%s' "${target#*=}"
      shift
    else
      [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
      printf -v "$target" '%s' "$2"
      shift 2
    fi
  done
}

bench_build() {
  source scripts/setup.sh >/dev/null
  swift build -c release --product indextts 2>&1 | grep -E "error|warning: unre" || true
}

bench_machine() {
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
}
