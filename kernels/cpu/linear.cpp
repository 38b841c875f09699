#include "kernels/cpu/linear.hpp"

#include <stdexcept>
#include <string>

#include "kernels/rounding.hpp"

namespace ffn::cpu {

namespace {
template <class T>
void add_bias(Matrix<T>& y, std::span<const T> bias) {
  if (bias.empty()) return;
  if (static_cast<std::int64_t>(bias.size()) != y.cols())
    throw std::invalid_argument("linear: bias has " + std::to_string(bias.size()) +
                                " elements but the layer has " + std::to_string(y.cols()) +
                                " outputs");
  for (std::int64_t r = 0; r < y.rows(); ++r)
    for (std::int64_t c = 0; c < y.cols(); ++c) y(r, c) += bias[c];
}
}  // namespace

Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias,
                     DType out) {
  if (out == DType::fp64) throw std::invalid_argument("linear: fp64 takes double tensors");
  Matrix<float> y = gemm_xwt(x, w);  // fp32 accumulation
  add_bias(y, bias);                 // fp32 add
  round_inplace(out, y.values());    // the one rounding to the activation dtype
  return y;
}

Matrix<double> linear(MatrixView<double> x, MatrixView<double> w, std::span<const double> bias) {
  Matrix<double> y = gemm_xwt(x, w);
  add_bias(y, bias);
  return y;
}

Matrix<double> linear(MatrixView<double> x, std::int64_t w_rows, std::int64_t w_cols, const WeightRows<double>& w,
                      std::span<const double> bias) {
  Matrix<double> y = std::move(gemm_xwt_row_blocks<double>({&x, 1}, w_rows, w_cols, w).front());
  add_bias(y, bias);
  return y;
}

}  // namespace ffn::cpu
