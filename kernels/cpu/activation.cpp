#include "kernels/cpu/activation.hpp"

#include <cmath>
#include <stdexcept>

#include "kernels/rounding.hpp"

namespace ffn::cpu {

namespace {
template <class T>
T act_in(ActFn f, T x) {
  const T half = static_cast<T>(0.5), one = static_cast<T>(1);
  switch (f) {
    case ActFn::gelu_tanh: {
      const T k_sqrt_2_over_pi = static_cast<T>(0.79788456080286535587989211986876);
      const T k_cubic = static_cast<T>(0.044715);
      const T inner = k_sqrt_2_over_pi * (x + k_cubic * x * x * x);
      return half * x * (one + std::tanh(inner));
    }
    case ActFn::gelu:
      // PyTorch's GeluKernel (aten/src/ATen/native/cpu/Activation.cpp, GeluKernelImpl):
      // x * 0.5 * (1 + erf(x * M_SQRT1_2)) in the opmath type.
      return x * half * (one + std::erf(x * static_cast<T>(0.70710678118654752440084436210485)));
    case ActFn::silu:
      // PyTorch's silu_kernel (aten/src/ATen/native/cpu/Activation.cpp): x / (1 + exp(-x)).
      return x / (one + std::exp(-x));
  }
  return x;
}

std::int64_t output_cols(const Activation& a, std::int64_t cols) {
  if (!a.gated) return cols;
  if (cols % 2 != 0)
    throw std::invalid_argument("activation: a gated activation needs [gate | up] halves of equal width");
  return cols / 2;
}
}  // namespace

float act(ActFn f, float x) { return act_in<float>(f, x); }
double act(ActFn f, double x) { return act_in<double>(f, x); }

Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) {
  const std::int64_t m = output_cols(a, h.cols());
  Matrix<float> y(h.rows(), m);
  for (std::int64_t t = 0; t < h.rows(); ++t)
    for (std::int64_t k = 0; k < m; ++k) y(t, k) = act(a.fn, h(t, k));
  if (a.gated) {
    // native: f rounded to the dtype first; fused: the fp32 value goes into the product.
    if (a.rounding == ActRounding::native) round_inplace(out, y.values());
    for (std::int64_t t = 0; t < h.rows(); ++t)
      for (std::int64_t k = 0; k < m; ++k) y(t, k) *= h(t, m + k);
  }
  round_inplace(out, y.values());
  return y;
}

Matrix<double> activation(const Matrix<double>& h, const Activation& a) {
  const std::int64_t m = output_cols(a, h.cols());
  Matrix<double> y(h.rows(), m);
  for (std::int64_t t = 0; t < h.rows(); ++t)
    for (std::int64_t k = 0; k < m; ++k)
      y(t, k) = a.gated ? act(a.fn, h(t, k)) * h(t, m + k) : act(a.fn, h(t, k));
  return y;
}

}  // namespace ffn::cpu
