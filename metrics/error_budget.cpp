#include "metrics/error_budget.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace ffn {

ErrorBudget::ErrorBudget(std::int64_t rows, std::int64_t cols)
    : worst_(rows, cols), random_sq_(rows, cols), variance_(rows, cols) {}

ErrorBudget& ErrorBudget::operator+=(const ErrorBudget& other) {
  if (other.rows() != rows() || other.cols() != cols())
    throw std::invalid_argument("ErrorBudget: adding budgets of different shapes");
  for (std::size_t i = 0; i < size(); ++i) {
    worst_.data()[i] += other.worst_.data()[i];
    random_sq_.data()[i] += other.random_sq_.data()[i];
    variance_.data()[i] += other.variance_.data()[i];
  }
  return *this;
}

ErrorBudget ErrorBudget::scaled(double s) const {
  ErrorBudget out = *this;
  for (std::size_t i = 0; i < size(); ++i) {
    out.worst_.data()[i] *= s;
    out.random_sq_.data()[i] *= s * s;
    out.variance_.data()[i] *= s * s;
  }
  return out;
}

double BudgetVerdict::margin() const {
  if (nonfinite > 0) return std::numeric_limits<double>::infinity();
  return std::max({worst_ratio, norm_ratio, bias_ratio});
}

BudgetVerdict judge(std::span<const double> actual, std::span<const double> expected,
                    const ErrorBudget& budget, const VerdictConstants& k, std::span<const double> sign_of) {
  if (actual.size() != expected.size() || actual.size() != budget.size())
    throw std::invalid_argument("judge: actual, expected and budget differ in size");
  const bool signed_error = !sign_of.empty();
  if (signed_error && sign_of.size() != actual.size()) throw std::invalid_argument("judge: sign_of differs in size");
  double bias_variance = 0, bias_bound_max = 0;
  const double inf = std::numeric_limits<double>::infinity();
  BudgetVerdict v;
  v.numel = static_cast<std::int64_t>(actual.size());
  double variance_sum = 0, b4_sum = 0, worst_sq_sum = 0, proxy_sum = 0, proxy_sq_sum = 0, proxy_max = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const double bound = budget.worst(i) + k.lambda_element * std::sqrt(budget.random_sq(i));
    // A budget that is not a finite number judges nothing: a bug upstream, never a verdict.
    if (!std::isfinite(bound))
      throw std::logic_error(fmt::format("judge: the error budget of element {} is {} (worst {}, random_sq {}): "
                                         "an internal error, no verdict",
                                         i, bound, budget.worst(i), budget.random_sq(i)));
    variance_sum += budget.variance(i);
    b4_sum += bound * bound * bound * bound;
    worst_sq_sum += budget.worst(i) * budget.worst(i);
    proxy_sum += budget.random_sq(i);
    proxy_sq_sum += budget.random_sq(i) * budget.random_sq(i);
    proxy_max = std::max(proxy_max, budget.random_sq(i));
    double d, ratio;
    if (std::isfinite(a) && std::isfinite(e)) {
      d = std::fabs(a - e);
      ratio = d == 0 ? 0 : (bound > 0 ? d / bound : inf);
    } else if (a == e) {  // the same infinity
      d = 0, ratio = 0;
    } else {              // NaN anywhere, or infinities that differ from the other side
      ++v.nonfinite;
      d = inf, ratio = inf;
    }
    if (ratio > 1) ++v.over_budget;
    if (ratio > v.worst_ratio || v.worst_index < 0) {
      v.worst_ratio = ratio, v.worst_index = static_cast<std::int64_t>(i);
      v.worst_diff = d, v.worst_bound = bound;
    }
    if (std::isfinite(d)) v.norm_sq += d * d;
    const double s = signed_error ? sign_of[i] : 0.0;
    if (std::isfinite(d) && s != 0 && !std::isnan(s)) {
      v.bias_sum += s > 0 ? a - e : e - a;
      bias_variance += budget.variance(i);
      bias_bound_max = std::max(bias_bound_max, bound);
    }
  }
  // Bernstein: P(|S| >= t) <= 2 exp(-(t^2 / 2) / (V + M t / 3)); t solves t^2 = l^2 (V + M t / 3).
  const double l2 = k.lambda_bias * k.lambda_bias, m = bias_bound_max;
  v.bias_threshold = l2 * m / 6.0 + std::sqrt(l2 * l2 * m * m / 36.0 + l2 * bias_variance);
  v.bias_sigma = std::sqrt(bias_variance);
  v.bias_ratio = v.bias_sum == 0 ? 0 : (v.bias_threshold > 0 ? std::fabs(v.bias_sum) / v.bias_threshold : inf);
  // Two tail bounds on sum d^2, each exceeded with probability <= exp(-lambda_norm^2); the
  // smaller one is used (together <= 2 exp(-lambda_norm^2)). Hoeffding on the squares suits
  // budgets made of roundings; for budgets dominated by the random part, whose element bound
  // is lambda_element standard deviations wide, the sub-Gaussian bound is far tighter:
  // |d| <= worst + |z| with z sub-Gaussian of proxy random_sq (Hoeffding's lemma), so
  // sqrt(sum d^2) <= sqrt(sum worst^2) + sqrt(sum z^2) (triangle inequality), and sum z^2 obeys
  // the chi-square tail of Laurent and Massart (2000): <= sum s + 2 sqrt(t sum s^2) + 2 t max s.
  const double t = k.lambda_norm * k.lambda_norm;
  const double hoeffding = variance_sum + k.lambda_norm * std::sqrt(b4_sum / 2.0);
  const double random_tail = proxy_sum + 2.0 * std::sqrt(t * proxy_sq_sum) + 2.0 * t * proxy_max;
  const double sub_gaussian = std::pow(std::sqrt(worst_sq_sum) + std::sqrt(random_tail), 2);
  v.norm_threshold = std::min(hoeffding, sub_gaussian);
  v.norm_ratio = v.norm_sq == 0 ? 0 : (v.norm_threshold > 0 ? std::sqrt(v.norm_sq / v.norm_threshold) : inf);
  v.pass = v.nonfinite == 0 && v.over_budget == 0 && v.norm_ratio <= 1 && v.bias_ratio <= 1;
  return v;
}

}  // namespace ffn
