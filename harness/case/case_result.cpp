#include "harness/case/case_result.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "metrics/tolerance.hpp"

namespace ffn {

double CaseResult::bias_margin() const {
  return std::max(parity.verdict.bias_ratio, order_parity ? order_parity->verdict.bias_ratio : 0.0);
}

double CaseResult::parity_margin() const {
  return std::max(parity.verdict.margin(), order_parity ? order_parity->verdict.margin() : 0.0);
}

double CaseResult::margin() const {
  return std::max({parity_margin(), allgather_ref.verdict.margin(), sharded_ref.verdict.margin()});
}

Comparison compare(const Matrix<float>& actual, std::span<const double> expected,
                   ErrorBudget budget, DType dtype, std::span<const double> sign_of) {
  CompareOptions options;
  options.tol = default_tolerance(dtype);
  options.ulp_dtype = dtype;
  Comparison c;
  const std::vector<double> a(actual.values().begin(), actual.values().end());
  c.stats = compare_tensors(a, expected, actual.cols(), options);
  c.verdict = judge(a, expected, budget, {}, sign_of);
  c.budget = std::make_shared<const ErrorBudget>(std::move(budget));
  return c;
}

std::string failure_reason(const std::string& what, const Comparison& c) {
  const BudgetVerdict& v = c.verdict;
  if (v.pass) return {};
  const std::int64_t cols = c.stats.cols;
  if (v.nonfinite > 0) return fmt::format("{}: {} NaN/Inf mismatches", what, v.nonfinite);
  // Every check that failed, so that a reader sees which would have caught it alone.
  std::vector<std::string> parts;
  if (v.over_budget > 0)
    parts.push_back(fmt::format("{} of {} elements over budget, worst {:.3g}x at ({}, {})", v.over_budget, v.numel,
                                v.worst_ratio, v.worst_index / cols, v.worst_index % cols));
  if (v.norm_ratio > 1) parts.push_back(fmt::format("error norm {:.3g}x its budget", v.norm_ratio));
  if (v.bias_ratio > 1)
    parts.push_back(fmt::format("signed error {:.3g} standard errors ({:.3g}x its bound): the errors lean one way, "
                                "as a rounding that is not to nearest makes them",
                                v.bias_sum / v.bias_sigma, v.bias_ratio));
  return fmt::format("{}: {}", what, fmt::join(parts, "; "));
}

}  // namespace ffn
