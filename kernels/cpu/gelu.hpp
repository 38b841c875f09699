#pragma once
// GELU with the tanh approximation, as PyTorch's GELU(approximate="tanh"):
//   gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
// Low-precision activations are computed in fp32 on the stored input and rounded once.
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cpu {

float gelu_tanh(float x);    // fp32 arithmetic throughout
double gelu_tanh(double x);  // the fp64 reference

void gelu_tanh_inplace(Matrix<float>& m, DType out);  // fp32 math, one rounding to `out`
void gelu_tanh_inplace(Matrix<double>& m);

// GELU in its exact erf form, as PyTorch's GELU(approximate="none"):
//   gelu(x) = 0.5 x (1 + erf(x / sqrt 2)), fp32 math, one rounding to `out`.
void gelu_erf_inplace(Matrix<float>& m, DType out);

}  // namespace ffn::cpu
