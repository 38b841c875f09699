#include "harness/launch/backend.hpp"

#include <fmt/format.h>

#include "harness/tp/simulated_communicator.hpp"

#if FFN_PARITY_WITH_CUDA
#include "harness/launch/device_local_communicator.hpp"
#include "kernels/cuda/cublaslt_matmul.hpp"
#include "kernels/cuda/cuda_kernels.hpp"
#include "kernels/cuda/device_query.hpp"
#endif

namespace ffn {

namespace {

// The fp32 GEMMs of the CPU reference go through the BLAS the build links.
Backend make_cpu_backend() {
  Backend b;
  b.name = "cpu";
  b.device = "host CPU";
  b.libraries = "OpenBLAS";
  b.kernels = std::shared_ptr<const Kernels>(&cpu_kernels(), [](const Kernels*) {});
  b.communicator = [](int tp, const AllReduceConfig& m) { return std::make_unique<SimulatedCommunicator>(tp, m); };
  return b;
}

#if FFN_PARITY_WITH_CUDA
Backend make_cuda_backend(bool tf32) {
  const cuda::DeviceStatus status = cuda::query_devices();
  if (status.count == 0) throw BackendUnavailable(status.summary);
  Backend b;
  b.name = "cuda";
  b.device = status.summary;
  b.libraries = cuda::cublaslt_version_string();
  b.kernels = std::make_shared<cuda::CudaKernels>(tf32 ? cuda::Fp32Math::tf32 : cuda::Fp32Math::strict);
  b.communicator = [](int tp, const AllReduceConfig& m) { return std::make_unique<DeviceLocalCommunicator>(tp, m); };
  return b;
}
#endif

}  // namespace

const Backend& cpu_backend() {
  static const Backend b = make_cpu_backend();
  return b;
}

bool cuda_backend_built() {
#if FFN_PARITY_WITH_CUDA
  return true;
#else
  return false;
#endif
}

Backend make_backend(std::string_view name, bool tf32) {
  if (name == "cpu") {
    if (tf32) throw std::invalid_argument("--tf32: only the cuda backend has TF32 GEMMs");
    return cpu_backend();
  }
  if (name == "cuda") {
#if FFN_PARITY_WITH_CUDA
    return make_cuda_backend(tf32);
#else
    throw BackendUnavailable("this build has no CUDA backend (configure with -DFFN_PARITY_CUDA=ON where nvcc exists)");
#endif
  }
  throw std::invalid_argument(fmt::format("unknown backend '{}' (expected cpu or cuda)", name));
}

}  // namespace ffn
