#!/usr/bin/env bash
# The test command: install, build, run the whole suite through ctest (GPU tests report
# "skipped" on a machine without a CUDA device), then fuzz the file readers briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
./ci/build.sh default
ctest --preset default "$@"
# The readers of untrusted files, fuzzed 20 s each; the 60 s run (ci/fuzz.sh) and the suite
# under ASan + UBSan (ci/sanitize.sh) are the nightly job (README: "Sanitizers and fuzzing").
./ci/fuzz.sh 20
