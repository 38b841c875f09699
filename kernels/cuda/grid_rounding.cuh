#pragma once
// Device-side rounding onto the grid of a DType, exactly as kernels/rounding.hpp does on the
// host (round to nearest even, overflow to inf, NaN stays NaN): the hardware conversions
// __float2bfloat16_rn and __float2half_rn, which tests/gpu check against the host bit for bit.
// Arithmetic that must round where the host rounds uses __fadd_rn/__fmul_rn, which nvcc never
// contracts into an FMA.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstddef>

#include "kernels/dtype.hpp"

namespace ffn::cuda {

__device__ inline float round_to_grid(float x, DType t) {
  switch (t) {
    case DType::bf16: return __bfloat162float(__float2bfloat16_rn(x));
    case DType::fp16: return __half2float(__float2half_rn(x));
    default: return x;
  }
}

// From fp64 in one step (no double rounding through fp32).
__device__ inline float round_to_grid(double x, DType t) {
  switch (t) {
    case DType::bf16: return __bfloat162float(__double2bfloat16(x));
    case DType::fp16: return __half2float(__double2half(x));
    default: return __double2float_rn(x);
  }
}

// Element storage of a device tensor in dtype t: float, __nv_bfloat16 or __half.
__device__ inline float load_as_float(const float* p, std::size_t i) { return p[i]; }
__device__ inline float load_as_float(const __nv_bfloat16* p, std::size_t i) { return __bfloat162float(p[i]); }
__device__ inline float load_as_float(const __half* p, std::size_t i) { return __half2float(p[i]); }
// x already lies on the storage's grid (or the storage is float holding a rounded value).
__device__ inline void store_from_float(float* p, std::size_t i, float x) { p[i] = x; }
__device__ inline void store_from_float(__nv_bfloat16* p, std::size_t i, float x) { p[i] = __float2bfloat16_rn(x); }
__device__ inline void store_from_float(__half* p, std::size_t i, float x) { p[i] = __float2half_rn(x); }

inline unsigned blocks_for(std::size_t n, unsigned threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace ffn::cuda
