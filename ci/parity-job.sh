#!/usr/bin/env bash
# The main job: install, build, run the default parity sweep (LTX-2 video FFN, 64 tokens,
# tp 1,2,4,8, fp32/bf16/fp16, ring AllReduce). Extra arguments go to `ffn-parity run`.
set -euo pipefail
cd "$(dirname "$0")/.."
./ci/build.sh default
./build/harness/ffn-parity run "$@"
