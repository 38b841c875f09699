#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "metrics/tensor_compare.hpp"

using namespace ffn;
using Catch::Matchers::Contains;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

CompareOptions options_for(DType t, bool equal_nan = false) {
  CompareOptions o;
  o.tol = default_tolerance(t);
  o.ulp_dtype = t;
  o.equal_nan = equal_nan;
  return o;
}

TensorComparison compare(const std::vector<double>& a, const std::vector<double>& e,
                         std::int64_t cols, const CompareOptions& o) {
  return compare_tensors(std::span<const double>(a), std::span<const double>(e), cols, o);
}

TensorComparison compare_one(double a, double e, const CompareOptions& o) {
  return compare({a}, {e}, 1, o);
}

}  // namespace

TEST_CASE("default tolerances are those of torch.testing.assert_close", "[metrics]") {
  CHECK(default_tolerance(DType::fp64).rtol == 1e-7);
  CHECK(default_tolerance(DType::fp64).atol == 1e-7);
  CHECK(default_tolerance(DType::fp32).rtol == 1.3e-6);
  CHECK(default_tolerance(DType::fp32).atol == 1e-5);
  CHECK(default_tolerance(DType::fp16).rtol == 1e-3);
  CHECK(default_tolerance(DType::fp16).atol == 1e-5);
  CHECK(default_tolerance(DType::bf16).rtol == 1.6e-2);
  CHECK(default_tolerance(DType::bf16).atol == 1e-5);
}

TEST_CASE("identical tensors: no error of any kind, SNR +inf", "[metrics]") {
  std::vector<double> e(6 * 7);
  for (std::size_t i = 0; i < e.size(); ++i) e[i] = std::sin(0.37 * double(i)) * 3.1;
  const auto r = compare(e, e, 7, options_for(DType::fp32));
  CHECK(r.rows == 6);
  CHECK(r.cols == 7);
  CHECK(r.numel == 42);
  CHECK(r.allclose());
  CHECK(r.mismatched == 0);
  CHECK(r.mismatch_fraction() == 0);
  CHECK(r.max_abs == 0);
  CHECK(r.max_rel == 0);
  CHECK(r.rmse == 0);
  CHECK(r.nmse == 0);
  CHECK(r.cosine == 1.0);
  CHECK(std::isinf(r.snr_db));
  CHECK(r.snr_db > 0);
  CHECK(r.ulp_max == 0);
  CHECK(r.ulp_p99 == 0);
  CHECK(r.worst.empty());
  CHECK(r.mismatch_report() == "Tensor-likes are close (0 / 42 mismatched)");
}

TEST_CASE("constant offset: RMSE, NMSE, SNR and cosine are exact", "[metrics]") {
  // e = +-2 alternating, a = e + 0.5: sum (a-e)^2 = n/4, sum e^2 = 4n, <a,e> = 4n,
  // |a|^2 = n (6.25 + 2.25) / 2 = 4.25 n.
  const std::size_t n = 4096;
  std::vector<double> e(n), a(n);
  for (std::size_t i = 0; i < n; ++i) {
    e[i] = i % 2 ? -2.0 : 2.0;
    a[i] = e[i] + 0.5;
  }
  const auto r = compare(a, e, 64, options_for(DType::fp32));
  CHECK(r.rmse == 0.5);
  CHECK(r.nmse == 0.0625);
  CHECK(r.snr_db == Approx(10 * std::log10(16.0)).epsilon(1e-15));
  CHECK(r.cosine == Approx(4 / std::sqrt(17.0)).epsilon(1e-15));
  CHECK(r.max_abs == 0.5);
  CHECK(r.max_rel == 0.25);
  CHECK(r.mismatched == std::int64_t(n));
  // fp32 ulp at |2| is 2^-22: 0.5 is 2^21 ulps everywhere.
  CHECK(r.ulp_max == std::ldexp(1.0, 21));
  CHECK(r.ulp_p99 == std::ldexp(1.0, 21));
}

TEST_CASE("allclose boundary: a difference equal to the allowance passes", "[metrics]") {
  CompareOptions o;
  o.tol = {0.5, 0.25};  // allowance at e = 2 is exactly 1.25
  CHECK(compare_one(3.25, 2.0, o).allclose());
  CHECK(compare_one(0.75, 2.0, o).allclose());
  CHECK_FALSE(compare_one(std::nextafter(3.25, 4.0), 2.0, o).allclose());
  // One ulp below 0.75 would round 2 - a back to 1.25 (a tie to even); two do not.
  CHECK_FALSE(compare_one(0.75 - std::ldexp(1.0, -52), 2.0, o).allclose());

  SECTION("a planted mismatch just over or under the bf16 allowance") {
    const auto tol = default_tolerance(DType::bf16);
    const double e = 1.5, allowed = tol.atol + tol.rtol * e;
    std::vector<double> exp(8 * 64, 1.5), act(exp);
    act[3 * 64 + 9] = e + allowed * (1 + 1e-9);
    auto r = compare(act, exp, 64, options_for(DType::bf16));
    CHECK(r.mismatched == 1);
    CHECK(r.nonfinite_mismatched == 0);
    CHECK(r.greatest_abs.row == 3);
    CHECK(r.greatest_abs.col == 9);
    CHECK(r.greatest_abs.index == 3 * 64 + 9);
    CHECK(r.greatest_abs.allowed == allowed);
    CHECK(r.greatest_abs.expected == 1.5);

    act[3 * 64 + 9] = e + allowed * (1 - 1e-9);
    r = compare(act, exp, 64, options_for(DType::bf16));
    CHECK(r.allclose());
    CHECK(r.greatest_abs.index == 3 * 64 + 9);
  }
}

TEST_CASE("NaN never matches a number", "[metrics]") {
  for (DType t : {DType::fp64, DType::fp32, DType::bf16, DType::fp16}) {
    for (bool equal_nan : {false, true}) {
      const auto o = options_for(t, equal_nan);
      const auto r = compare_one(kNaN, 1.0, o);
      CHECK(r.mismatched == 1);
      CHECK(r.nonfinite_mismatched == 1);
      CHECK(r.nan_actual == 1);
      CHECK(r.max_abs == kInf);
      CHECK(compare_one(1.0, kNaN, o).nonfinite_mismatched == 1);
      CHECK(compare_one(kNaN, kInf, o).nonfinite_mismatched == 1);
      CHECK(compare_one(kInf, kNaN, o).nonfinite_mismatched == 1);
    }
  }
}

TEST_CASE("NaN matches NaN only with equal_nan", "[metrics]") {
  auto without = compare_one(kNaN, kNaN, options_for(DType::fp32, false));
  CHECK(without.mismatched == 1);
  CHECK(without.nonfinite_mismatched == 1);
  CHECK(without.nan_actual == 1);

  auto with = compare_one(kNaN, kNaN, options_for(DType::fp32, true));
  CHECK(with.allclose());
  CHECK(with.nan_actual == 1);
  CHECK(with.max_abs == 0);
  CHECK(with.worst.empty());
}

TEST_CASE("an infinity matches only the same infinity", "[metrics]") {
  const auto o = options_for(DType::bf16);
  const auto same = compare_one(kInf, kInf, o);
  CHECK(same.allclose());
  CHECK(same.inf_actual == 1);
  CHECK(compare_one(-kInf, -kInf, o).allclose());

  const auto opposite = compare_one(kInf, -kInf, o);
  CHECK(opposite.mismatched == 1);
  CHECK(opposite.nonfinite_mismatched == 1);
  CHECK(opposite.inf_actual == 1);

  CHECK(compare_one(kInf, 1e30, o).nonfinite_mismatched == 1);
  CHECK(compare_one(1e30, kInf, o).nonfinite_mismatched == 1);
  CHECK(compare_one(-kInf, 0.0, o).nonfinite_mismatched == 1);
}

TEST_CASE("a nonfinite mismatch shows in the maxima but not in the finite statistics",
          "[metrics]") {
  const std::vector<double> e = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0};
  const std::vector<double> a = {1.5, 2.0, kNaN, 4.0, kInf, 6.0};
  const auto r = compare(a, e, 3, options_for(DType::fp32));
  CHECK(r.mismatched == 3);
  CHECK(r.nonfinite_mismatched == 2);
  CHECK(r.nan_actual == 1);
  CHECK(r.inf_actual == 1);
  CHECK(r.max_abs == kInf);
  CHECK(r.max_rel == kInf);
  // The first nonfinite mismatch is named, in (row, col).
  CHECK(r.greatest_abs.index == 2);
  CHECK(r.greatest_abs.row == 0);
  CHECK(r.greatest_abs.col == 2);
  CHECK(r.greatest_abs.abs_err == kInf);
  // Over the four finite pairs: sum (a-e)^2 = 0.25, sum e^2 = 1 + 4 + 16 + 36 = 57.
  CHECK(r.rmse == 0.25);
  CHECK(r.nmse == 0.25 / 57);
  CHECK(r.snr_db == Approx(10 * std::log10(57 / 0.25)).epsilon(1e-15));
  CHECK(r.ulp_max == 0.5 / std::ldexp(1.0, -23));
  REQUIRE(r.worst.size() == 3);
  CHECK(r.worst[0].index == 2);
  CHECK(r.worst[1].index == 4);
  CHECK(r.worst[2].index == 0);
  CHECK(r.worst[2].abs_err == 0.5);

  const auto report = r.mismatch_report();
  CHECK_THAT(report, Contains("Mismatched elements: 3 / 6 (50.0%)"));
  CHECK_THAT(report, Contains("Mismatched NaN/Inf elements: 2 (actual holds 1 NaN, 1 Inf)"));
  CHECK_THAT(report, Contains("Greatest absolute difference: inf at index (0, 2)"));
}

TEST_CASE("zero expected: relative error inf, or 0 when actual is zero too", "[metrics]") {
  const auto o = options_for(DType::fp32);
  const auto nonzero = compare_one(1e-3, 0.0, o);
  CHECK(nonzero.max_rel == kInf);
  CHECK(nonzero.greatest_rel.rel_err == kInf);
  CHECK(nonzero.nmse == kInf);
  CHECK(nonzero.cosine == 0);
  CHECK(nonzero.snr_db == -kInf);

  const auto zeros = compare({0.0, 0.0}, {0.0, 0.0}, 2, o);
  CHECK(zeros.max_rel == 0);
  CHECK(zeros.nmse == 0);
  CHECK(zeros.cosine == 1);
  CHECK(zeros.snr_db == kInf);

  // Passes through atol although its relative error is infinite.
  const auto tiny = compare_one(5e-6, 0.0, o);
  CHECK(tiny.allclose());
  CHECK(tiny.max_rel == kInf);
}

TEST_CASE("cosine of opposite and orthogonal vectors", "[metrics]") {
  const auto o = options_for(DType::fp64);
  CHECK(compare({-1, -2, -3}, {1, 2, 3}, 3, o).cosine == -1);
  CHECK(compare({0, 1}, {1, 0}, 2, o).cosine == 0);
  CHECK(compare({1, 1}, {0, 0}, 2, o).cosine == 0);
}

TEST_CASE("ulp_of follows each dtype's grid, subnormals included", "[metrics]") {
  // Normal range: 2^(floor(log2|x|) - p + 1).
  CHECK(ulp_of(DType::bf16, 1.0) == std::ldexp(1.0, -7));
  CHECK(ulp_of(DType::bf16, 1.99) == std::ldexp(1.0, -7));
  CHECK(ulp_of(DType::bf16, 0.75) == std::ldexp(1.0, -8));
  CHECK(ulp_of(DType::bf16, -300.0) == std::ldexp(1.0, 1));
  CHECK(ulp_of(DType::fp16, 1.0) == std::ldexp(1.0, -10));
  CHECK(ulp_of(DType::fp16, 1000.0) == 0.5);
  CHECK(ulp_of(DType::fp16, 65504.0) == 32.0);
  CHECK(ulp_of(DType::fp32, 1.0) == std::ldexp(1.0, -23));
  CHECK(ulp_of(DType::fp32, 3.0) == std::ldexp(1.0, -22));
  CHECK(ulp_of(DType::fp32, -0.1) == std::ldexp(1.0, -27));
  CHECK(ulp_of(DType::fp64, 1.0) == std::ldexp(1.0, -52));
  // Agrees with the hardware grid where there is one.
  CHECK(ulp_of(DType::fp32, 1.0) == double(std::nextafter(1.0f, 2.0f) - 1.0f));
  CHECK(ulp_of(DType::fp32, 123.456) ==
        double(std::nextafter(123.456f, 1000.0f) - 123.456f));

  // Subnormal range and zero: the spacing of the smallest binade, 2^(emin - p + 1).
  CHECK(ulp_of(DType::fp16, std::ldexp(1.0, -14)) == std::ldexp(1.0, -24));
  CHECK(ulp_of(DType::fp16, std::ldexp(1.0, -15)) == std::ldexp(1.0, -24));
  CHECK(ulp_of(DType::fp16, 1e-6) == std::ldexp(1.0, -24));
  CHECK(ulp_of(DType::fp16, 0.0) == std::ldexp(1.0, -24));
  CHECK(ulp_of(DType::bf16, 1e-39) == std::ldexp(1.0, -133));
  CHECK(ulp_of(DType::bf16, 0.0) == std::ldexp(1.0, -133));
  CHECK(ulp_of(DType::fp32, 1e-40) == std::ldexp(1.0, -149));
  CHECK(ulp_of(DType::fp32, -0.0) == std::ldexp(1.0, -149));
  CHECK(ulp_of(DType::fp32, 1e-300) == std::ldexp(1.0, -149));
  CHECK(ulp_of(DType::fp64, 1e-310) == std::ldexp(1.0, -1074));
  CHECK(ulp_of(DType::fp64, 0.0) == std::numeric_limits<double>::denorm_min());
  CHECK(ulp_of(DType::fp64, std::ldexp(1.0, -1022)) == std::ldexp(1.0, -1074));
  CHECK(ulp_of(DType::fp64, std::ldexp(1.0, -1021)) == std::ldexp(1.0, -1073));

  CHECK(ulp_of(DType::fp32, kInf) == kInf);
  CHECK(std::isnan(ulp_of(DType::fp32, kNaN)));
}

TEST_CASE("ULP distance is counted on the chosen grid", "[metrics]") {
  auto o = options_for(DType::bf16);
  CHECK(compare_one(1.0 + 3 * std::ldexp(1.0, -7), 1.0, o).ulp_max == 3);
  CHECK(compare_one(-1.5 - std::ldexp(1.0, -6), -1.5, o).ulp_max == 2);
  // The unit is that of expected's binade (2^-7 here), not of actual's (2^-6).
  CHECK(compare_one(2.0 + std::ldexp(1.0, -7), 2.0 - std::ldexp(1.0, -7), o).ulp_max == 2);

  o = options_for(DType::fp16);
  CHECK(compare_one(1.0 + std::ldexp(1.0, -10), 1.0, o).ulp_max == 1);
  // fp16 subnormal spacing 2^-24.
  CHECK(compare_one(std::ldexp(1.0, -20) + 5 * std::ldexp(1.0, -24), std::ldexp(1.0, -20), o)
            .ulp_max == 5);
  CHECK(compare_one(3 * std::ldexp(1.0, -24), 0.0, o).ulp_max == 3);

  o = options_for(DType::fp32);
  CHECK(compare_one(1.0 + 7 * std::ldexp(1.0, -23), 1.0, o).ulp_max == 7);
  CHECK(compare_one(2 * std::ldexp(1.0, -149), 0.0, o).ulp_max == 2);
  // Half an ulp: the fp64 reference need not lie on the grid.
  CHECK(compare_one(1.0, 1.0 + std::ldexp(1.0, -24), o).ulp_max == Approx(0.5).epsilon(1e-7));
}

TEST_CASE("p99 of the ULP distances is the nearest-rank percentile", "[metrics]") {
  const double u = std::ldexp(1.0, -23);  // fp32 ulp at 1
  for (std::size_t n : {1000u, 150u, 101u, 100u, 1u}) {
    std::vector<double> e(n, 1.0), a(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = 1.0 + double(i + 1) * u;
    std::shuffle(a.begin(), a.end(), std::mt19937(7));
    const auto r = compare(a, e, 1, options_for(DType::fp32));
    // Distances 1..n, so the ceil(0.99 n)-th smallest is ceil(0.99 n) itself.
    const auto rank = static_cast<double>((99 * n + 99) / 100);
    INFO("n = " << n);
    CHECK(r.ulp_p99 == rank);
    CHECK(r.ulp_max == double(n));
  }
  // ceil(990) = 990, ceil(148.5) = 149, ceil(99.99) = 100, ceil(99) = 99.
  CHECK((99 * 1000 + 99) / 100 == 990);
  CHECK((99 * 150 + 99) / 100 == 149);
  CHECK((99 * 101 + 99) / 100 == 100);
  CHECK((99 * 100 + 99) / 100 == 99);
}

TEST_CASE("worst-k: greatest absolute differences first, with row and column", "[metrics]") {
  std::vector<double> e(3 * 4, 1.0), a(e);
  a[2 * 4 + 1] += 0.5;
  a[0 * 4 + 3] -= 0.25;
  a[1 * 4 + 0] += 1.0;
  a[1 * 4 + 2] += 0.125;
  auto o = options_for(DType::fp32);
  o.worst_k = 3;
  const auto r = compare(a, e, 4, o);
  REQUIRE(r.worst.size() == 3);
  CHECK(r.worst[0].row == 1);
  CHECK(r.worst[0].col == 0);
  CHECK(r.worst[0].abs_err == 1.0);
  CHECK(r.worst[0].actual == 2.0);
  CHECK(r.worst[0].expected == 1.0);
  CHECK(r.worst[1].row == 2);
  CHECK(r.worst[1].col == 1);
  CHECK(r.worst[1].index == 9);
  CHECK(r.worst[1].abs_err == 0.5);
  CHECK(r.worst[2].row == 0);
  CHECK(r.worst[2].col == 3);
  CHECK(r.worst[2].abs_err == 0.25);
  CHECK(r.worst[2].rel_err == 0.25);
  CHECK(r.worst[2].allowed == o.tol.atol + o.tol.rtol);

  SECTION("fewer differing elements than k: only those") {
    o.worst_k = 10;
    CHECK(compare(a, e, 4, o).worst.size() == 4);
  }
  SECTION("k = 0 keeps none") {
    o.worst_k = 0;
    CHECK(compare(a, e, 4, o).worst.empty());
  }
  SECTION("ties in index order") {
    std::vector<double> t(20, 0.0);
    for (std::size_t i : {17u, 3u, 11u, 5u}) t[i] = 1.0;
    o.worst_k = 3;
    const auto tied = compare(t, std::vector<double>(20, 0.0), 5, o);
    REQUIRE(tied.worst.size() == 3);
    CHECK(tied.worst[0].index == 3);
    CHECK(tied.worst[1].index == 5);
    CHECK(tied.worst[2].index == 11);
    CHECK(tied.worst[2].row == 2);
    CHECK(tied.worst[2].col == 1);
  }
}

TEST_CASE("worst-k matches a full sort on random data", "[metrics]") {
  std::mt19937 rng(42);
  std::normal_distribution<double> dist;
  const std::size_t n = 5000;
  std::vector<double> e(n), a(n);
  for (std::size_t i = 0; i < n; ++i) {
    e[i] = dist(rng);
    a[i] = e[i] + 1e-3 * dist(rng);
  }
  auto o = options_for(DType::fp32);
  o.worst_k = 17;
  const auto r = compare(a, e, 50, o);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return std::abs(a[x] - e[x]) > std::abs(a[y] - e[y]);
  });
  REQUIRE(r.worst.size() == 17);
  for (std::size_t j = 0; j < 17; ++j) CHECK(r.worst[j].index == std::int64_t(order[j]));
  CHECK(r.max_abs == r.worst[0].abs_err);
}

TEST_CASE("shape mismatches are rejected naming both shapes", "[metrics]") {
  const auto o = options_for(DType::fp32);
  const std::vector<double> six(6), five(5);
  CHECK_THROWS_AS(compare(six, five, 1, o), std::invalid_argument);
  CHECK_THROWS_WITH(compare(six, five, 1, o), Contains("[6] vs [5]"));
  CHECK_THROWS_AS(compare(six, six, 4, o), std::invalid_argument);
  CHECK_THROWS_WITH(compare(six, six, 4, o), Contains("[6]") && Contains("4 columns"));
  CHECK_THROWS_AS(compare(six, six, 0, o), std::invalid_argument);
  CHECK_THROWS_AS(compare(six, six, -2, o), std::invalid_argument);
  CHECK_NOTHROW(compare(six, six, 3, o));

  const Matrix<float> a(8, 64), b(8, 32), c(4, 128);
  CHECK_THROWS_AS(compare_tensors(a, b, o), std::invalid_argument);
  CHECK_THROWS_WITH(compare_tensors(a, b, o), Contains("[8, 64] vs [8, 32]"));
  // Same element count, different shape: still a mismatch.
  CHECK_THROWS_WITH(compare_tensors(a, c, o), Contains("[8, 64] vs [4, 128]"));
  CHECK_THROWS_WITH(compare_tensors(a, Matrix<double>(8, 32), o),
                    Contains("[8, 64] vs [8, 32]"));
}

TEST_CASE("the Matrix overloads agree with the span form", "[metrics]") {
  Matrix<float> act(4, 5);
  Matrix<double> exp(4, 5);
  std::vector<double> act_d(20), exp_d(20);
  for (std::int64_t i = 0; i < 20; ++i) {
    exp.data()[i] = 0.1 * double(i) - 0.7;
    act.data()[i] = float(exp.data()[i]) + (i == 13 ? 0.01f : 0.0f);
    exp_d[i] = exp.data()[i];
    act_d[i] = act.data()[i];
  }
  const auto o = options_for(DType::fp32);
  const auto m = compare_tensors(act, exp, o);
  const auto s = compare(act_d, exp_d, 5, o);
  CHECK(m.rows == 4);
  CHECK(m.cols == 5);
  CHECK(m.mismatched == s.mismatched);
  CHECK(m.rmse == s.rmse);
  CHECK(m.nmse == s.nmse);
  CHECK(m.ulp_max == s.ulp_max);
  CHECK(m.greatest_abs.row == 2);
  CHECK(m.greatest_abs.col == 3);

  const auto ff = compare_tensors(act, convert<float>(exp), o);
  CHECK(ff.rows == 4);
  CHECK(ff.greatest_abs.index == 13);
}

TEST_CASE("report text in the style of torch.testing.assert_close", "[metrics]") {
  std::vector<double> e(8 * 64, 1.0), a(e);
  e[1 * 64 + 7] = 0.5;
  a[1 * 64 + 7] = 0.75;   // abs 0.25, rel 0.5
  a[3 * 64 + 3] = 1.0625; // abs 0.0625, rel 0.0625
  e[5 * 64 + 0] = 2.0;
  a[5 * 64 + 0] = 2.125;  // abs 0.125, rel 0.0625
  // Passes through atol, relative error inf: must not be named while real mismatches exist.
  e[6 * 64 + 1] = 0.0;
  a[6 * 64 + 1] = 5e-6;
  const auto r = compare(a, e, 64, options_for(DType::bf16));
  CHECK(r.mismatched == 3);
  CHECK(r.max_rel == kInf);
  CHECK(r.greatest_rel.index == 1 * 64 + 7);
  const auto report = r.mismatch_report();
  CHECK(report ==
        "Tensor-likes are not close!\n\n"
        "Mismatched elements: 3 / 512 (0.6%)\n"
        "Greatest absolute difference: 0.25 at index (1, 7) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.5 at index (1, 7) (up to 0.016 allowed)");

  SECTION("once close, the greatest differences are over all elements") {
    a[1 * 64 + 7] = 0.5;
    a[3 * 64 + 3] = 1.0;
    a[5 * 64 + 0] = 2.0;
    const auto ok = compare(a, e, 64, options_for(DType::bf16));
    CHECK(ok.allclose());
    CHECK(ok.greatest_rel.index == 6 * 64 + 1);
    CHECK(ok.greatest_abs.index == 6 * 64 + 1);
    CHECK(ok.mismatch_report() == "Tensor-likes are close (0 / 512 mismatched)");
  }
}

TEST_CASE("empty tensors compare as close", "[metrics]") {
  const auto r = compare({}, {}, 0, options_for(DType::fp32));
  CHECK(r.numel == 0);
  CHECK(r.allclose());
  CHECK(r.mismatch_fraction() == 0);
  CHECK(r.rmse == 0);
  CHECK(r.cosine == 1);
  CHECK(r.snr_db == kInf);
  CHECK(r.mismatch_report() == "Tensor-likes are close (0 / 0 mismatched)");
}

TEST_CASE("statistics stay accurate over many millions of elements", "[metrics]") {
  // 0.1 + 2^-20 on top of 0.1, repeated: the exact sums are n times each term, so NMSE is the
  // ratio of one term to the other. Plain left-to-right double sums drift by ~1e-10 here.
  const std::size_t n = std::size_t(1) << 23;
  const double base = 0.1, off = base + std::ldexp(1.0, -20);
  std::vector<double> e(n, base), a(n, off);
  auto o = options_for(DType::fp32);
  o.worst_k = 0;
  const auto r = compare(a, e, 1024, o);
  const double d = off - base;
  CHECK(r.nmse == Approx(d * d / (base * base)).epsilon(1e-13));
  CHECK(r.rmse == Approx(d).epsilon(1e-13));
  CHECK(r.cosine == Approx(1.0).epsilon(1e-15));
}

TEST_CASE("agrees with a direct element-by-element evaluation across many blocks",
          "[metrics]") {
  std::mt19937 rng(2024);
  std::normal_distribution<double> dist;
  std::uniform_int_distribution<int> pick(0, 99);
  for (int trial = 0; trial < 5; ++trial) {
    const std::size_t n = 9000 + 1000 * std::size_t(trial);
    std::vector<double> e(n), a(n);
    for (std::size_t i = 0; i < n; ++i) {
      e[i] = dist(rng) * (i % 7 == 0 ? 1e-4 : 1.0);
      // Errors that grow along the tensor, so maxima move in late blocks too.
      a[i] = e[i] + 1e-2 * dist(rng) * double(i) / double(n);
      const int p = pick(rng);
      if (p == 0) e[i] = 0;
      if (p == 1 && trial % 2) a[i] = kNaN;
      if (p == 2 && trial % 2) a[i] = e[i] = -kInf;
    }
    auto o = options_for(DType::bf16, trial == 3);
    o.worst_k = 9;
    const auto r = compare(a, e, 100, o);

    std::int64_t mismatched = 0, nonfinite = 0;
    double max_abs = 0, max_rel = 0, bad_abs = -1, bad_rel = -1;
    std::int64_t bad_abs_i = -1, bad_rel_i = -1;
    std::vector<std::pair<double, std::int64_t>> ranked;
    std::vector<double> ulps;
    for (std::size_t i = 0; i < n; ++i) {
      const bool finite = std::isfinite(a[i]) && std::isfinite(e[i]);
      double abs_err = 0, rel_err = 0;
      bool match;
      if (finite) {
        abs_err = std::abs(a[i] - e[i]);
        rel_err = e[i] == 0 ? (abs_err > 0 ? kInf : 0) : abs_err / std::abs(e[i]);
        match = abs_err <= o.tol.atol + o.tol.rtol * std::abs(e[i]);
        ulps.push_back(abs_err / ulp_of(DType::bf16, e[i]));
      } else {
        match = (std::isnan(a[i]) && std::isnan(e[i]) && o.equal_nan) || a[i] == e[i];
        if (!match) abs_err = rel_err = kInf;
      }
      max_abs = std::max(max_abs, abs_err);
      max_rel = std::max(max_rel, rel_err);
      if (!match) {
        ++mismatched;
        nonfinite += !finite;
        if (abs_err > bad_abs) bad_abs = abs_err, bad_abs_i = std::int64_t(i);
        if (rel_err > bad_rel) bad_rel = rel_err, bad_rel_i = std::int64_t(i);
      }
      if (abs_err > 0) ranked.push_back({-abs_err, std::int64_t(i)});
    }
    std::sort(ranked.begin(), ranked.end());
    std::sort(ulps.begin(), ulps.end());

    INFO("trial " << trial);
    CHECK(r.mismatched == mismatched);
    CHECK(r.nonfinite_mismatched == nonfinite);
    CHECK(r.max_abs == max_abs);
    CHECK(r.max_rel == max_rel);
    REQUIRE(mismatched > 0);
    CHECK(r.greatest_abs.index == bad_abs_i);
    CHECK(r.greatest_rel.index == bad_rel_i);
    CHECK(r.greatest_abs.row == bad_abs_i / 100);
    CHECK(r.greatest_abs.col == bad_abs_i % 100);
    REQUIRE(r.worst.size() == 9);
    for (std::size_t j = 0; j < 9; ++j) CHECK(r.worst[j].index == ranked[j].second);
    CHECK(r.ulp_max == ulps.back());
    CHECK(r.ulp_p99 == ulps[(99 * ulps.size() + 99) / 100 - 1]);
  }
}
