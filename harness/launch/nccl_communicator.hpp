#pragma once
// TP ranks on GPUs, collectives by NCCL, on host tensors: each call copies the local ranks'
// buffers to their devices, runs the NCCL collective and copies the result back.
//   AllGather  fp32 (exact: the values move unchanged, whatever grid they lie on);
//   AllReduce  sum in the wire dtype (bf16, fp16 or fp32), rounded however NCCL's chosen
//              algorithm rounds (pinned by `run` to the case's nccl-* model, RankLaunch::
//              pin_reduction); an observer is told of the roundings the case's AllReduce model
//              makes on the same partials;
//   max        fp32, exact (quantization scales).
// Every NCCL and CUDA call of the project is in nccl_communicator.cpp; a failing call throws
// NcclError, one line naming the call.
#include <functional>
#include <memory>
#include <stdexcept>

#include "harness/tp/communicator.hpp"

namespace ffn {

class NcclError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// CUDA devices visible to this process; throws NcclError when there are none or no driver.
int cuda_device_count();
// The version code of the NCCL library this process loaded (ncclGetVersion).
int nccl_loaded_version();

class NcclCommunicator final : public Communicator {
 public:
  // Sends `bytes` at `data` from rank 0 to every process (the NCCL unique id).
  using Broadcast = std::function<void(void* data, int bytes)>;

  // One process per GPU: this process is `rank` of `world`, on device `device`.
  static std::unique_ptr<NcclCommunicator> per_process(int rank, int world, int device,
                                                       const Broadcast& broadcast,
                                                       AllReduceConfig observed_model);
  // One process driving devices 0 .. tp-1, one rank each (ncclCommInitAll).
  static std::unique_ptr<NcclCommunicator> single_process(int tp, AllReduceConfig observed_model);
  ~NcclCommunicator() override;

  int size() const override { return size_; }
  const std::vector<int>& local_ranks() const override { return ranks_; }

  RankTensors all_gather_cols(const RankTensors& local) override;
  void all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) override;
  void all_reduce_max(RankTensors& local) override;

 private:
  struct Rank;  // a local rank's device, stream and NCCL communicator
  NcclCommunicator(int size, std::vector<int> ranks, AllReduceConfig observed_model);
  void check_local(const RankTensors& local, const char* op) const;

  int size_;
  std::vector<int> ranks_;
  AllReduceConfig observed_model_;
  std::vector<std::unique_ptr<Rank>> local_;
};

}  // namespace ffn
