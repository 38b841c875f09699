#!/usr/bin/env bash
# Bounded fuzzing of the readers of untrusted files (tests/fuzz, README "Sanitizers and
# fuzzing"): builds the `fuzz` preset (clang 14, libFuzzer, ASan + UBSan) and runs every
# target that has a seed corpus in tests/fuzz/corpus/<target>/ for SECONDS (default 60) on a
# scratch copy of that corpus, printing the executions per target.
#
# Every input that crashed, leaked, hung (30 s) or ran out of memory (2 GiB) is replayed and
# judged by where its report points (ci/fuzz-judge.sh):
#   - into our code (any instrumented frame, an uncaught exception, a UBSan report): a
#     finding, and the run fails;
#   - into the HDF5, OpenCV or FFmpeg libraries themselves (not instrumented: their parsers
#     trust the file): a library bug, printed with its function and kept, but not a failure;
#     tests/fuzz/README.md lists the ones found and why our validation cannot prevent them.
# Fuzzing goes on after each crash (libFuzzer's fork mode), so a library bug does not end the
# search early. Inputs are kept in build-fuzz/findings/<target>/: once a bug in our code is
# fixed, commit its input to the target's corpus (every run replays the corpus first).
#   ci/fuzz.sh [SECONDS]      (.ci/run: ci/test.sh runs 20 s per target; nightly: 60 s)
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

# The replay prints every frame's module, which ci/fuzz-judge.sh judges the report by.
stack_format='stack_trace_format="    #%n %p in %f %S <%m>"'

status=0
for t in "${targets[@]}"; do
  mkdir -p "$findings/$t" "$work/$t/tmp"
  cp -r "tests/fuzz/corpus/$t" "$work/$t/corpus"
  seeds="$(ls "$work/$t/corpus" | wc -l)"
  bin="$build/tests/fuzz/$t"
  # The readers redirect stderr while OpenCV and FFmpeg run; libFuzzer's report goes to the log.
  TMPDIR="$work/$t/tmp" "$bin" "$work/$t/corpus" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
    -keep_seed=1 -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/$t/" >"$work/$t/log" 2>&1 || true
  runs="$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$work/$t/log" | tail -1)"
  library=0 ours=0
  for input in "$findings/$t"/*; do
    [ -e "$input" ] || continue
    # -malloc_limit_mb: a single allocation past the fuzzing run's 2 GiB is reported with the
    # stack that asked for it (HDF5 allocating what a corrupt length says); by RSS alone the report
    # lists only the live heap, whose frames are libFuzzer's. The RSS limit is raised so that the
    # allocation, not the RSS watchdog, ends the replay; a slow growth is still caught, by RSS.
    TMPDIR="$work/$t/tmp" ASAN_OPTIONS="$stack_format" LSAN_OPTIONS="$stack_format" \
      UBSAN_OPTIONS="$stack_format:print_stacktrace=1" "$bin" "$input" -timeout=30 -rss_limit_mb=4096 -malloc_limit_mb=2048 \
      >"$work/$t/replay" 2>&1 || true
    verdict="$(ci/fuzz-judge.sh "$work/$t/replay")"
    if [ "$verdict" = unreproduced ]; then
      echo "$t: did not reproduce on replay (not counted): $input"
    elif [ "$verdict" = ours ]; then
      ours=$((ours + 1))
      echo "$t: FINDING in our code: $input"
      sed -n '/^==[0-9]*==ERROR\|runtime error\|^SUMMARY/,/^SUMMARY/p' "$work/$t/replay" | head -40
    else
      library=$((library + 1))
      echo "$t: ${verdict#library }: library bug (tests/fuzz/README.md), input $input"
    fi
  done
  [ "$ours" -eq 0 ] || status=1
  printf '%-18s %7s executions in %s s (%s/s); corpus %s -> %s inputs; findings: %d in our code, %d in libraries\n' \
    "$t" "${runs:-?}" "$seconds" "$([ -n "$runs" ] && echo $((runs / seconds)) || echo '?')" "$seeds" \
    "$(ls "$work/$t/corpus" | wc -l)" "$ours" "$library"
  if [ -z "$runs" ]; then
    echo "$t: no fuzzing statistics: the target did not run" >&2
    tail -n 20 "$work/$t/log" >&2
    status=1
  fi
done
exit "$status"
