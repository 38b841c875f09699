#include "kernels/cuda/device_tensor.hpp"

#include <stdexcept>

#include "kernels/cuda/grid_rounding.cuh"

namespace ffn::cuda {

namespace {
template <class To, class From>
__global__ void convert_kernel(const From* in, To* out, std::size_t n) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x)
    store_from_float(out, i, load_as_float(in, i));
}

template <class To, class From>
void convert(const From* in, To* out, std::size_t n, cudaStream_t stream) {
  if (n == 0) return;
  convert_kernel<<<std::min(blocks_for(n, 256), 65535u), 256, 0, stream>>>(in, out, n);
  check_launch("convert_kernel");
}
}  // namespace

std::size_t storage_bytes(DType t) {
  switch (t) {
    case DType::fp32: return 4;
    case DType::bf16:
    case DType::fp16: return 2;
    case DType::fp64: break;
  }
  throw std::invalid_argument("the CUDA backend has no fp64 tensors");
}

cudaDataType_t cuda_data_type(DType t) {
  switch (t) {
    case DType::fp32: return CUDA_R_32F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::fp16: return CUDA_R_16F;
    case DType::fp64: break;
  }
  throw std::invalid_argument("the CUDA backend has no fp64 tensors");
}

DeviceTensor to_storage(const float* device_values, std::size_t count, DType t, cudaStream_t stream) {
  DeviceTensor out{t, count, DeviceBuffer<unsigned char>(count * storage_bytes(t))};
  switch (t) {
    case DType::fp32:
      check(cudaMemcpyAsync(out.data(), device_values, count * 4, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync");
      break;
    case DType::bf16: convert(device_values, static_cast<__nv_bfloat16*>(out.data()), count, stream); break;
    case DType::fp16: convert(device_values, static_cast<__half*>(out.data()), count, stream); break;
    case DType::fp64: break;
  }
  return out;
}

void to_float(const DeviceTensor& t, float* device_values, cudaStream_t stream) {
  switch (t.dtype) {
    case DType::fp32:
      check(cudaMemcpyAsync(device_values, t.data(), t.count * 4, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync");
      break;
    case DType::bf16: convert(static_cast<const __nv_bfloat16*>(t.data()), device_values, t.count, stream); break;
    case DType::fp16: convert(static_cast<const __half*>(t.data()), device_values, t.count, stream); break;
    case DType::fp64: break;
  }
}

}  // namespace ffn::cuda
