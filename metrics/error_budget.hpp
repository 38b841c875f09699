#pragma once
// An error budget: for every element of a computed tensor, what the error against another
// computation may be, built from the magnitudes that were actually rounded on the way
// (docs: harness/verdict/ERROR_MODEL.md). Three parts per element:
//   worst     sum of worst-case bounds of the few large roundings on the path (each
//             |fl(v) - v| <= u max(|fl(v)|, min_normal)), plus known deterministic offsets;
//   random_sq sum of squared bounds b_i^2 of many independent mean-zero terms |e_i| <= b_i
//             (fp32 accumulation inside GEMMs, upstream errors spread by a matrix product);
//   variance  a bound on E[error^2]: b^2/3 per rounding (uniform error on at most +-b),
//             random_sq/3, offset^2.
// The element bound is worst + lambda_element * sqrt(random_sq) (Hoeffding: exceeded with
// probability <= 2 exp(-lambda^2/2)); the norm check compares sum(d^2) with
// sum(variance) + lambda_norm * sqrt(sum(B^4)/2) (Hoeffding on the squares), or with the
// tighter sub-Gaussian (chi-square) tail of the random part when that is smaller.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn {

// |fl(v) - v| for a round-to-nearest result fl(v) = rounded on the grid of `grid`. Normal
// results: half an ulp, at most u |fl(v)|. Subnormal results: half the subnormal spacing, which
// is u * min_normal. (Inline, as the add_ functions below: called once per element and rounding.)
inline double rounding_error_bound(DType grid, double rounded) {
  return unit_roundoff(grid) * std::max(std::fabs(rounded), min_normal(grid));
}

class ErrorBudget {
 public:
  ErrorBudget() = default;
  ErrorBudget(std::int64_t rows, std::int64_t cols);

  std::int64_t rows() const { return worst_.rows(); }
  std::int64_t cols() const { return worst_.cols(); }
  std::size_t size() const { return worst_.size(); }

  void add_rounding(std::size_t i, double rounded, DType grid) {
    const double b = rounding_error_bound(grid, rounded);
    worst_.data()[i] += b;
    variance_.data()[i] += b * b / 3.0;
  }
  void add_random(std::size_t i, double sum_sq_bounds) {
    random_sq_.data()[i] += sum_sq_bounds;
    variance_.data()[i] += sum_sq_bounds / 3.0;
  }
  void add_offset(std::size_t i, double magnitude) {
    worst_.data()[i] += magnitude;
    variance_.data()[i] += magnitude * magnitude;
  }
  ErrorBudget& operator+=(const ErrorBudget& other);
  // The budget of an error s times as large: worst * s, random_sq and variance * s^2.
  ErrorBudget scaled(double s) const;

  double worst(std::size_t i) const { return worst_.data()[i]; }
  double random_sq(std::size_t i) const { return random_sq_.data()[i]; }
  double variance(std::size_t i) const { return variance_.data()[i]; }

 private:
  Matrix<double> worst_, random_sq_, variance_;
};

struct VerdictConstants {
  double lambda_element = 8.0;  // 2 exp(-32) = 2.5e-14 false alarms per element
  double lambda_norm = 6.0;     // 2 exp(-36) = 4.6e-16 false alarms per tensor (two tail bounds)
  double lambda_bias = 7.0;     // 2 exp(-24.5) = 4.6e-11 false alarms per tensor (Bernstein)
};

struct BudgetVerdict {
  std::int64_t numel = 0;
  std::int64_t over_budget = 0;   // elements with |d| > bound, NaN/Inf mismatches included
  std::int64_t nonfinite = 0;     // NaN/Inf where the other side differs
  double worst_ratio = 0;         // max |d| / bound (0/0 = 0, d/0 = inf)
  std::int64_t worst_index = -1;
  double worst_diff = 0, worst_bound = 0;
  double norm_sq = 0;             // sum d^2
  double norm_threshold = 0;      // the smaller of the Hoeffding and the sub-Gaussian tail bound
  double norm_ratio = 0;          // sqrt(norm_sq / norm_threshold)
  // Signed error: S = sum_i d_i sgn(s_i), d = actual - expected, s the values whose sign
  // weights the errors (the fp64 reference). Round-to-nearest errors are unbiased, so S is a
  // sum of independent mean-zero terms |d_i| <= B_i with E d_i^2 <= variance_i; Bernstein's
  // inequality bounds |S| by bias_threshold = l^2 M / 6 + sqrt(l^4 M^2 / 36 + l^2 V)
  // (M = max B_i, V = sum variance_i, l = lambda_bias) except with probability 2 exp(-l^2/2).
  // A rounding that leans one way (truncation) moves S by about N u |y| / 2.
  double bias_sum = 0;
  double bias_threshold = 0;
  double bias_sigma = 0;          // sqrt(V): S / bias_sigma is the statistic in standard errors (information)
  double bias_ratio = 0;          // |bias_sum| / bias_threshold
  bool pass = false;

  // The single figure of merit: below 1 passes. max(worst_ratio, norm_ratio, bias_ratio), or inf.
  double margin() const;
};

// `sign_of`: the values whose signs weight the signed error; empty: no signed-error statistic.
// Pass values independent of both sides' errors (the fp64 reference: the sign of a computed
// output near zero is that of its own rounding error, which would bias S by itself), and only
// where the errors are roundings of linear operations (errors carried through GELU's curvature
// are biased at second order, ERROR_MODEL.md).
BudgetVerdict judge(std::span<const double> actual, std::span<const double> expected,
                    const ErrorBudget& budget, const VerdictConstants& constants = {},
                    std::span<const double> sign_of = {});

}  // namespace ffn
