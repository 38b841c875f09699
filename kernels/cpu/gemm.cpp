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

// The BLAS routine for each element type, with gemm_xwt's fixed layout arguments.
void blas_xwt(int m, int n, int k, const float* x, int ldx, const float* w, int ldw, float* out, int ldo) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, ldx, w, ldw, 0.0f, out, ldo);
}
void blas_xwt(int m, int n, int k, const double* x, int ldx, const double* w, int ldw, double* out, int ldo) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, x, ldx, w, ldw, 0.0, out, ldo);
}

template <class T>
Matrix<T> gemm_xwt_impl(MatrixView<T> x, MatrixView<T> w) {
  check_shapes(x, w);
  Matrix<T> out(x.rows, w.rows);
  if (out.empty() || x.cols == 0) return out;
  blas_xwt(as_int(x.rows), as_int(w.rows), as_int(x.cols), x.data, as_int(x.ld), w.data, as_int(w.ld), out.data(),
           as_int(out.cols()));
  return out;
}
}  // namespace

Matrix<float> gemm_xwt(MatrixView<float> x, MatrixView<float> w) { return gemm_xwt_impl(x, w); }
Matrix<double> gemm_xwt(MatrixView<double> x, MatrixView<double> w) { return gemm_xwt_impl(x, w); }

}  // namespace ffn::cpu
