#pragma once
// One TP rank per process, CPU tensors, collectives as real MPI message passing. The sum
// rounds as the AllReduce model of allreduce_model.hpp, bit for bit:
//   ring     a reduce-scatter around the ring (chunk c starts at rank c and each rank adds
//            its own values with ring_hop, rounding at every hop), then an all-gather of the
//            finished chunks around the ring, all by point-to-point messages;
//   others   every rank receives every rank's buffer and sums them itself (reduce_sum);
//   exact    the same with the fp64 sum.
// The group is MPI_COMM_WORLD: its size is the TP size.
#include "harness/launch/mpi_session.hpp"
#include "harness/tp/communicator.hpp"

namespace ffn {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(const MpiSession& session, AllReduceConfig reduction);

  int size() const override { return size_; }
  const std::vector<int>& local_ranks() const override { return rank_; }

  RankTensors all_gather_cols(const RankTensors& local) override;
  // Collective in `observer` too: give one on every rank or on none. With one, each rank
  // learns of every rounding of the whole reduction (the ring's hops are done on different
  // ranks and are exchanged after it), in the order reduce_sum reports them.
  void all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) override;
  void all_reduce_max(RankTensors& local) override;

 private:
  void ring_all_reduce(std::span<float> buffer, DType wire, RoundingObserver* observer);
  // Every rank's `mine`, concatenated in rank order; `counts` receives their lengths.
  std::vector<float> all_gather_values(std::span<const float> mine, std::vector<int>& counts) const;

  AllReduceConfig reduction_;
  int size_ = 1;
  std::vector<int> rank_;
};

}  // namespace ffn
