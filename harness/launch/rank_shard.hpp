#pragma once
// What one TP rank's process keeps of a checkpoint when its ranks run as separate processes:
// the parts the loaders of both paths give rank r, everything else overwritten with NaN.
//   proj_in   rows r of the weight and of the bias (column-parallel in both paths);
//   proj_out  rows r (the allgather path's column-parallel layer) and columns r (the sharded
//             path's row-parallel layer) of the weight; the bias slice r, and the whole bias
//             on rank 0, which adds it in the row-parallel layer;
//   quantized the same regions of the codes, and every scale a kept code uses (per-tensor
//             scales are replicated, per-channel and block scales go with their rows/blocks).
// A rank that read another rank's weights would compute NaN and fail the bit-for-bit
// comparison with the in-process run, so the MPI tests show each process uses only its shard.
#include "harness/tp/ffn_paths.hpp"

namespace ffn {

void keep_rank_shard(FfnWeights& weights, int rank, int tp);

}  // namespace ffn
