#pragma once
// The collectives a tensor-parallel FFN needs, over the TP ranks this process holds.
// In-process simulation holds all ranks; an MPI or NCCL communicator holds one (or, for
// single-process multi-GPU, several). Tensors are passed per local rank, in the order of
// local_ranks().
#include <vector>

#include "harness/tp/allreduce_model.hpp"
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn {

using RankTensors = std::vector<Matrix<float>>;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int size() const = 0;
  virtual const std::vector<int>& local_ranks() const = 0;

  // Concatenate every rank's tensor along the last dimension, in rank order; each local
  // rank receives the full result. Exact: no arithmetic.
  virtual RankTensors all_gather_cols(const RankTensors& local) = 0;
  // Sum over all ranks, element-wise, rounded as the communicator's AllReduce model does on
  // the wire dtype; each local rank receives the (identical) result. The observer, when
  // given, is told of every rounding for local rank 0's copy of the result.
  virtual void all_reduce_sum(RankTensors& local, DType wire,
                              RoundingObserver* observer = nullptr) = 0;
  // Element-wise maximum over all ranks (exact); used to agree on quantization scales.
  virtual void all_reduce_max(RankTensors& local) = 0;
};

}  // namespace ffn
