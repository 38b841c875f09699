#pragma once
// Products in the layout of a Linear layer: out[m, n] = sum_k x[m, k] * w[n, k] (x W^T).
// fp32 goes through OpenBLAS sgemm: with bf16/fp16 operands every product is exact in fp32
// (8x8 and 11x11 significand bits fit in 24), so the result is an fp32-accumulated dot
// product, the arithmetic of a tensor-core GEMM with fp32 accumulation up to summation order.
#include "kernels/matrix.hpp"

namespace ffn::cpu {

Matrix<float> gemm_xwt(MatrixView<float> x, MatrixView<float> w);
Matrix<double> gemm_xwt(MatrixView<double> x, MatrixView<double> w);

}  // namespace ffn::cpu
