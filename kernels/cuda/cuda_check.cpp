#include "kernels/cuda/cuda_check.hpp"

#include <fmt/format.h>

namespace ffn::cuda {

void check(cudaError_t err, const char* call) {
  if (err != cudaSuccess)
    throw CudaError(fmt::format("{} failed: {} ({})", call, cudaGetErrorName(err), cudaGetErrorString(err)));
}

void check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) throw CudaError(fmt::format("{} failed: {}", call, cublasLtGetStatusName(status)));
}

void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace ffn::cuda
