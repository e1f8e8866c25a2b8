#!/usr/bin/env bash
# Coverage-guided fuzzing of every input surface (docs/RELIABILITY.md).
#
#   tools/fuzz/run.sh [SECONDS] [HARNESS...]
#
# Builds Sources/indextts-fuzz with libFuzzer and AddressSanitizer into .build-fuzz (never touching .build), then runs
# each harness (all by default; `tools/fuzz/run.sh 0 --list` lists them) for SECONDS (default 60) at nice 19 on its
# seed corpus (tools/fuzz/seeds.txt) plus what earlier runs found (.build-fuzz/corpus/<harness>), and prints
# executions, coverage (libFuzzer's cov = edges, ft = features) and crashes per harness. A crashing input is left in
# .build-fuzz/artifacts/<harness>/; fix the parser, then commit the input under
# Tests/Fixtures/fuzz-regressions/<harness>/ so that `swift test --filter FuzzRegression` replays it.
#
# Environment: FUZZ_BUILD_LOCK=<file> runs the build under `flock <file>` (shared machines); FUZZ_SKIP_BUILD=1 reuses
# the last build; FUZZ_ARGS adds libFuzzer flags; INDEXTTS_FUZZ_GRAMMARS=<WeTextProcessing grammar folder> makes the
# text harness run the full upstream normaliser (slower).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECONDS_PER_HARNESS=${1:-60}
shift || true
SCRATCH=.build-fuzz
BIN=$SCRATCH/debug/indextts-fuzz
ALL=(audio multipart openai-speech tts jobs batch pytorch safetensors tflite sentencepiece fst config-yaml text)
if [[ "${1:-}" == "--list" ]]; then printf '%s\n' "${ALL[@]}"; exit 0; fi
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -eq 0 ]] && HARNESSES=("${ALL[@]}")

# Largest input per harness: room for a few seconds of audio or a small checkpoint; text-like bodies stay short
# (the unit tests cover 100k-character lines separately).
max_len() {
    case "$1" in
        audio|pytorch) echo 65536 ;;
        multipart|sentencepiece|safetensors|tflite) echo 16384 ;;
        config-yaml|fst|batch) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
    # A debug configuration with -O: optimised, yet with Swift's bounds and overflow checks (release targets here
    # use -Ounchecked, which would hide them), plus coverage instrumentation and ASan.
    BUILD=(swift build --scratch-path "$SCRATCH" -c debug --product indextts-fuzz
           -Xswiftc -O -Xswiftc -sanitize=fuzzer,address -Xswiftc -DINDEXTTS_LIBFUZZER)
    if [[ -n "${FUZZ_BUILD_LOCK:-}" ]]; then flock "$FUZZ_BUILD_LOCK" nice -n 19 "${BUILD[@]}"; else nice -n 19 "${BUILD[@]}"; fi
fi
[[ -x "$BIN" ]] || { echo "no fuzz binary at $BIN" >&2; exit 1; }

REPORT=$SCRATCH/fuzz-report.tsv
[[ -f $REPORT ]] || printf 'date\tharness\tseconds\texecutions\texec_per_s\tcov\tft\tcorpus\tcrashes\n' > "$REPORT"
printf '%-14s %8s %12s %9s %7s %7s %7s %8s\n' harness seconds executions exec/s cov ft corpus crashes
status=0
for h in "${HARNESSES[@]}"; do
    corpus=$SCRATCH/corpus/$h
    artifacts=$SCRATCH/artifacts/$h
    mkdir -p "$corpus" "$artifacts"
    while read -r name path; do
        [[ "$name" == "$h" ]] || continue
        if [[ -d "$path" ]]; then cp -n "$path"/* "$corpus"/ 2>/dev/null || true; else cp -n "$path" "$corpus"/ 2>/dev/null || true; fi
    done < <(grep -v '^#' tools/fuzz/seeds.txt)
    log=$SCRATCH/logs/$h.log
    mkdir -p "$(dirname "$log")"
    before=$(ls "$artifacts" | wc -l)
    set +e
    INDEXTTS_REPO="$ROOT" INDEXTTS_FUZZ_HARNESS="$h" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=0" \
        nice -n 19 "$BIN" -max_total_time="$SECONDS_PER_HARNESS" -max_len="$(max_len "$h")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" > "$log" 2>&1
    rc=$?
    set -e
    after=$(ls "$artifacts" | wc -l)
    crashes=$((after - before))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=${execs:-$(echo "$last" | grep -o '^#[0-9]*' | tr -d '#')}
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
    corp=$(ls "$corpus" | wc -l)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    if [[ $rc -ne 0 && $crashes -eq 0 ]]; then crashes="rc=$rc"; fi
    [[ "$crashes" != 0 ]] && status=1
    printf '%-14s %8s %12s %9s %7s %7s %7s %8s\n' "$h" "$SECONDS_PER_HARNESS" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corp" "$crashes"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$h" "$SECONDS_PER_HARNESS" "${execs:-}" "${rate:-}" "${cov:-}" \
        "${ft:-}" "$corp" "$crashes" >> "$REPORT"
done
echo "logs: $SCRATCH/logs/, crash inputs: $SCRATCH/artifacts/<harness>/, history: $REPORT"
exit $status
