#pragma once
// Every CUDA runtime and cuBLAS call goes through check(): a failure becomes one exception
// whose message names the call and the library's own name for the error.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <stdexcept>

namespace ffn::cuda {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "cudaMalloc failed: cudaErrorMemoryAllocation (out of memory)"
void check(cudaError_t err, const char* call);
// "cublasLtMatmul failed: CUBLAS_STATUS_NOT_SUPPORTED"
void check(cublasStatus_t status, const char* call);
// After a kernel launch: the launch error, if any, named after the kernel.
void check_launch(const char* kernel);

}  // namespace ffn::cuda
