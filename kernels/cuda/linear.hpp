#pragma once
// The CUDA Linear layer, y = x W^T + b, with the interface and rounding points of
// kernels/cpu/linear.hpp: a cuBLASLt GEMM accumulating in fp32, the bias added in fp32 in
// its epilogue, one rounding to the output dtype. Only the summation order differs from the
// CPU reference (and, with Fp32Math::tf32, the fp32 inputs are rounded to TF32).
#include <cuda_runtime_api.h>

#include <span>

#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cuda {

// fp32 GEMMs: exact fp32 products (the default), or TF32 tensor cores (10-bit mantissa inputs).
enum class Fp32Math { strict, tf32 };

// Device tensors in the storage of `dtype` (see device_tensor.hpp): x [tokens, k] with rows
// ldx apart, w [n, k] with rows ldw apart (a rank's column shard of a full weight), bias [n]
// or null, y [tokens, n] packed.
void linear_device(const void* x, std::int64_t ldx, const void* w, std::int64_t ldw, const void* bias, void* y,
                   std::int64_t tokens, std::int64_t n, std::int64_t k, DType dtype, Fp32Math math,
                   cudaStream_t stream);

// Host tensors, as cpu::linear: x, w and bias already on the grid of `out`.
Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias, DType out,
                     Fp32Math math = Fp32Math::strict);

}  // namespace ffn::cuda
