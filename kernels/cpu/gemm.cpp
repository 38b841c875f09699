#include "kernels/cpu/gemm.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ffn::cpu {

namespace {
template <class T>
void check_shapes(const MatrixView<T>& x, const MatrixView<T>& w) {
  if (x.cols != w.cols)
    throw std::invalid_argument("gemm_xwt: x has " + std::to_string(x.cols) +
                                " columns but w has " + std::to_string(w.cols));
}
int as_int(std::int64_t v) { return static_cast<int>(v); }

// The recording GemmLog, if any: an instrument of the bench, so a process-wide slot.
std::mutex g_log_mutex;
std::optional<std::vector<GemmCall>> g_log;

// The BLAS routine for each element type, with gemm_xwt's fixed layout arguments.
void blas_xwt(int m, int n, int k, const float* x, int ldx, const float* w, int ldw, float* out, int ldo) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, ldx, w, ldw, 0.0f, out, ldo);
}
void blas_xwt(int m, int n, int k, const double* x, int ldx, const double* w, int ldw, double* out, int ldo) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, x, ldx, w, ldw, 0.0, out, ldo);
}

// OpenBLAS picks its small-matrix kernels (one accumulation over all of K, where the blocked
// kernels add K blocks' partial sums) up to m n k = 100^3 (kernel/x86_64/
// sgemm_small_kernel_permit_skylakex.c, sgemm_small_kernel_permit): a part stays well above.
constexpr double k_min_part_mnk = 4.0 * 100 * 100 * 100;
constexpr std::int64_t k_column_quantum = 64;

template <class T>
void xwt_parts(MatrixView<T> x, MatrixView<T> w, T* out, std::int64_t ldo) {
  if (x.rows == 0 || x.cols == 0 || w.rows == 0) return;
  static std::once_flag single;
  std::call_once(single, [] { openblas_set_num_threads(1); });
  {
    const std::lock_guard lock(g_log_mutex);
    if (g_log) g_log->push_back({std::is_same_v<T, double>, x.rows, w.rows, x.cols});
  }
  const double mnk = double(x.rows) * double(w.rows) * double(x.cols);
  const std::int64_t parts =
      omp_in_parallel() ? 1
                        : std::clamp<std::int64_t>(std::min<std::int64_t>(static_cast<std::int64_t>(mnk / k_min_part_mnk),
                                                                          w.rows / k_column_quantum),
                                                   1, omp_get_max_threads());
  // Part boundaries on multiples of the quantum, so that every part's columns tile the
  // kernels' register blocks the same way a whole call does.
  const std::int64_t quanta = (w.rows + k_column_quantum - 1) / k_column_quantum;
#pragma omp parallel for num_threads(static_cast<int>(parts)) schedule(static) if (parts > 1)
  for (std::int64_t p = 0; p < parts; ++p) {
    const std::int64_t n0 = std::min(w.rows, quanta * p / parts * k_column_quantum);
    const std::int64_t n1 = std::min(w.rows, quanta * (p + 1) / parts * k_column_quantum);
    if (n1 > n0)
      blas_xwt(as_int(x.rows), as_int(n1 - n0), as_int(x.cols), x.data, as_int(x.ld), w.data + n0 * w.ld,
               as_int(w.ld), out + n0, as_int(ldo));
  }
}

// The output of an m x k by k x n product, which the BLAS writes whole (beta = 0) unless k = 0,
// where nothing is called and the product is zero.
template <class T>
Matrix<T> unfilled_product(std::int64_t m, std::int64_t n, std::int64_t k) {
  return k > 0 ? Matrix<T>(m, n, Unfilled{}) : Matrix<T>(m, n);
}

// out[:, col0 : col0 + w.rows) = x w^T; out has x.rows rows.
template <class T>
void xwt_into(MatrixView<T> x, MatrixView<T> w, Matrix<T>& out, std::int64_t col0) {
  if (out.empty()) return;
  xwt_parts(x, w, out.data() + col0, out.cols());
}

template <class T>
Matrix<T> gemm_xwt_impl(MatrixView<T> x, MatrixView<T> w) {
  check_shapes(x, w);
  Matrix<T> out = unfilled_product<T>(x.rows, w.rows, x.cols);
  xwt_into(x, w, out, 0);
  return out;
}

// Rows of f(W) per block: about 16 MiB, small beside the whole (256-512 MiB at the LTX-2 dims)
// and large enough that each BLAS call still has hundreds of output columns.
constexpr std::int64_t k_block_bytes = std::int64_t{16} << 20;

}  // namespace

Matrix<float> gemm_xwt(MatrixView<float> x, MatrixView<float> w) { return gemm_xwt_impl(x, w); }
Matrix<double> gemm_xwt(MatrixView<double> x, MatrixView<double> w) { return gemm_xwt_impl(x, w); }

template <class T>
std::vector<Matrix<T>> gemm_xwt_row_blocks(std::span<const MatrixView<T>> xs, std::int64_t w_rows,
                                           std::int64_t w_cols, const WeightRows<T>& make_rows) {
  std::vector<Matrix<T>> out;
  for (const MatrixView<T>& x : xs) {
    check_shapes(x, MatrixView<T>{nullptr, w_rows, w_cols, w_cols});
    out.push_back(unfilled_product<T>(x.rows, w_rows, w_cols));
  }
  const std::int64_t block = std::clamp<std::int64_t>(k_block_bytes / std::max<std::int64_t>(1, w_cols * sizeof(T)),
                                                      1, std::max<std::int64_t>(1, w_rows));
  std::vector<T, DefaultInitAllocator<T>> rows(static_cast<std::size_t>(std::min(block, w_rows) * w_cols));
  for (std::int64_t r0 = 0; r0 < w_rows; r0 += block) {
    const std::int64_t r1 = std::min(w_rows, r0 + block);
    const std::span<T> filled(rows.data(), static_cast<std::size_t>((r1 - r0) * w_cols));
    make_rows(r0, r1, filled);
    const MatrixView<T> w{rows.data(), r1 - r0, w_cols, w_cols};
    for (std::size_t i = 0; i < xs.size(); ++i) xwt_into(xs[i], w, out[i], r0);
  }
  return out;
}
template std::vector<Matrix<float>> gemm_xwt_row_blocks(std::span<const MatrixView<float>>, std::int64_t,
                                                        std::int64_t, const WeightRows<float>&);
template std::vector<Matrix<double>> gemm_xwt_row_blocks(std::span<const MatrixView<double>>, std::int64_t,
                                                         std::int64_t, const WeightRows<double>&);

void gemm_xwt_into(MatrixView<float> x, MatrixView<float> w, float* out, std::int64_t ldo) {
  check_shapes(x, w);
  xwt_parts(x, w, out, ldo);
}
void gemm_xwt_into(MatrixView<double> x, MatrixView<double> w, double* out, std::int64_t ldo) {
  check_shapes(x, w);
  xwt_parts(x, w, out, ldo);
}

GemmLog::GemmLog() {
  const std::lock_guard lock(g_log_mutex);
  if (g_log) throw std::logic_error("GemmLog: a log is already recording");
  g_log.emplace();
}
GemmLog::~GemmLog() {
  const std::lock_guard lock(g_log_mutex);
  g_log.reset();
}
std::vector<GemmCall> GemmLog::calls() const {
  const std::lock_guard lock(g_log_mutex);
  return *g_log;
}

}  // namespace ffn::cpu
