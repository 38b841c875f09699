#pragma once
// Element-wise comparison of an actual tensor against an expected one (DESIGN section 4):
// the allclose test with its mismatch report, and the error statistics of the report.
//
// NaN rules: a NaN never matches a number; NaN matches NaN only when equal_nan is set.
// An infinity matches only the same infinity. Statistics (errors, RMSE, NMSE, cosine, SNR,
// ULP) are taken over the positions where both values are finite.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"
#include "metrics/tolerance.hpp"

namespace ffn {

struct CompareOptions {
  Tolerance tol;
  bool equal_nan = false;
  DType ulp_dtype = DType::fp32;  // the grid the ULP distance is counted on
  int worst_k = 5;                // how many of the worst elements to keep
};

struct ElementDiff {
  std::int64_t index = 0;  // flat row-major index
  std::int64_t row = 0, col = 0;
  double actual = 0, expected = 0;
  double abs_err = 0;   // |actual - expected| (inf where one side is not finite)
  double rel_err = 0;   // abs_err / |expected| (inf when expected is 0 and abs_err > 0)
  double allowed = 0;   // atol + rtol * |expected|
};

struct TensorComparison {
  std::int64_t rows = 0, cols = 0;
  std::int64_t numel = 0;
  std::int64_t mismatched = 0;         // elements failing allclose (NaN/Inf rules included)
  std::int64_t nonfinite_mismatched = 0;
  std::int64_t nan_actual = 0, inf_actual = 0;
  ElementDiff greatest_abs;  // the element with the greatest absolute difference
  ElementDiff greatest_rel;  // the element with the greatest relative difference
  double max_abs = 0, max_rel = 0;
  double rmse = 0;
  double nmse = 0;        // sum (a - e)^2 / sum e^2
  double cosine = 1;      // <a, e> / (|a| |e|); 1 when both are zero
  double snr_db = 0;      // 10 log10(sum e^2 / sum (a - e)^2); +inf when identical
  double ulp_max = 0;     // |a - e| in units of ulp(e) on the grid of ulp_dtype
  double ulp_p99 = 0;
  std::vector<ElementDiff> worst;  // the worst_k greatest absolute differences, worst first
  Tolerance tol;

  bool allclose() const { return mismatched == 0; }
  double mismatch_fraction() const { return numel ? double(mismatched) / double(numel) : 0; }
  // Multi-line report in the style of torch.testing.assert_close's failure message.
  std::string mismatch_report() const;
};

// Spacing of the grid of t at |x| (the ulp of x): 2^(max(e, emin) - p + 1).
double ulp_of(DType t, double x);

TensorComparison compare_tensors(std::span<const double> actual, std::span<const double> expected,
                                 std::int64_t cols, const CompareOptions& options);
TensorComparison compare_tensors(const Matrix<float>& actual, const Matrix<float>& expected,
                                 const CompareOptions& options);
TensorComparison compare_tensors(const Matrix<float>& actual, const Matrix<double>& expected,
                                 const CompareOptions& options);

}  // namespace ffn
