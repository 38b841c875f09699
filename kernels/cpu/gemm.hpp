#pragma once
// Products in the layout of a Linear layer: out[m, n] = sum_k x[m, k] * w[n, k] (x W^T).
// fp32 goes through OpenBLAS sgemm: with bf16/fp16 operands every product is exact in fp32
// (8x8 and 11x11 significand bits fit in 24), so the result is an fp32-accumulated dot
// product, the arithmetic of a tensor-core GEMM with fp32 accumulation up to summation order.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kernels/matrix.hpp"

namespace ffn::cpu {

Matrix<float> gemm_xwt(MatrixView<float> x, MatrixView<float> w);
Matrix<double> gemm_xwt(MatrixView<double> x, MatrixView<double> w);

// Fills rows [r0, r1) of a derived weight f(W) (an fp64 copy, the squares of its entries)
// into `rows`, (r1 - r0) x cols elements, row-major.
template <class T>
using WeightRows = std::function<void(std::int64_t r0, std::int64_t r1, std::span<T> rows)>;

// x f(W)^T for every x in `xs`, f(W) being `w_rows` x `w_cols` and made one block of rows at
// a time, so that it never exists whole: at the LTX-2 dims an fp64 copy of a weight is 512 MiB
// and the squares 256 MiB, each faulted in page by page on every input set. Each output
// column comes from one BLAS call over the full K, the same dot product as one gemm_xwt of the
// whole f(W) (OpenBLAS splits M and N, never K, between calls and threads).
template <class T>
std::vector<Matrix<T>> gemm_xwt_row_blocks(std::span<const MatrixView<T>> xs, std::int64_t w_rows,
                                           std::int64_t w_cols, const WeightRows<T>& make_rows);

// out[m, n] (row stride ldo) = x w^T: the one BLAS entry point of the process. The BLAS itself
// runs single-threaded; the columns are split over the OpenMP threads (one pool for the whole
// process: OpenBLAS's own threads, idle between calls, would spin in sched_yield beside OpenMP's
// and cost a quarter of the sweep in system time), or not at all when called from a parallel
// region (cases side by side). Each part is a full-K product, so its elements are the dot
// products a whole call gives, bit for bit; parts never drop to OpenBLAS's small-matrix kernels,
// which accumulate in another order.
void gemm_xwt_into(MatrixView<float> x, MatrixView<float> w, float* out, std::int64_t ldo);
void gemm_xwt_into(MatrixView<double> x, MatrixView<double> w, double* out, std::int64_t ldo);

// Every BLAS call the process makes through gemm_xwt while `active`, as (fp64?, m, n, k):
// ffn-parity-bench replays them back to back to time the GEMM floor of a sweep.
struct GemmCall {
  bool fp64 = false;
  std::int64_t m = 0, n = 0, k = 0;
};
class GemmLog {
 public:
  GemmLog();   // starts recording (one log at a time)
  ~GemmLog();  // stops
  GemmLog(const GemmLog&) = delete;
  GemmLog& operator=(const GemmLog&) = delete;
  std::vector<GemmCall> calls() const;
};

}  // namespace ffn::cpu
