#include "kernels/cpu/gemm.hpp"

#include <cblas.h>

#include <stdexcept>
#include <string>

namespace ffn::cpu {

namespace {
template <class T>
void check_shapes(const MatrixView<T>& x, const MatrixView<T>& w) {
  if (x.cols != w.cols)
    throw std::invalid_argument("gemm_xwt: x has " + std::to_string(x.cols) +
                                " columns but w has " + std::to_string(w.cols));
}
int as_int(std::int64_t v) { return static_cast<int>(v); }
}  // namespace

Matrix<float> gemm_xwt(MatrixView<float> x, MatrixView<float> w) {
  check_shapes(x, w);
  Matrix<float> out(x.rows, w.rows);
  if (out.empty() || x.cols == 0) return out;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, as_int(x.rows), as_int(w.rows),
              as_int(x.cols), 1.0f, x.data, as_int(x.ld), w.data, as_int(w.ld), 0.0f, out.data(),
              as_int(out.cols()));
  return out;
}

Matrix<double> gemm_xwt(MatrixView<double> x, MatrixView<double> w) {
  check_shapes(x, w);
  Matrix<double> out(x.rows, w.rows);
  if (out.empty() || x.cols == 0) return out;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, as_int(x.rows), as_int(w.rows),
              as_int(x.cols), 1.0, x.data, as_int(x.ld), w.data, as_int(w.ld), 0.0, out.data(),
              as_int(out.cols()));
  return out;
}

}  // namespace ffn::cpu
