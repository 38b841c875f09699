#pragma once
// The AllReduce models of harness/tp/allreduce_model.hpp as device kernels, for TP ranks whose
// buffers all live on one GPU (harness/launch/device_local_communicator.hpp). Each element is
// reduced in the model's order with the model's roundings (ring: the same chunk assignment,
// an fp32 add rounded to the wire dtype per hop; oneshot: fp32 in rank order, one rounding;
// exact: fp64, one rounding), so the result equals reduce_sum's bit for bit.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

#include "kernels/dtype.hpp"

namespace ffn::cuda {

inline constexpr int k_max_device_ranks = 64;

// The models of harness/tp/allreduce_model.hpp that have a device kernel (the communicator maps
// AllReduceModel onto these; device code cannot include the C++20 harness headers).
enum class DeviceReduction { ring, oneshot, exact };

// inputs: one device buffer per rank, in rank order. Storage: float holding values on the
// wire's grid (`typed` false), or the wire dtype's own storage (device_tensor.hpp).
void all_reduce_device(DeviceReduction model, DType wire, const std::vector<const void*>& inputs, void* out,
                       std::size_t count, bool typed, cudaStream_t stream);
// Element-wise maximum over the ranks' float buffers (exact).
void all_reduce_max_device(const std::vector<const float*>& inputs, float* out, std::size_t count, cudaStream_t stream);

}  // namespace ffn::cuda
