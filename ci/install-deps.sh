#!/usr/bin/env bash
# Installs the Debian packages ffn-parity builds and tests with. Idempotent: packages
# already present are not fetched again, and the package index is refreshed at most once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  catch2
  libopenblas-dev
  libhdf5-dev hdf5-tools python3-h5py python3-numpy
  python3-torch  # the capture script's round-trip test (tests/capture_roundtrip.py)
  python3-skimage  # the skimage SSIM against scikit-image itself (tests/skimage_ssim_reference.py)
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libopencv-dev libopencv-contrib-dev
  openmpi-bin libopenmpi-dev  # TP ranks as processes (--comm mpi, ctest -L mpi)
  pybind11-dev python3-dev python3-pytest  # the ffn_parity Python module (python/) and its tests
  ffmpeg  # only the baseline of ci/bench-frames.sh
  clang-14 libclang-rt-14-dev libomp-14-dev  # only the libFuzzer targets of ci/fuzz.sh
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "install-deps: all ${#packages[@]} packages present"; exit 0; }

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
