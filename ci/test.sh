#!/usr/bin/env bash
# The test command: install, build, run the whole suite through ctest. GPU tests report
# "skipped" on a machine without a CUDA device.
set -euo pipefail
cd "$(dirname "$0")/.."
./ci/build.sh default
ctest --preset default "$@"
