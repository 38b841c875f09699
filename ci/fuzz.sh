#!/usr/bin/env bash
# Bounded fuzzing of the readers of untrusted files (tests/fuzz): builds the `fuzz` preset
# (clang 14, libFuzzer, ASan + UBSan) and runs every target that has a seed corpus in
# tests/fuzz/corpus/<target>/ for SECONDS (default 60) on a scratch copy of that corpus.
# Prints the executions per target; fails on any crash, uncaught exception, sanitizer
# report, leak, timeout (one input over 30 s) or out-of-memory (over 2 GiB). The input that
# failed is kept in build-fuzz/findings/<target>/: once the bug is fixed, commit it to the
# target's corpus as a regression (every run starts by replaying the whole corpus).
#   ci/fuzz.sh [SECONDS]      (.ci/run: 20 s per target; the nightly job: the default 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive integer, not '$seconds'" >&2; exit 2; }
command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 not found (ci/install-deps.sh installs it)" >&2; exit 2; }

targets=()
for dir in tests/fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}"

build=build-fuzz
findings="$build/findings"
rm -rf "$findings"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$findings/$t" "$work/$t/tmp"
  cp -r "tests/fuzz/corpus/$t" "$work/$t/corpus"
  seeds="$(ls "$work/$t/corpus" | wc -l)"
  # The readers redirect stderr while OpenCV and FFmpeg run; libFuzzer's report goes to the log.
  if TMPDIR="$work/$t/tmp" "$build/tests/fuzz/$t" "$work/$t/corpus" -max_total_time="$seconds" -timeout=30 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/$t/" >"$work/$t/log" 2>&1; then
    verdict="no crash"
  else
    verdict="FAILED (input kept in $findings/$t/)"
    status=1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log" | tail -1)"
  printf '%-20s %8s executions in %s s (%s/s), corpus %s -> %s inputs: %s\n' "$t" "${runs:-?}" "$seconds" \
    "$([ -n "$runs" ] && echo $((runs / seconds)) || echo '?')" "$seeds" "$(ls "$work/$t/corpus" | wc -l)" "$verdict"
  [ "$verdict" = "no crash" ] || tail -n 60 "$work/$t/log"
done
exit "$status"
