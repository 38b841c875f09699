#!/usr/bin/env bash
# The GPU check, for a bare CUDA machine (DESIGN section 7: CUDA 13, CMake, ninja, Python, no
# Debian -dev packages, no network). It builds only what needs no HDF5, OpenCV, CLI11, JSON or
# Catch2 (-DFFN_PARITY_DEVICE_ONLY=ON: the CUDA backend, the FFN paths, the gpu tests and
# ffn-parity-device-check), runs the gpu tests, the CUDA bench, then the cross-backend sweep at
# LTX-2 dims (256 tokens, tp 1,2,4 on the device-local communicator) and prints its table last.
#
# OpenBLAS and fmt, which the CPU reference needs, come from .deb files fetched beforehand on a
# machine with apt (`ci/device-check.sh --fetch-debs`, into .device-deps/debs, ignored by git)
# and unpacked here without root; a machine that has them installed uses its own.
#
#   ci/device-check.sh --fetch-debs       on a machine with apt and network
#   ci/device-check.sh [--configure-only] on the GPU machine (BUILD_DIR, default build-device;
#                                         GPU_TEST_TIMEOUT, seconds per gpu test, default 300)
#
# Exit status: 0 all passed; 1 a test or an agreement failed; 2 bad usage or a build problem;
# 3 no usable CUDA device (after building: the build is checked even then).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deps="$root/.device-deps"
build="${BUILD_DIR:-$root/build-device}"
debs=(libopenblas0-pthread libopenblas-pthread-dev libgfortran5 libquadmath0 libfmt9 libfmt-dev)

say() { printf 'device-check: %s\n' "$*"; }
die() { printf 'device-check: error: %s\n' "$1" >&2; exit "${2:-2}"; }

mode=run
case "${1:-}" in
  "") ;;
  --fetch-debs) mode=fetch ;;
  --configure-only) mode=configure ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  *) die "unknown option '$1' (see --help)" ;;
esac

if [[ $mode == fetch ]]; then
  command -v apt-get >/dev/null || die "--fetch-debs needs apt-get"
  mkdir -p "$deps/debs"
  (cd "$deps/debs" && apt-get download "${debs[@]}") || die "apt-get download failed"
  say "fetched $(ls "$deps/debs" | wc -l) packages into $deps/debs"
  exit 0
fi

# ---- tools ------------------------------------------------------------------------------
export PATH="/usr/local/cuda/bin:$PATH"
command -v nvcc >/dev/null || die "nvcc not found (looked in PATH and /usr/local/cuda/bin)"
command -v cmake >/dev/null || die "cmake not found"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

# ---- OpenBLAS and fmt ---------------------------------------------------------------------
cmake_args=(-DFFN_PARITY_DEVICE_ONLY=ON -DCMAKE_BUILD_TYPE=Release)
have_system_deps() {
  [[ -e /usr/include/fmt/format.h ]] && { compgen -G '/usr/include/*/openblas*/cblas.h' >/dev/null || [[ -e /usr/include/cblas.h ]]; }
}
if [[ ${FFN_DEVICE_CHECK_USE_DEBS:-0} == 1 ]] || ! have_system_deps; then
  shopt -s nullglob
  packages=("$deps"/debs/*.deb)
  shopt -u nullglob
  ((${#packages[@]})) || die "no OpenBLAS/fmt here and no .deb files in $deps/debs (run ci/device-check.sh --fetch-debs on a machine with apt, and bring .device-deps along)"
  unpacked="$deps/root"
  rm -rf "$unpacked"
  mkdir -p "$unpacked"
  for p in "${packages[@]}"; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$p" "$unpacked"
    else
      # A .deb is an ar archive holding data.tar.*.
      tmp="$(mktemp -d)"
      (cd "$tmp" && ar x "$p" && tar -xf data.tar.* -C "$unpacked")
      rm -rf "$tmp"
    fi
  done
  arch_lib="$unpacked/usr/lib/x86_64-linux-gnu"
  blas="$arch_lib/openblas-pthread/libopenblas.so"
  [[ -e $blas ]] || blas="$(ls "$arch_lib"/openblas-pthread/libopenblas.so.* 2>/dev/null | head -n1 || true)"
  [[ -n $blas && -e $blas ]] || die "the unpacked packages hold no libopenblas.so ($arch_lib/openblas-pthread)"
  cmake_args+=(-DCMAKE_PREFIX_PATH="$unpacked/usr" -DBLAS_LIBRARIES="$blas"
               -DFFN_PARITY_CBLAS_INCLUDE="$unpacked/usr/include/x86_64-linux-gnu/openblas-pthread")
  # The unpacked shared libraries, for the build (catch nothing at build time) and the runs.
  export LD_LIBRARY_PATH="$arch_lib/openblas-pthread:$arch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "using OpenBLAS and fmt unpacked from ${#packages[@]} .deb files"
fi

# Only the architecture of the device here, when nvidia-smi can say which (faster builds).
if [[ -z ${CUDA_ARCHS:-} ]] && command -v nvidia-smi >/dev/null; then
  CUDA_ARCHS="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d ' .' || true)"
fi
[[ -n ${CUDA_ARCHS:-} ]] && cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS")

# ---- build ------------------------------------------------------------------------------------
# Extra CMake arguments, e.g. -DCMAKE_IGNORE_PREFIX_PATH=/usr to prove the .deb route on a
# machine that has the packages installed.
read -r -a extra <<<"${FFN_DEVICE_CHECK_CMAKE_ARGS:-}"
cmake_args+=("${extra[@]}")
say "configuring $build"
mkdir -p "$build"
cmake -S "$root" -B "$build" "${generator[@]}" "${cmake_args[@]}" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; die "cmake configure failed (log: $build/configure.log)"; }
[[ $mode == configure ]] && { say "configured (--configure-only)"; exit 0; }
say "building"
cmake --build "$build" -j "${JOBS:-$(nproc)}" >"$build/build.log" 2>&1 ||
  { tail -n 40 "$build/build.log" >&2; die "build failed (log: $build/build.log)"; }

# ---- device ------------------------------------------------------------------------------------
# has_cuda_device --why prints the device summary, or "no CUDA device: <reason>".
if ! "$build/tests/gpu/has_cuda_device"; then
  die "$("$build/tests/gpu/has_cuda_device" --why || true) (the build is fine; run this on a GPU machine)" 3
fi

# ---- gpu tests, then the sweep ---------------------------------------------------------------
status=0
say "gpu tests"
ctest --test-dir "$build" -L gpu --output-on-failure --timeout "${GPU_TEST_TIMEOUT:-300}" || status=1
say "bench (ffn-parity-bench --backend cuda)"
"$build/harness/device_check/ffn-parity-device-check" --bench || status=1
say "cross-backend sweep (cuda vs cpu)"
table="$build/device-check-table.txt"
"$build/harness/device_check/ffn-parity-device-check" --shape ltx2-video --tokens 256 --tp 1,2,4 >"$table" || status=1
echo
cat "$table"
exit "$status"
