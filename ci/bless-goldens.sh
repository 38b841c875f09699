#!/usr/bin/env bash
# Re-blesses the committed goldens of the CI matrix. Only for an intended numerical change,
# reviewed with `ffn-parity golden diff OLD NEW` first (README: "Goldens").
set -euo pipefail
cd "$(dirname "$0")/.."
# Configure again so the goldens record the commit they were blessed at.
cmake --preset default >/dev/null
cmake --build --preset default >/dev/null
bin=./build/harness/ffn-parity
common=(--tp 1,2,4,8 --precision fp32,bf16,fp16 --allreduce ring,oneshot --seed 0)
"$bin" golden bless --shape tiny "${common[@]}" --inputs full -o goldens/tiny.h5 "$@"
"$bin" golden bless --shape ltx2-video --tokens 4 "${common[@]}" --inputs seeded -o goldens/ltx2-video.h5 "$@"
"$bin" golden bless --shape ltx2-audio --tokens 4 "${common[@]}" --inputs seeded -o goldens/ltx2-audio.h5 "$@"
"$bin" golden bless --shape small --tp 1,2 --precision fp8-static,fp8-dynamic,fp8-dynamic-tensor,fp8-block,int8,nvfp4 \
  --allreduce ring,oneshot --seed 0 --inputs seeded -o goldens/small-quant.h5 "$@"
"$bin" golden bless --shape tiny --tp 1,2,4 --precision bf16,fp8-dynamic,nvfp4 --seed 0 --inputs full \
  --frames --patch 8 -o goldens/tiny-frames.h5 "$@"
# MLPs of the model catalog beyond LTX-2 (issue 16): two gated without bias, one ungated with
# bias, LTX-2.5's video FFN without bias; 2 tokens at full dims, bf16, at the tp sizes each
# model's stack allows.
for model in flux2 z-image wan2.1-1.3b ltx2-video-nobias; do
  "$bin" golden bless --model "$model" --tokens 2 --precision bf16 --allreduce ring --seed 0 --inputs seeded \
    -o "goldens/$model.h5" "$@"
done
