#!/usr/bin/env bash
# The nightly multi-GPU parity job. Finds the GPUs, then for every tp in 1,2,4,8 up to the GPU
# count launches one process per GPU (AllReduce and AllGather by NCCL, `--comm nccl`) and
#   - runs the full matrix (every precision and quantization scheme, ring AllReduce model for
#     the budgets) at LTX-2 video dims: JSON, JUnit XML and the HTML report;
#   - checks the committed goldens' cases of that tp (golden check --comm nccl): JUnit XML.
# Every step runs even when an earlier one failed; the exit status is non-zero if any failed.
#
#   ci/nightly-multi-gpu.sh [OUT_DIR]            (default: nightly-out)
# Environment:
#   FFN_PARITY   the binary (default build/harness/ffn-parity; built with ci/build.sh if missing)
#   LAUNCH       the launch line with {np} for the process count
#                (default "mpirun -np {np}"; several nodes: "srun --ntasks={np} --mpi=pmix")
#   GPUS         GPUs in the job (default: `nvidia-smi -L` on this node)
#   PRECISIONS   comma-separated (default: all of them; the CPU-side kernels emulate every
#                scheme, so every one runs whatever the GPU generation)
#   SHAPE TOKENS the run's shape preset and token count (default ltx2-video, 64)
#   GOLDENS      space-separated golden files (default: goldens/*.h5 but the frame goldens,
#                whose rollouts run in one process and stay with ci/parity-job.sh)
#   COMM         the communicator (default nccl; `mpi` runs the same job on CPU ranks, which
#                is how ctest checks this script on machines without GPUs)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-nightly-out}"
bin="${FFN_PARITY:-build/harness/ffn-parity}"
default_launch='mpirun -np {np}'  # (a literal "}" would end ${LAUNCH:-...} early)
launch="${LAUNCH:-$default_launch}"
precisions="${PRECISIONS:-fp32,bf16,fp16,fp8-static,fp8-dynamic,fp8-dynamic-tensor,fp8-block,int8,nvfp4}"
shape="${SHAPE:-ltx2-video}"
tokens="${TOKENS:-64}"
comm="${COMM:-nccl}"

fail() { echo "nightly-multi-gpu: error: $*" >&2; exit 2; }

if [ -z "${GPUS:-}" ]; then
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver on this machine"
  GPUS=$(nvidia-smi -L | grep -c '^GPU ') || true
fi
[[ "$GPUS" =~ ^[0-9]+$ ]] && [ "$GPUS" -ge 1 ] || fail "no GPU found (nvidia-smi -L lists none)"
if [ ! -x "$bin" ]; then
  ./ci/build.sh default || fail "build failed"
fi
mkdir -p "$out" || fail "cannot create $out"

goldens=()
if [ -n "${GOLDENS:-}" ]; then
  read -r -a goldens <<<"$GOLDENS"
else
  for g in goldens/*.h5; do
    case "$g" in *frames*) ;; *) goldens+=("$g") ;; esac
  done
fi

np_placeholder='{np}'
status=0
summary=()
for tp in 1 2 4 8; do
  [ "$tp" -le "$GPUS" ] || break
  read -r -a cmd <<<"${launch//$np_placeholder/$tp}"
  echo "== tp $tp: ${cmd[*]} $bin ..."
  "${cmd[@]}" "$bin" run --comm "$comm" --tp "$tp" --shape "$shape" --tokens "$tokens" \
    --precision "$precisions" --allreduce ring --format json \
    --junit "$out/run-tp$tp.xml" --report "$out/report-tp$tp" >"$out/run-tp$tp.json"
  rc=$?
  summary+=("run tp $tp: exit $rc")
  [ $rc -eq 0 ] || status=1
  "${cmd[@]}" "$bin" golden check --comm "$comm" --junit "$out/golden-tp$tp.xml" "${goldens[@]}" \
    >"$out/golden-tp$tp.txt"
  rc=$?
  summary+=("golden check tp $tp: exit $rc")
  [ $rc -eq 0 ] || status=1
done

printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
echo "nightly-multi-gpu: $([ $status -eq 0 ] && echo PASS || echo FAIL), results in $out/ (JSON, JUnit XML, HTML reports)"
exit "$status"
