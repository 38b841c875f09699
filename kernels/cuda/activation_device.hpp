#pragma once
// The MLP activations on device tensors: the formulas and operation order of
// kernels/cpu/activation.cpp in fp32 (no FMA contraction), rounded where the CPU kernel rounds.
// The device's tanhf/erff/expf and the host's may differ by an ulp or two:
// tests/gpu/cuda_activation.cpp bounds the effect. Device code is C++17, so the activation is
// passed as its parts (kernels/activation.hpp is C++20).
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/dtype.hpp"

namespace ffn::cuda {

// ActFn as an integer: 0 gelu-tanh, 1 gelu (erf), 2 silu (the enum's order).
struct DeviceActivation {
  int fn = 0;
  bool gated = false;
  bool native = false;  // gated: round f's output before the product
};

// GELU-tanh in place on a device tensor in the storage of `dtype` (device_tensor.hpp).
void gelu_tanh_device(void* values, std::size_t count, DType dtype, cudaStream_t stream);
// y[t, k] = act(h[t, k]) (ungated, h [rows, m]) or f(h[t, k]) * h[t, m + k] (gated, h [rows, 2m]),
// float storage, rounded to `out` (kept as float).
void activation_rounded_device(const float* h, float* y, std::int64_t rows, std::int64_t m,
                               DeviceActivation a, DType out, cudaStream_t stream);

}  // namespace ffn::cuda
