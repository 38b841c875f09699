#!/usr/bin/env bash
# Installs the dependencies and builds with the given CMake preset (default: "default").
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
./ci/install-deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset"
