#include "kernels/cuda/quantize_kernels.hpp"

#include <cuda_fp8.h>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/grid_rounding.cuh"

namespace ffn::cuda {

namespace {

// x / scale on the format's grid (not scaled back), as quantize_value.
__device__ float quantize_scaled(float v, bool int8) {
  // Through an integer, as the CPU's int8_round_sym: a small negative value gives +0, not -0.
  if (int8) return static_cast<float>(__float2int_rn(fminf(fmaxf(v, -127.0f), 127.0f)));
  const __nv_fp8_storage_t code = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
  return __half2float(__half(__nv_cvt_fp8_to_halfraw(code, __NV_E4M3)));
}

constexpr unsigned k_threads = 256;

unsigned grid_for(std::int64_t n) { return std::min(blocks_for(static_cast<std::size_t>(n), k_threads), 65535u); }

// One CUDA block per scale block.
__global__ void amax_kernel(const float* x, ScaleGrid g, float* amax) {
  const std::int64_t b = blockIdx.x, bi = b / g.scale_cols, bj = b % g.scale_cols;
  const std::int64_t r0 = bi * g.block_rows, r1 = min(g.rows, r0 + g.block_rows);
  const std::int64_t c0 = bj * g.block_cols, c1 = min(g.cols, c0 + g.block_cols);
  const std::int64_t width = c1 - c0, count = (r1 - r0) * width;
  float m = 0;
  for (std::int64_t e = threadIdx.x; e < count; e += blockDim.x)
    m = fmaxf(m, fabsf(x[(r0 + e / width) * g.cols + c0 + e % width]));
  __shared__ float partial[k_threads];
  partial[threadIdx.x] = m;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) partial[threadIdx.x] = fmaxf(partial[threadIdx.x], partial[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) amax[b] = partial[0];
}

__global__ void scales_kernel(const float* amax, float* scales, std::int64_t n, float qmax) {
  const std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (i < n) scales[i] = __fdiv_rn(amax[i], qmax);
}

__global__ void quantize_kernel(const float* x, ScaleGrid g, const float* scales, bool int8, float* values) {
  const std::int64_t n = g.rows * g.cols;
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < n; e += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t i = e / g.cols, j = e % g.cols;
    const float s = scales[(i / g.block_rows) * g.scale_cols + j / g.block_cols];
    // A block of zeros has scale 0: its codes are 0 whatever the scale.
    values[e] = s == 0 ? 0.0f : quantize_scaled(__fdiv_rn(x[e], s), int8);
  }
}

__global__ void codes_kernel(const float* v, std::int64_t n, bool int8, void* out) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < n; e += std::int64_t{gridDim.x} * blockDim.x) {
    if (int8)
      static_cast<signed char*>(out)[e] = static_cast<signed char>(__float2int_rn(v[e]));
    else
      static_cast<__nv_fp8_storage_t*>(out)[e] = __nv_cvt_float_to_fp8(v[e], __NV_SATFINITE, __NV_E4M3);
  }
}

template <class Partial>
__global__ void epilogue_kernel(EpilogueArgs a, const Partial* partials) {
  const std::int64_t count = a.tokens * a.n;
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < count; e += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t t = e / a.n, j = e % a.n;
    float acc = 0;
    for (std::int64_t b = 0; b < a.batches; ++b) {
      const std::int64_t k0 = b * a.k_block;
      const float sx = a.x_scales[(t / a.x_block_rows) * a.x_scale_cols + k0 / a.x_block_cols];
      const float sw = a.w_scales[(j / a.w_block_rows) * a.w_scale_cols + k0 / a.w_block_cols];
      const float p = static_cast<float>(partials[b * count + e]);  // int32: one correct rounding, as the CPU's
      acc = __fadd_rn(acc, __fmul_rn(__fmul_rn(sx, sw), p));
    }
    if (a.global != 1.0f) acc = __fmul_rn(acc, a.global);
    if (a.bias) acc = __fadd_rn(acc, a.bias[j]);
    a.y[e] = round_to_grid(acc, a.out);
  }
}

}  // namespace

void block_amax_device(const float* x, const ScaleGrid& g, float* amax, cudaStream_t stream) {
  const std::int64_t blocks = g.scale_rows * g.scale_cols;
  if (blocks == 0) return;
  amax_kernel<<<static_cast<unsigned>(blocks), k_threads, 0, stream>>>(x, g, amax);
  check_launch("amax_kernel");
}

void scales_from_amax_device(const float* amax, float* scales, std::int64_t count, float qmax, cudaStream_t stream) {
  if (count == 0) return;
  scales_kernel<<<blocks_for(static_cast<std::size_t>(count), k_threads), k_threads, 0, stream>>>(amax, scales, count, qmax);
  check_launch("scales_kernel");
}

void quantize_values_device(const float* x, const ScaleGrid& g, const float* scales, bool int8, float* values,
                            cudaStream_t stream) {
  if (g.rows * g.cols == 0) return;
  quantize_kernel<<<grid_for(g.rows * g.cols), k_threads, 0, stream>>>(x, g, scales, int8, values);
  check_launch("quantize_kernel");
}

void codes_device(const float* values, std::int64_t count, bool int8, void* codes, cudaStream_t stream) {
  if (count == 0) return;
  codes_kernel<<<grid_for(count), k_threads, 0, stream>>>(values, count, int8, codes);
  check_launch("codes_kernel");
}

void quantized_epilogue_device(const EpilogueArgs& a, cudaStream_t stream) {
  if (a.tokens * a.n == 0) return;
  if (a.int32_partials)
    epilogue_kernel<<<grid_for(a.tokens * a.n), k_threads, 0, stream>>>(a, static_cast<const std::int32_t*>(a.partials));
  else
    epilogue_kernel<<<grid_for(a.tokens * a.n), k_threads, 0, stream>>>(a, static_cast<const float*>(a.partials));
  check_launch("epilogue_kernel");
}

}  // namespace ffn::cuda
