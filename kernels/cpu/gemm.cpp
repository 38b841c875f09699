#include "kernels/cpu/gemm.hpp"

#include <cblas.h>

#include <stdexcept>
#include <string>

namespace ffn::cpu {

namespace {
template <class T>
void check_shapes(const Matrix<T>& x, const Matrix<T>& w) {
  if (x.cols() != w.cols())
    throw std::invalid_argument("gemm_xwt: x has " + std::to_string(x.cols()) +
                                " columns but w has " + std::to_string(w.cols()));
}
}  // namespace

Matrix<float> gemm_xwt(const Matrix<float>& x, const Matrix<float>& w) {
  check_shapes(x, w);
  Matrix<float> out(x.rows(), w.rows());
  if (out.empty()) return out;
  if (x.cols() == 0) return out;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(x.rows()),
              static_cast<int>(w.rows()), static_cast<int>(x.cols()), 1.0f, x.data(),
              static_cast<int>(x.cols()), w.data(), static_cast<int>(w.cols()), 0.0f, out.data(),
              static_cast<int>(out.cols()));
  return out;
}

Matrix<double> gemm_xwt(const Matrix<double>& x, const Matrix<double>& w) {
  check_shapes(x, w);
  Matrix<double> out(x.rows(), w.rows());
  if (out.empty()) return out;
  if (x.cols() == 0) return out;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(x.rows()),
              static_cast<int>(w.rows()), static_cast<int>(x.cols()), 1.0, x.data(),
              static_cast<int>(x.cols()), w.data(), static_cast<int>(w.cols()), 0.0, out.data(),
              static_cast<int>(out.cols()));
  return out;
}

}  // namespace ffn::cpu
