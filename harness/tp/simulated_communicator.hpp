#pragma once
// All TP ranks in one process, collectives computed from every rank's buffer at once with
// the AllReduce model of allreduce_model.hpp. Deterministic and bit-exact to the model.
#include "harness/tp/communicator.hpp"

namespace ffn {

class SimulatedCommunicator final : public Communicator {
 public:
  SimulatedCommunicator(int tp, AllReduceConfig reduction);

  int size() const override { return static_cast<int>(ranks_.size()); }
  const std::vector<int>& local_ranks() const override { return ranks_; }
  AllReduceModel model() const { return reduction_.model; }

  RankTensors all_gather_cols(const RankTensors& local) override;
  void all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) override;
  void all_reduce_max(RankTensors& local) override;

 private:
  void check_group(const RankTensors& local, const char* op) const;
  void check_same_shape(const RankTensors& local, const char* op) const;

  std::vector<int> ranks_;
  AllReduceConfig reduction_;
};

}  // namespace ffn
