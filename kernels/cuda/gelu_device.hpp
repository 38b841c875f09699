#pragma once
// GELU with the tanh approximation on device tensors: the formula and operation order of
// kernels/cpu/gelu.cpp in fp32 (no FMA contraction), rounded once to the dtype. The device's
// tanhf and the host's may differ by an ulp or two: tests/gpu/cuda_kernels_match_cpu.cpp
// bounds the effect.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/dtype.hpp"

namespace ffn::cuda {

// In place on a device tensor in the storage of `dtype` (device_tensor.hpp).
void gelu_tanh_device(void* values, std::size_t count, DType dtype, cudaStream_t stream);
// In place on float storage holding any values, rounded to `out` (kept as float).
void gelu_tanh_rounded_device(float* values, std::size_t count, DType out, cudaStream_t stream);

}  // namespace ffn::cuda
