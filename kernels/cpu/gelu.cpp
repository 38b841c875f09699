#include "kernels/cpu/gelu.hpp"

#include <cmath>

#include "kernels/rounding.hpp"

namespace ffn::cpu {

namespace {
template <class T>
T gelu_tanh_in(T x) {
  const T k_sqrt_2_over_pi = static_cast<T>(0.79788456080286535587989211986876);
  const T k_cubic = static_cast<T>(0.044715);
  const T half = static_cast<T>(0.5), one = static_cast<T>(1);
  const T inner = k_sqrt_2_over_pi * (x + k_cubic * x * x * x);
  return half * x * (one + std::tanh(inner));
}
}  // namespace

float gelu_tanh(float x) { return gelu_tanh_in<float>(x); }
double gelu_tanh(double x) { return gelu_tanh_in<double>(x); }

void gelu_tanh_inplace(Matrix<float>& m, DType out) {
  for (float& v : m.values()) v = gelu_tanh(v);
  round_inplace(out, m.values());
}

void gelu_tanh_inplace(Matrix<double>& m) {
  for (double& v : m.values()) v = gelu_tanh(v);
}

void gelu_erf_inplace(Matrix<float>& m, DType out) {
  for (float& v : m.values()) v = round_to(out, 0.5f * v * (1.0f + std::erf(v * 0.70710678f)));
}

}  // namespace ffn::cpu
