#include "kernels/cuda/activation_device.hpp"

#include <stdexcept>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/grid_rounding.cuh"

namespace ffn::cuda {

namespace {

__device__ float gelu_tanh_f32(float x) {
  // The constants as the host forms them: the double literal rounded to float.
  const float k_sqrt_2_over_pi = static_cast<float>(0.79788456080286535587989211986876);
  const float k_cubic = static_cast<float>(0.044715);
  const float cube = __fmul_rn(__fmul_rn(__fmul_rn(k_cubic, x), x), x);
  const float inner = __fmul_rn(k_sqrt_2_over_pi, __fadd_rn(x, cube));
  return __fmul_rn(__fmul_rn(0.5f, x), __fadd_rn(1.0f, tanhf(inner)));
}

__device__ float act_f32(int fn, float x) {
  switch (fn) {
    case 0: return gelu_tanh_f32(x);
    case 1: {
      const float e = erff(__fmul_rn(x, static_cast<float>(0.70710678118654752440084436210485)));
      return __fmul_rn(__fmul_rn(x, 0.5f), __fadd_rn(1.0f, e));
    }
    default: return __fdiv_rn(x, __fadd_rn(1.0f, expf(-x)));
  }
}

// The rounded value goes back into the same storage: float storage keeps the value on the
// dtype's grid, bf16/fp16 storage holds it exactly.
template <class T>
__global__ void gelu_kernel(T* v, std::size_t n, DType dtype) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x)
    store_from_float(v, i, round_to_grid(gelu_tanh_f32(load_as_float(v, i)), dtype));
}

__global__ void activation_kernel(const float* h, float* y, std::int64_t rows, std::int64_t m, DeviceActivation a,
                                  DType out) {
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(m);
  const std::int64_t in_cols = a.gated ? 2 * m : m;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x) {
    const std::int64_t t = static_cast<std::int64_t>(i) / m, k = static_cast<std::int64_t>(i) % m;
    const float f = act_f32(a.fn, h[t * in_cols + k]);
    if (!a.gated) {
      y[i] = round_to_grid(f, out);
      continue;
    }
    const float gate_act = a.native ? round_to_grid(f, out) : f;
    y[i] = round_to_grid(__fmul_rn(gate_act, h[t * in_cols + m + k]), out);
  }
}

template <class T>
void launch(T* v, std::size_t n, DType dtype, cudaStream_t stream) {
  if (n == 0) return;
  gelu_kernel<<<std::min(blocks_for(n, 256), 65535u), 256, 0, stream>>>(v, n, dtype);
  check_launch("gelu_kernel");
}

}  // namespace

void gelu_tanh_device(void* values, std::size_t count, DType dtype, cudaStream_t stream) {
  switch (dtype) {
    case DType::fp32: return launch(static_cast<float*>(values), count, dtype, stream);
    case DType::bf16: return launch(static_cast<__nv_bfloat16*>(values), count, dtype, stream);
    case DType::fp16: return launch(static_cast<__half*>(values), count, dtype, stream);
    case DType::fp64: break;
  }
  throw std::invalid_argument("cuda::gelu: the CUDA backend has no fp64 tensors");
}

void activation_rounded_device(const float* h, float* y, std::int64_t rows, std::int64_t m, DeviceActivation a,
                               DType out, cudaStream_t stream) {
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(m);
  if (n == 0) return;
  activation_kernel<<<std::min(blocks_for(n, 256), 65535u), 256, 0, stream>>>(h, y, rows, m, a, out);
  check_launch("activation_kernel");
}

}  // namespace ffn::cuda
