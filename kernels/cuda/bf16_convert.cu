#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "kernels/cuda/bf16_convert.hpp"
#include "kernels/cuda/cuda_check.hpp"

namespace ffn::cuda {

namespace {
__global__ void float_bits_to_bf16(std::uint32_t first, std::size_t n, std::uint16_t* out) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float x = __uint_as_float(first + static_cast<std::uint32_t>(i));
  out[i] = __bfloat16_as_ushort(__float2bfloat16_rn(x));
}
}  // namespace

std::vector<std::uint16_t> device_float_to_bf16_bits(std::uint32_t first_bits, std::size_t count) {
  std::vector<std::uint16_t> host(count);
  std::uint16_t* dev = nullptr;
  check(cudaMalloc(&dev, count * sizeof(std::uint16_t)), "cudaMalloc");
  const unsigned threads = 256;
  const unsigned blocks = static_cast<unsigned>((count + threads - 1) / threads);
  float_bits_to_bf16<<<blocks, threads>>>(first_bits, count, dev);
  const cudaError_t launch = cudaGetLastError();
  const cudaError_t copy =
      launch == cudaSuccess
          ? cudaMemcpy(host.data(), dev, count * sizeof(std::uint16_t), cudaMemcpyDeviceToHost)
          : launch;
  cudaFree(dev);
  check(copy, "float_bits_to_bf16");
  return host;
}

}  // namespace ffn::cuda
