#!/usr/bin/env bash
# The GPU check (issue 19), for a bare CUDA machine (DESIGN section 7: CUDA 13, CMake, ninja,
# Python with PyTorch, no Debian -dev packages, no network), in one run under 8 minutes. Each
# part runs under its own time box, cut to what is left of the whole budget (BUDGET_S, default
# 450 s), so one slow part cannot eat the run; a short table of every part is printed last.
#
#   part          what                                                          box  expected
#   build         FFN_PARITY_DEVICE_ONLY build (CUDA backend, gpu tests,       180 s    ~90 s
#                 ffn-parity-device-check), OpenBLAS/fmt from .deb files; then
#                 the full ffn-parity bundle unpacked when carried
#   torch-cuda    full: ffn-parity run --backend cuda, LTX-2 video dims,        120 s    ~50 s
#                 TOKENS (6144: a 121-frame 768x512 video), tp 1,2,4,8, bf16,
#                 --dump-inputs/--dump-outputs, then ci/torch-parity.py on the
#                 GPU: PyTorch's own computation against the harness's
#   torch-cpu     full: the same with --backend cpu, CPU_TOKENS (6144; 256       150 s    ~85 s
#                 tokens take 18 s on 2 cores here, so ~80 s on 16 cores)
#   bench         ffn-parity-device-check --bench (6144 tokens) next to         90 s    ~30 s
#                 ci/torch-bench.py --against it (within 10%)
#   fp8           ffn-parity-device-check: bf16 and every FP8/INT8 scheme,      75 s    ~40 s
#                 CUDA vs CPU, LTX-2 dims, 256 tokens, tp 1,2,4,8 (the
#                 agreement table; nvfp4 says the device cannot run it)
#   nccl-initall  full: ffn-parity run --comm nccl --tp 1 (ncclCommInitAll)     30 s    ~10 s
#   nccl-mpirun   full: the same under mpirun -np 1 (the bundle's OpenMPI)      30 s    ~10 s
#   nightly       full: ci/nightly-multi-gpu.sh on the one GPU (tp 1, NCCL),    90 s    ~40 s
#                 NIGHTLY_MODELS (ltx2-video,ltx2-audio,flux2), 16 tokens:
#                 JSON, JUnit, HTML, kept as nightly.tar.gz
#   catalog       ffn-parity-device-check --shape all: every catalog model,     60 s    ~30 s
#                 tp 1,2,4,8 on the device-local communicator, bf16
#   gpu-tests     ctest -L gpu                                                  60 s    ~20 s
#                                                                     expected in all  ~405 s
#
# Parts marked "full" need the full `ffn-parity` (HDF5, OpenCV, CLI11, JSON), which the bare
# machine cannot build: ci/device-bundle.sh packs it here into .device-deps/full.tar.xz; without
# it they are reported SKIP. Files land in OUT_DIR (default: $OUT on the lent machine, else
# device-check-out): summary.txt (the table), the parts' logs as logs.tar.gz, nightly.tar.gz.
#
#   ci/device-check.sh --fetch-debs       on a machine with apt and network (OpenBLAS, fmt)
#   ci/device-check.sh [--configure-only] on the GPU machine (BUILD_DIR, default build-device)
#   ci/device-check.sh --cpu-smoke        here, without a GPU: the CPU-runnable parts (torch-cpu,
#                                         bench's torch side, nightly on MPI ranks) at tiny dims
#                                         with FFN_PARITY=build-cpu/harness/ffn-parity, to check
#                                         the script itself (ctest device_check.cpu_smoke)
#
# Exit status: 0 every part passed; 1 a part failed or ran out of time; 2 bad usage or a build
# problem; 3 no usable CUDA device (after building: the build is checked even then).
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deps="$root/.device-deps"
build="${BUILD_DIR:-$root/build-device}"
debs=(libopenblas0-pthread libopenblas-pthread-dev libgfortran5 libquadmath0 libfmt9 libfmt-dev)
budget="${BUDGET_S:-450}"
python="${PYTHON:-python3}"

say() { printf 'device-check: %s\n' "$*"; }
die() { printf 'device-check: error: %s\n' "$1" >&2; exit "${2:-2}"; }

mode=run
case "${1:-}" in
  "") ;;
  --fetch-debs) mode=fetch ;;
  --configure-only) mode=configure ;;
  --cpu-smoke) mode=smoke ;;
  -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
  *) die "unknown option '$1' (see --help)" ;;
esac
[[ $budget =~ ^[0-9]+$ ]] || die "BUDGET_S=$budget: not a number of seconds"

if [[ $mode == fetch ]]; then
  command -v apt-get >/dev/null || die "--fetch-debs needs apt-get"
  mkdir -p "$deps/debs"
  (cd "$deps/debs" && apt-get download "${debs[@]}") || die "apt-get download failed"
  say "fetched $(ls "$deps/debs" | wc -l) packages into $deps/debs"
  exit 0
fi

out="${OUT_DIR:-${OUT:-$root/device-check-out}}"
mkdir -p "$out/logs" || die "cannot create $out/logs"
start=$SECONDS
rows=()    # "part|status|seconds|figure"
failed=0

# part NAME BOX FIGURE_REGEX COMMAND...: runs COMMAND with its output in logs/NAME.log, under
# min(BOX, what is left of the budget); the last output line matching FIGURE_REGEX is its figure.
part() {
  local name=$1 box=$2 figure=$3
  shift 3
  local left=$((budget - (SECONDS - start) - 5))
  ((left < box)) && box=$left
  if ((box < 10)); then  # a check not made: the run cannot pass
    rows+=("$name|NO-TIME|0|no time left of the ${budget} s budget")
    failed=1
    return
  fi
  local log="$out/logs/$name.log" t0=$SECONDS rc
  say "$name (up to ${box} s)"
  # Through bash, so that COMMAND may be one of the exported functions below.
  timeout --kill-after=5 "$box" bash -c '"$@"' "$name" "$@" >"$log" 2>&1
  rc=$?
  local fig
  fig=$(grep -E "$figure" "$log" | tail -n1 | cut -c1-90)
  local status=PASS
  if ((rc == 124 || rc == 137)); then
    status=TIMEOUT
    fig="stopped after ${box} s"
  elif ((rc != 0)); then
    status="FAIL($rc)"
    [[ -n $fig ]] || fig=$(grep -v '^\s*$' "$log" | tail -n1 | cut -c1-90)
  fi
  [[ $status == PASS ]] || failed=1
  rows+=("$name|$status|$((SECONDS - t0))|$fig")
  tail -n 40 "$log"
}
skip() { rows+=("$1|SKIP|0|$2"); }

finish() {
  local summary="$out/summary.txt" checked=0 skipped=0 r
  for r in "${rows[@]}"; do
    case "$r" in *\|SKIP\|*) skipped=$((skipped + 1)) ;; *) checked=$((checked + 1)) ;; esac
  done
  ((checked == 0)) && failed=2  # nothing checked is never a pass
  {
    printf '# device-check: %s; %s s of %s s\n' "${device_name:-no GPU}" "$((SECONDS - start))" "$budget"
    printf '%-13s %-9s %5s  %s\n' part status sec figure
    for r in "${rows[@]}"; do
      IFS='|' read -r p s t f <<<"$r"
      printf '%-13s %-9s %5s  %s\n' "$p" "$s" "$t" "$f"
    done
    printf 'device-check: %s, %s parts judged, %s skipped\n' "$([[ $failed == 0 ]] && echo PASS || echo FAIL)" \
      "$checked" "$skipped"
  } >"$summary"
  tar -C "$out" -czf "$out/logs.tar.gz" logs 2>/dev/null && rm -rf "$out/logs"
  echo
  cat "$summary"
  exit "$failed"
}

# ---- the parts that need the full ffn-parity -----------------------------------------------
# torch_parity BACKEND TOKENS SHAPE: the harness's dumps of one backend, then PyTorch on them.
torch_parity() {
  local backend=$1 tokens=$2 shape=$3 device=$4 dir="$work/torch-$1"
  rm -rf "$dir"
  "$ffn" run --backend "$backend" --shape "$shape" --tokens "$tokens" --tp "$tps" --precision bf16 \
    --dump-inputs "$dir/in" --dump-outputs "$dir/out" || return
  "$python" "$root/ci/torch-parity.py" "$dir/in" --device "$device"
  local rc=$?
  rm -rf "$dir"  # gigabytes at 6144 tokens
  return $rc
}
nightly() {
  local dir="$work/nightly"
  rm -rf "$dir"
  FFN_PARITY="$ffn" GPUS="$1" COMM="$2" LAUNCH="$mpirun -np {np}" MODELS="${NIGHTLY_MODELS:-ltx2-video,ltx2-audio,flux2}" \
    TOKENS="${NIGHTLY_TOKENS:-16}" PRECISIONS="${NIGHTLY_PRECISIONS:-bf16,fp8-dynamic,int8}" \
    "$root/ci/nightly-multi-gpu.sh" "$dir"
  local rc=$?
  tar -C "$work" -czf "$out/nightly.tar.gz" nightly
  return $rc
}

export -f torch_parity nightly
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export root out work python

if [[ $mode == smoke ]]; then
  # The script's own flow on CPU: parts, time boxes, the table; tiny dims, the CPU backend.
  ffn="${FFN_PARITY:-$root/build-cpu/harness/ffn-parity}"
  [[ -x $ffn ]] || die "FFN_PARITY=$ffn: not built (cmake --build --preset cpu --target ffn-parity)"
  mpirun="${MPIRUN:-mpirun --allow-run-as-root --oversubscribe --bind-to none}"
  python="${PYTHON:-/usr/bin/python3}"  # Debian's, with python3-torch
  tps=1,2,4
  # The tiny golden alone: quick (every golden: GOLDENS="goldens/*.h5").
  export ffn mpirun tps python NIGHTLY_MODELS=tiny NIGHTLY_PRECISIONS=bf16 GOLDENS="$root/goldens/tiny.h5"
  skip build "cpu smoke"
  if "$python" -c 'import torch, numpy' 2>/dev/null; then
    part torch-cpu 120 '^torch-parity:' torch_parity cpu 8 tiny cpu
    part bench 60 '^path|^sharded' "$python" "$root/ci/torch-bench.py" --dim 64 --inner 256 --tokens 8 --tp 1,2 \
      --device cpu --warmup 1 --reps 3
  else
    skip torch-cpu "no torch/numpy in $python"
    skip bench "no torch/numpy in $python"
  fi
  part nightly 120 '^nightly-multi-gpu:' nightly 2 mpi
  finish
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
device_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1 || true)"

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
part build 180 'Linking|ninja: no work' cmake --build "$build" -j "${JOBS:-$(nproc)}"
[[ ${rows[-1]} == build\|PASS* ]] || { tail -n 40 "$out/logs/build.log" >&2; finish; }
dc="$build/harness/device_check/ffn-parity-device-check"

# ---- device ------------------------------------------------------------------------------------
# has_cuda_device --why prints the device summary, or "no CUDA device: <reason>".
if ! "$build/tests/gpu/has_cuda_device"; then
  die "$("$build/tests/gpu/has_cuda_device" --why || true) (the build is fine; run this on a GPU machine)" 3
fi

# ---- the full ffn-parity, when carried (ci/device-bundle.sh) --------------------------------------
ffn="" mpirun=""
if [[ -e $deps/full.tar.xz ]]; then
  tar -C "$work" -xJf "$deps/full.tar.xz"
  full="$work/full"
  ffn="$full/bin/ffn-parity"
  # NCCL, cuBLASLt, cudart: the toolkit's, else those PyTorch's nvidia-* wheels bring.
  wheel_libs="$("$python" -c 'import importlib, os
for m in ("nccl", "cublas", "cuda_runtime"):
    try:
        print(os.path.join(list(importlib.import_module("nvidia." + m).__path__)[0], "lib"), end=":")
    except ImportError:
        pass' 2>/dev/null || true)"
  export LD_LIBRARY_PATH="$full/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${wheel_libs}${LD_LIBRARY_PATH:-}"
  export OPAL_PREFIX="$full/usr" PMIX_INSTALL_PREFIX="$full/usr/lib/x86_64-linux-gnu/pmix2" \
    OMPI_MCA_mca_base_component_show_load_errors=0
  mpirun="$full/usr/bin/mpirun --allow-run-as-root"
  "$ffn" --version >"$out/logs/ffn-parity-version.log" 2>&1 || { say "the carried ffn-parity does not start:"; cat "$out/logs/ffn-parity-version.log"; ffn=""; }
fi
need_full="no full ffn-parity: carry .device-deps/full.tar.xz (ci/device-bundle.sh)"

tps=1,2,4,8
# The nightly's goldens: the tiny and the LTX-2 video ones (every golden: GOLDENS="goldens/*.h5").
export ffn mpirun tps GOLDENS="${GOLDENS:-$root/goldens/tiny.h5 $root/goldens/ltx2-video.h5}"
tokens="${TOKENS:-6144}"
if [[ -n $ffn ]]; then
  part torch-cuda 120 '^torch-parity:' torch_parity cuda "$tokens" ltx2-video cuda
  part torch-cpu 150 '^torch-parity:' torch_parity cpu "${CPU_TOKENS:-6144}" ltx2-video cuda
else
  skip torch-cuda "$need_full"
  skip torch-cpu "$need_full"
fi
part bench 90 'harness compute time|^sharded +8' bash -c "set -o pipefail; '$dc' --bench | tee '$work/bench.txt' && '$python' '$root/ci/torch-bench.py' --tokens $tokens --against '$work/bench.txt'"
part fp8 75 'outputs agree' "$dc" --shape ltx2-video --tokens 256 --tp "$tps" \
  --precision bf16,fp8-static,fp8-dynamic,fp8-dynamic-tensor,fp8-block,int8,nvfp4
if [[ -n $ffn ]]; then
  part nccl-initall 30 'passed' "$ffn" run --comm nccl --tp 1 --shape ltx2-video --tokens 64 --precision bf16
  part nccl-mpirun 30 'passed' $mpirun -np 1 "$ffn" run --comm nccl --shape ltx2-video --tokens 64 --precision bf16
  part nightly 90 '^nightly-multi-gpu:' nightly 1 nccl
else
  skip nccl-initall "$need_full"
  skip nccl-mpirun "$need_full"
  skip nightly "$need_full"
fi
part catalog 60 'outputs agree' "$dc" --shape all --tokens 64 --tp "$tps" --precision bf16
part gpu-tests 60 'tests passed|tests failed' ctest --test-dir "$build" -L gpu --output-on-failure --timeout 60
finish
