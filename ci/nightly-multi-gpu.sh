#!/usr/bin/env bash
# The nightly multi-GPU parity job. Finds the GPUs, then for every model and every tp in
# 1,2,4,8 up to the GPU count that the model's serving stack allows, launches one process per GPU
# (AllReduce and AllGather by NCCL, `--comm nccl`) and
#   - runs the full matrix (every precision and quantization scheme, ring AllReduce model for
#     the budgets) at the model's dims: JSON, JUnit XML and the HTML report, named
#     <what>-<model>-tp<tp>;
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
#   MODELS       comma-separated models of the catalog (`ffn-parity list models`) or shape
#                presets (default: all, every model of the catalog)
#   TOKENS       the token count (default 64)
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

# The catalog's models with the tp sizes their stack allows: "id 1,2,4" per line (`list models`:
# model hidden inner act gated bias tp ...).
catalog=$("$bin" list models | awk '$2 ~ /^[0-9]+$/ { print $1, $7 }') ||
  fail "$bin list models failed"
models="${MODELS:-all}"
[ "$models" = all ] && models=$(awk '{ print $1 }' <<<"$catalog" | paste -sd, -)
[ -n "$models" ] || fail "no model to run (MODELS is empty)"

goldens=()
if [ -n "${GOLDENS:-}" ]; then
  read -r -a goldens <<<"$GOLDENS"
else
  for g in goldens/*.h5; do
    case "$g" in *frames*) ;; *) goldens+=("$g") ;; esac
  done
fi

np_placeholder='{np}'
# NCCL runs pinned to its Ring (the model nccl-ring predicts); MPI ranks run the generic ring.
allreduce=ring
[ "$comm" = nccl ] && allreduce=nccl-ring
status=0
summary=()
for model in ${models//,/ }; do
  # A shape preset that is no catalog model runs every tp.
  allowed=$(awk -v m="$model" '$1 == m { print $2 }' <<<"$catalog")
  allowed="${allowed:-1,2,4,8}"
  for tp in 1 2 4 8; do
    [ "$tp" -le "$GPUS" ] || break
    [[ ",$allowed," == *",$tp,"* ]] || continue
    read -r -a cmd <<<"${launch//$np_placeholder/$tp}"
    echo "== $model tp $tp: ${cmd[*]} $bin ..."
    "${cmd[@]}" "$bin" run --comm "$comm" --tp "$tp" --shape "$model" --tokens "$tokens" \
      --precision "$precisions" --allreduce "$allreduce" --format json \
      --junit "$out/run-$model-tp$tp.xml" --report "$out/report-$model-tp$tp" >"$out/run-$model-tp$tp.json"
    rc=$?
    summary+=("run $model tp $tp: exit $rc")
    [ $rc -eq 0 ] || status=1
  done
done
for tp in 1 2 4 8; do
  [ "$tp" -le "$GPUS" ] || break
  read -r -a cmd <<<"${launch//$np_placeholder/$tp}"
  # NCCL is pinned once per process to the cases' model: the goldens' ring cases (the generic
  # budget) run on NCCL's Ring; the other models are no NCCL algorithm.
  only=()
  [ "$comm" = nccl ] && only=(--allreduce ring)
  "${cmd[@]}" "$bin" golden check --comm "$comm" "${only[@]}" --junit "$out/golden-tp$tp.xml" "${goldens[@]}" \
    >"$out/golden-tp$tp.txt"
  rc=$?
  summary+=("golden check tp $tp: exit $rc")
  [ $rc -eq 0 ] || status=1
done

printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
echo "nightly-multi-gpu: $([ $status -eq 0 ] && echo PASS || echo FAIL), results in $out/ (JSON, JUnit XML, HTML reports)"
exit "$status"
