#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "kernels/cuda/device_query.hpp"

namespace ffn::cuda {

DeviceStatus query_devices() {
  DeviceStatus s;
  // Without a driver cudaGetDeviceCount fails and leaves the count unwritten.
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    s.summary = fmt::format("no CUDA device: {} ({})", cudaGetErrorName(err), cudaGetErrorString(err));
    return s;
  }
  if (count == 0) {
    s.summary = "no CUDA device: the driver reports none";
    return s;
  }
  s.count = count;
  s.summary = fmt::format("{} CUDA device{}:", count, count > 1 ? "s" : "");
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d) == cudaSuccess)
      s.summary += fmt::format("{} {} (sm_{}{})", d ? "," : "", p.name, p.major, p.minor);
  }
  return s;
}

}  // namespace ffn::cuda
