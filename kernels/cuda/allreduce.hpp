#pragma once
// The AllReduce models of harness/tp/allreduce_model.hpp as a device kernel, for TP ranks whose
// buffers all live on one GPU (harness/launch/device_local_communicator.hpp). The host builds a
// model's plan (allreduce_plan: for each element the ranks in the order the implementation adds
// them, and whether it rounds each add to the wire dtype, once from fp32 or once from fp64); the
// kernel carries it out with the roundings of the host executor, so the result equals
// reduce_sum's bit for bit for every model, and the layouts are written only once.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

#include "kernels/cuda/device_buffer.hpp"
#include "kernels/dtype.hpp"
#include "kernels/reduction_plan.hpp"

namespace ffn::cuda {

inline constexpr int k_max_device_ranks = 64;

// A reduction plan copied to the device, once for as many reductions as use it.
class DevicePlan {
 public:
  // Throws std::invalid_argument for more ranks than k_max_device_ranks or a plan whose segments
  // do not cover its elements.
  explicit DevicePlan(const ReductionPlan& plan);

  ReductionAccumulate accumulate() const { return accumulate_; }
  ReductionStart start() const { return start_; }
  int ranks() const { return ranks_; }
  std::size_t count() const { return count_; }
  std::size_t segments() const { return begin_.size(); }
  const std::size_t* begin() const { return begin_.get(); }
  const int* order() const { return order_.get(); }

 private:
  ReductionAccumulate accumulate_;
  ReductionStart start_;
  int ranks_;
  std::size_t count_;
  DeviceBuffer<std::size_t> begin_;
  DeviceBuffer<int> order_;
};

// inputs: one device buffer per rank, in rank order, plan.count() elements each. Storage: float
// holding values on the wire's grid (`typed` false), or the wire dtype's own storage
// (device_tensor.hpp). Throws std::invalid_argument when the inputs do not match the plan.
void all_reduce_device(const DevicePlan& plan, DType wire, const std::vector<const void*>& inputs, void* out,
                       bool typed, cudaStream_t stream);
// Element-wise maximum over the ranks' float buffers (exact).
void all_reduce_max_device(const std::vector<const float*>& inputs, float* out, std::size_t count, cudaStream_t stream);

}  // namespace ffn::cuda
