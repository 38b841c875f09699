#!/usr/bin/env bash
# The unit and golden suites under AddressSanitizer + UndefinedBehaviorSanitizer (preset
# `asan`, CPU only): any sanitizer report fails its test (UBSan does not recover, LSan checks
# every process at exit). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan "$@"
