#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/rounding.hpp"
#include "metrics/error_budget.hpp"

using namespace ffn;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct BoundCheck {
  std::int64_t violations = 0;
  double first_value = 0;  // the first value whose rounding error exceeded the bound
  double worst_ratio = 0;  // max |fl(v) - v| / bound: near 1 when the bound is tight
};

// Rounds `samples` values from `draw` onto `grid` and holds each error against the bound.
template <class Draw>
BoundCheck check_rounding_bound(DType grid, int samples, Draw&& draw) {
  BoundCheck c;
  for (int i = 0; i < samples; ++i) {
    const double v = draw();
    const double rounded = round_to(grid, v);
    // Exact: fl(v) and v are within a factor of two of each other (Sterbenz), or fl(v) = 0.
    const double error = std::fabs(rounded - v);
    const double bound = rounding_error_bound(grid, rounded);
    if (!(error <= bound) && c.violations++ == 0) c.first_value = v;
    c.worst_ratio = std::max(c.worst_ratio, error / bound);
  }
  return c;
}

// Values on the bf16 grid, N(0, 1): what a bf16 tensor of the harness holds.
std::vector<double> bf16_values(std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> v(n);
  for (double& x : v) x = round_to(DType::bf16, normal(rng));
  return v;
}

// One bf16 rounding per element, of the value itself: the budget of a tensor rounded once.
ErrorBudget rounding_budget(const std::vector<double>& values) {
  ErrorBudget b(1, static_cast<std::int64_t>(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) b.add_rounding(i, values[i], DType::bf16);
  return b;
}

// expected + factor(i) * bound(i) for every element.
template <class Factor>
std::vector<double> with_errors(const std::vector<double>& expected, const ErrorBudget& budget,
                                Factor&& factor) {
  std::vector<double> actual(expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    actual[i] = expected[i] + factor(i) * budget.worst(i);
  return actual;
}

BudgetVerdict judge_vectors(const std::vector<double>& actual, const std::vector<double>& expected,
                            const ErrorBudget& budget) {
  return judge(std::span<const double>(actual), std::span<const double>(expected), budget);
}

}  // namespace

TEST_CASE("rounding_error_bound holds for every rounding and is tight, subnormals included",
          "[metrics][error_budget]") {
  const DType grid = GENERATE(DType::bf16, DType::fp16, DType::fp32);
  INFO("grid " << dtype_name(grid));
  std::mt19937_64 rng(20261127);
  std::bernoulli_distribution negative;
  constexpr int kSamples = 1'000'000;

  // Normal range: every binade equally often, up to the largest finite value (beyond it the
  // result is inf and no bound applies).
  const int min_exponent = std::ilogb(min_normal(grid));
  const int max_exponent = std::ilogb(max_finite(grid));
  std::uniform_int_distribution<int> exponent(min_exponent, max_exponent);
  std::uniform_real_distribution<double> significand(1.0, 2.0);
  const BoundCheck normal = check_rounding_bound(grid, kSamples, [&] {
    double v;
    do v = std::ldexp(significand(rng), exponent(rng));
    while (v > max_finite(grid));
    return negative(rng) ? -v : v;
  });
  INFO("normal range: first violation at " << normal.first_value);
  CHECK(normal.violations == 0);
  CHECK(normal.worst_ratio <= 1.0);
  CHECK(normal.worst_ratio > 0.5);

  // Subnormal range, where the spacing is fixed and zero is a possible result.
  std::uniform_real_distribution<double> tiny(-min_normal(grid), min_normal(grid));
  const BoundCheck subnormal = check_rounding_bound(grid, kSamples, [&] { return tiny(rng); });
  INFO("subnormal range: first violation at " << subnormal.first_value);
  CHECK(subnormal.violations == 0);
  CHECK(subnormal.worst_ratio <= 1.0);
  CHECK(subnormal.worst_ratio > 0.5);
}

TEST_CASE("judge: identical tensors pass with margin 0", "[metrics][error_budget]") {
  std::mt19937_64 rng(1);
  const std::vector<double> x = bf16_values(1000, rng);
  const BudgetVerdict v = judge_vectors(x, x, rounding_budget(x));
  CHECK(v.pass);
  CHECK(v.margin() == 0);
  CHECK(v.over_budget == 0);
  CHECK(v.nonfinite == 0);
  CHECK(v.norm_sq == 0);
  CHECK(v.numel == 1000);
}

TEST_CASE("judge: a zero budget demands bit equality", "[metrics][error_budget]") {
  std::mt19937_64 rng(2);
  std::vector<double> x = bf16_values(100, rng);
  x[10] = 0;
  const ErrorBudget zero(1, 100);
  CHECK(judge_vectors(x, x, zero).pass);

  const std::size_t index = GENERATE(10, 42);
  std::vector<double> y = x;
  y[index] = std::nextafter(y[index], kInf);  // one ulp of double; the smallest subnormal at 0
  const BudgetVerdict v = judge_vectors(y, x, zero);
  CHECK_FALSE(v.pass);
  CHECK(v.over_budget == 1);
  CHECK(v.worst_index == static_cast<std::int64_t>(index));
  CHECK(v.worst_ratio == kInf);
  CHECK(v.nonfinite == 0);
}

TEST_CASE("judge: one element just over its bound fails, one exactly at it does not",
          "[metrics][error_budget]") {
  std::mt19937_64 rng(3);
  const std::vector<double> e = bf16_values(64, rng);
  const ErrorBudget budget = rounding_budget(e);
  constexpr std::size_t kOver = 37, kAt = 5;
  // The others at half their bound, alternating in sign. Every bound is 2^-8 |e| and e has 8
  // significant bits, so all these sums and differences are exact in double.
  const std::vector<double> a = with_errors(e, budget, [&](std::size_t i) {
    if (i == kOver) return 1.0 + std::ldexp(1.0, -20);
    if (i == kAt) return 1.0;
    return i % 2 ? 0.5 : -0.5;
  });
  const BudgetVerdict v = judge_vectors(a, e, budget);
  CHECK_FALSE(v.pass);
  CHECK(v.over_budget == 1);
  CHECK(v.nonfinite == 0);
  CHECK(v.worst_index == static_cast<std::int64_t>(kOver));
  CHECK(v.worst_ratio == 1.0 + std::ldexp(1.0, -20));
  CHECK(v.worst_bound == budget.worst(kOver));
  CHECK(v.worst_diff == std::fabs(a[kOver] - e[kOver]));
}

TEST_CASE("judge: the element bound is worst + lambda_element sqrt(random_sq)",
          "[metrics][error_budget]") {
  ErrorBudget b(1, 1);
  b.add_offset(0, 1.0);
  b.add_random(0, 4.0);
  const double bound = 1.0 + VerdictConstants{}.lambda_element * 2.0;
  CHECK(judge_vectors({bound}, {0.0}, b).over_budget == 0);
  CHECK(judge_vectors({std::nextafter(bound, kInf)}, {0.0}, b).over_budget == 1);
}

TEST_CASE("judge: a NaN never passes, however large the budget", "[metrics][error_budget]") {
  std::mt19937_64 rng(4);
  const std::vector<double> e = bf16_values(16, rng);
  ErrorBudget huge(1, 16);
  for (std::size_t i = 0; i < 16; ++i) huge.add_offset(i, 1e300);

  std::vector<double> a = e;
  a[3] = kNaN;
  BudgetVerdict v = judge_vectors(a, e, huge);
  CHECK_FALSE(v.pass);
  CHECK(v.nonfinite == 1);
  CHECK(v.over_budget == 1);
  CHECK(v.worst_index == 3);
  CHECK(v.margin() == kInf);
  CHECK(std::isfinite(v.norm_sq));

  // Not even where the expected value is NaN as well.
  std::vector<double> e_nan = e;
  e_nan[3] = kNaN;
  v = judge_vectors(a, e_nan, huge);
  CHECK_FALSE(v.pass);
  CHECK(v.nonfinite == 1);
}

TEST_CASE("judge: a NaN or infinite budget is an internal error, never a verdict", "[metrics][error_budget]") {
  const std::vector<double> e = {1.0, 2.0, 3.0};
  for (const double bad : {kNaN, kInf}) {
    ErrorBudget b(1, 3);
    b.add_offset(1, bad);
    CHECK_THROWS_AS(judge_vectors(e, e, b), std::logic_error);
    ErrorBudget r(1, 3);
    r.add_random(2, bad);
    CHECK_THROWS_WITH(judge_vectors(e, e, r), Catch::Matchers::Contains("element 2") &&
                                                  Catch::Matchers::Contains("internal error"));
  }
}

TEST_CASE("judge: infinities pass only when they match in sign", "[metrics][error_budget]") {
  const std::vector<double> e = {kInf, -kInf, 1.0};
  const ErrorBudget zero(1, 3);
  const BudgetVerdict same = judge_vectors(e, e, zero);
  CHECK(same.pass);
  CHECK(same.margin() == 0);

  ErrorBudget huge(1, 3);
  for (std::size_t i = 0; i < 3; ++i) huge.add_offset(i, 1e300);
  const BudgetVerdict opposite = judge_vectors({-kInf, -kInf, 1.0}, e, huge);
  CHECK_FALSE(opposite.pass);
  CHECK(opposite.nonfinite == 1);
  CHECK(opposite.worst_index == 0);
  CHECK(std::isfinite(opposite.norm_sq));

  const BudgetVerdict finite = judge_vectors({kInf, -kInf, kInf}, e, huge);
  CHECK_FALSE(finite.pass);
  CHECK(finite.nonfinite == 1);
  CHECK(finite.worst_index == 2);
}

TEST_CASE("judge: the norm check catches errors each within bound but systematically large",
          "[metrics][error_budget]") {
  // Each error at 60-90% of its bound, all of one sign: E[d^2] = 0.57 b^2 against the b^2 / 3
  // of a uniform rounding error. No element is over budget; the sum of squares is.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> large(0.6, 0.9);
  const auto systematic = [&](std::size_t n) {
    const std::vector<double> e = bf16_values(n, rng);
    const ErrorBudget budget = rounding_budget(e);
    return judge_vectors(with_errors(e, budget, [&](std::size_t) { return large(rng); }), e,
                         budget);
  };
  const BudgetVerdict v = systematic(100'000);
  INFO("norm ratio " << v.norm_ratio);
  CHECK(v.over_budget == 0);
  CHECK(v.norm_ratio > 1);
  CHECK_FALSE(v.pass);

  // It is a large-N check: for n = 50, lambda_norm sqrt(sum B^4 / 2) >= 6 sum b^2 / sqrt(100)
  // alone exceeds the largest possible sum of squares, 0.81 sum b^2.
  const BudgetVerdict few = systematic(50);
  CHECK(few.pass);
}

TEST_CASE("judge: errors uniform within their bounds never raise a false alarm",
          "[metrics][error_budget]") {
  std::mt19937_64 rng(6);
  const std::vector<double> e = bf16_values(100'000, rng);
  const ErrorBudget budget = rounding_budget(e);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  int false_alarms = 0;
  double worst_norm_ratio = 0, worst_element_ratio = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const BudgetVerdict v =
        judge_vectors(with_errors(e, budget, [&](std::size_t) { return uniform(rng); }), e, budget);
    false_alarms += !v.pass;
    worst_norm_ratio = std::max(worst_norm_ratio, v.norm_ratio);
    worst_element_ratio = std::max(worst_element_ratio, v.worst_ratio);
  }
  INFO("largest norm ratio " << worst_norm_ratio << ", largest element ratio "
                             << worst_element_ratio);
  CHECK(false_alarms == 0);
}

TEST_CASE("ErrorBudget: += adds the worst-case, random and variance parts",
          "[metrics][error_budget]") {
  ErrorBudget a(2, 3), b(2, 3);
  for (std::size_t i = 0; i < 6; ++i) {
    const double k = static_cast<double>(i + 1);
    a.add_rounding(i, k, DType::bf16);
    a.add_random(i, 0.5 * k);
    a.add_offset(i, 0.25 * k);
    b.add_rounding(i, -3.0 * k, DType::fp16);
    b.add_random(i, 2.0 * k);
    b.add_offset(i, 0.125 * k);
  }
  const ErrorBudget before = a;
  CHECK(&(a += b) == &a);
  for (std::size_t i = 0; i < 6; ++i) {
    INFO("element " << i);
    CHECK(a.worst(i) == before.worst(i) + b.worst(i));
    CHECK(a.random_sq(i) == before.random_sq(i) + b.random_sq(i));
    CHECK(a.variance(i) == before.variance(i) + b.variance(i));
  }
}

TEST_CASE("ErrorBudget and judge refuse tensors of different shapes", "[metrics][error_budget]") {
  ErrorBudget a(2, 3);
  CHECK_THROWS_AS(a += ErrorBudget(3, 2), std::invalid_argument);
  CHECK_THROWS_AS(a += ErrorBudget(2, 4), std::invalid_argument);
  const std::vector<double> six(6), five(5);
  CHECK_THROWS_AS(judge_vectors(six, five, a), std::invalid_argument);
  CHECK_THROWS_AS(judge_vectors(five, five, a), std::invalid_argument);
}

namespace {

// n elements of expected values e_i ~ N(0, 1), each with one bf16 rounding of its value in the
// budget; the actual value is e_i + d_i with d_i from `error(e_i, u_i, gen)`.
template <class Error>
BudgetVerdict signed_error_trial(std::size_t n, std::mt19937_64& gen, Error error) {
  std::normal_distribution<double> nd;
  std::vector<double> expected(n), actual(n);
  ErrorBudget budget(1, static_cast<std::int64_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    expected[i] = nd(gen);
    budget.add_rounding(i, expected[i], DType::bf16);
    actual[i] = expected[i] + error(expected[i], rounding_error_bound(DType::bf16, expected[i]), gen);
  }
  return judge(actual, expected, budget, {}, expected);
}

}  // namespace

TEST_CASE("judge: the signed-error statistic stays within its bound for unbiased errors, measured",
          "[metrics][error_budget]") {
  // Errors uniform on +-r (the variance the budget assumes, r^2/3, is then exact): S / sqrt(V) is
  // about standard normal. Over 2000 trials of 4096 elements, |z| never reaches lambda_bias = 7
  // (Bernstein allows 2 exp(-24.5) = 4.6e-11 per trial) and its spread is about 1.
  std::mt19937_64 gen(11);
  const auto uniform = [](double, double r, std::mt19937_64& g) { return std::uniform_real_distribution<double>(-r, r)(g); };
  double sum_sq = 0, largest = 0;
  const int trials = 2000;
  for (int t = 0; t < trials; ++t) {
    const BudgetVerdict v = signed_error_trial(4096, gen, uniform);
    const double z = v.bias_sum / v.bias_sigma;
    sum_sq += z * z;
    largest = std::max(largest, std::fabs(z));
    REQUIRE(v.pass);
    REQUIRE(v.bias_ratio < 1);
  }
  CHECK(std::sqrt(sum_sq / trials) == Approx(1.0).epsilon(0.1));
  CHECK(largest < 5);
}

TEST_CASE("judge: errors that lean one way fail the signed-error statistic while every element and the norm pass",
          "[metrics][error_budget]") {
  // Truncation: d = -sgn(e) r U, U uniform on [0, 1): |d| within the bound, E d^2 = r^2/3 as
  // for round to nearest, but E[d sgn(e)] = -r/2: S is about -n r/2 against sqrt(n) r / sqrt(3).
  std::mt19937_64 gen(12);
  const auto truncated = [](double e, double r, std::mt19937_64& g) {
    return -(e > 0 ? 1.0 : -1.0) * r * std::uniform_real_distribution<double>(0, 1)(g);
  };
  const BudgetVerdict v = signed_error_trial(4096, gen, truncated);
  CHECK(v.over_budget == 0);
  CHECK(v.norm_ratio <= 1);
  CHECK(v.bias_ratio > 1);
  // z = -n E[r] / 2 / sqrt(n E[r^2] / 3) = -sqrt(3 n) / 2 * E|e| / sqrt(E e^2) = -64 * 0.866 * 0.798 = -44.
  CHECK(v.bias_sum / v.bias_sigma == Approx(-44.2).margin(3));
  CHECK_FALSE(v.pass);
  CHECK(v.margin() == v.bias_ratio);
  // Without signs (the default) there is no signed-error statistic.
  std::vector<double> e{1.0, 2.0}, a{1.0 - 0x1.0p-9, 2.0 - 0x1.0p-8};
  ErrorBudget b(1, 2);
  b.add_rounding(0, 1.0, DType::bf16);
  b.add_rounding(1, 2.0, DType::bf16);
  CHECK(judge(a, e, b).bias_ratio == 0);
  CHECK_THROWS_AS(judge(a, e, b, {}, std::vector<double>{1.0}), std::invalid_argument);
}
