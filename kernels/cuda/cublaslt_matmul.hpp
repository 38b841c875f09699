#pragma once
// The one cuBLASLt call of the backend: y = x w^T in the layout of a Linear layer (row-major
// x [tokens, k], w [n, k], y [tokens, n]), optionally batched over slices of k, with the bias
// added in the epilogue. Row-major x w^T is column-major w^T x: cuBLASLt's "TN" form, the
// one its FP8 and INT8 kernels require.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace ffn::cuda {

struct MatmulOperands {
  const void* x = nullptr;
  const void* w = nullptr;
  void* y = nullptr;
  const void* bias = nullptr;  // n elements of out_type, added in fp32 before the rounding to out_type
  cudaDataType_t in_type = CUDA_R_32F, out_type = CUDA_R_32F;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  std::int64_t tokens = 0, n = 0, k = 0;
  std::int64_t ldx = 0, ldw = 0;  // elements between consecutive rows of x and of w
  // batches > 1: batch b multiplies x[:, b*k:(b+1)*k] by w[:, b*k:(b+1)*k] into y + b*tokens*n.
  int batches = 1;
};

void matmul_xwt(const MatmulOperands& op, cudaStream_t stream);

// "cuBLASLt 130100 (CUDA runtime 13000)" for provenance.
const char* cublaslt_version_string();

}  // namespace ffn::cuda
