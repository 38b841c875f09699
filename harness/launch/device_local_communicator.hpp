#pragma once
// Several TP ranks on one GPU: every collective runs on device buffers with the device kernels
// of kernels/cuda/allreduce.hpp, which carry out the plan of the AllReduce model
// (allreduce_plan of allreduce_model.hpp) exactly as reduce_sum does on the host (tests/gpu
// check every model bit for bit). A one-GPU machine thereby tests
// tp > 1, which NCCL refuses (two ranks on one device). Host tensors in and out, as the
// Communicator interface wants; the bench uses the device-resident kernels directly.
#include "harness/tp/communicator.hpp"

namespace ffn {

class DeviceLocalCommunicator final : public Communicator {
 public:
  // Throws std::invalid_argument for a tp outside 1..64, a ring order that does not fit tp, and
  // the truncating fault (fault injection reduces on the host: fault_injection.cpp).
  DeviceLocalCommunicator(int tp, AllReduceConfig reduction);

  int size() const override { return static_cast<int>(ranks_.size()); }
  const std::vector<int>& local_ranks() const override { return ranks_; }

  RankTensors all_gather_cols(const RankTensors& local) override;
  // The observer is told of the roundings by the host model (reduce_sum), which performs the
  // very roundings the device kernel does.
  void all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) override;
  void all_reduce_max(RankTensors& local) override;

 private:
  std::vector<int> ranks_;
  AllReduceConfig reduction_;
};

}  // namespace ffn
