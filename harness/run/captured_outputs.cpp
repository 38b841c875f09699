#include "harness/run/captured_outputs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "harness/run/case_runner.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

namespace {

void check_captured(const char* what, const Matrix<float>& y, const CaseConfig& config) {
  if (y.rows() != config.tokens || y.cols() != config.shape.dim)
    throw std::invalid_argument(fmt::format("{} output: shape [{}, {}], expected [{}, {}] (tokens, hidden) as x and "
                                            "the weights give",
                                            what, y.rows(), y.cols(), config.tokens, config.shape.dim));
  for (std::size_t i = 0; i < y.size(); ++i) {
    const float v = y.data()[i];
    if (std::isfinite(v) && !is_representable(config.dtype, v))
      throw std::invalid_argument(fmt::format("{} output: value {:.9g} at ({}, {}) is not on the {} grid; the stack "
                                              "stores its outputs in the activation dtype",
                                              what, v, i / y.cols(), i % y.cols(), dtype_name(config.dtype)));
  }
}

CapturedVerdict verdict_of(std::string name, const Matrix<float>& actual, const Matrix<float>& expected,
                           ErrorBudget budget, DType dtype, std::size_t worst_k) {
  CapturedVerdict v;
  v.name = std::move(name);
  v.worst = worst_elements(actual, expected, budget, worst_k);
  const std::vector<double> e(expected.values().begin(), expected.values().end());
  // No signed-error statistic: the stack's GEMMs may round differently from the harness's at
  // second order through GELU, which biases the signed error (ERROR_MODEL.md, "Signed error").
  v.comparison = compare(actual, e, std::move(budget), dtype, {});
  v.pass = v.comparison.verdict.pass;
  v.reason = failure_reason(v.name, v.comparison);
  return v;
}

ErrorBudget sum(const ErrorBudget& a, const ErrorBudget& b) {
  ErrorBudget s = a;
  s += b;
  return s;
}

}  // namespace

std::vector<WorstElement> worst_elements(const Matrix<float>& actual, const Matrix<float>& expected,
                                         const ErrorBudget& budget, std::size_t k) {
  const double lambda = VerdictConstants{}.lambda_element;
  std::vector<WorstElement> all;
  all.reserve(actual.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual.data()[i], e = expected.data()[i];
    const double bound = budget.worst(i) + lambda * std::sqrt(budget.random_sq(i));
    const double d = std::abs(a - e);
    double ratio = d / bound;
    if (a == e || (std::isnan(a) && std::isnan(e)))
      ratio = 0;
    else if (!std::isfinite(d) || std::isnan(ratio))
      ratio = std::numeric_limits<double>::infinity();
    all.push_back({static_cast<std::int64_t>(i) / actual.cols(), static_cast<std::int64_t>(i) % actual.cols(), a, e,
                   bound, ratio});
  }
  const std::size_t n = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [](const WorstElement& x, const WorstElement& y) { return x.ratio > y.ratio; });
  all.resize(n);
  return all;
}

CapturedJudgement judge_captured_outputs(const CaseConfig& config, const FfnInputs& inputs,
                                         const CapturedOutputs& captured, const Backend& backend,
                                         std::size_t worst_k) {
  if (!captured.old_path && !captured.new_path)
    throw std::invalid_argument("no captured output given: pass the old output, the new one, or both");
  if (captured.old_path) check_captured("old", *captured.old_path, config);
  if (captured.new_path) check_captured("new", *captured.new_path, config);
  CapturedJudgement j;
  j.harness = std::move(run_cases({config}, {}, [&](const CaseConfig&) { return inputs; }, nullptr, {}, backend).at(0));
  const CaseResult& h = j.harness;
  const ErrorBudget &old_budget = *h.allgather_ref.budget, &new_budget = *h.sharded_ref.budget;
  if (captured.old_path)
    j.verdicts.push_back(verdict_of("old vs allgather", *captured.old_path, h.allgather_out,
                                    sum(old_budget, old_budget), config.dtype, worst_k));
  if (captured.new_path)
    j.verdicts.push_back(verdict_of("new vs sharded", *captured.new_path, h.sharded_out,
                                    sum(new_budget, new_budget), config.dtype, worst_k));
  if (captured.old_path && captured.new_path)
    j.verdicts.push_back(verdict_of("new vs old", *captured.new_path, *captured.old_path,
                                    sum(old_budget, new_budget), config.dtype, worst_k));
  j.pass = h.pass && std::ranges::all_of(j.verdicts, [](const CapturedVerdict& v) { return v.pass; });
  return j;
}

}  // namespace ffn
