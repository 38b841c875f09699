#!/usr/bin/env bash
# The main job: install, build, run the default parity sweep (LTX-2 video FFN, 64 tokens,
# tp 1,2,4,8, fp32/bf16/fp16, ring AllReduce; extra arguments go to `ffn-parity run`), then
# check the committed goldens. Fails if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
./ci/build.sh default
status=0
./build/harness/ffn-parity run "$@" || status=$?
./build/harness/ffn-parity golden check goldens/*.h5 || status=$?
exit "$status"
