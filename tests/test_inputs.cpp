// The counter-based generator and the inputs drawn from it: determinism, independence of
// seed / tensor name / index, distributions (tolerances from the central limit theorem),
// dtype grids, the nn.Linear init range, and outlier channels.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/inputs/counter_rng.hpp"
#include "harness/inputs/synthetic_inputs.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;

namespace {

InputConfig config(FfnShape shape, std::int64_t tokens, std::uint64_t seed, DType t,
                   int outliers = 0, double scale = 32.0) {
  InputConfig c;
  c.shape = std::move(shape);
  c.tokens = tokens;
  c.seed = seed;
  c.dtype = t;
  c.outlier_channels = outliers;
  c.outlier_scale = scale;
  return c;
}

FfnShape tiny() { return *find_shape("tiny"); }

bool same(const FfnInputs& a, const FfnInputs& b) {
  return a.x == b.x && a.weights.w_in == b.weights.w_in && a.weights.b_in == b.weights.b_in &&
         a.weights.w_out == b.weights.w_out && a.weights.b_out == b.weights.b_out;
}

}  // namespace

TEST_CASE("CounterRng is a pure function of (seed, name, index)", "[inputs]") {
  const CounterRng a(1, "x"), a2(1, "x"), seed2(2, "x"), name2(1, "proj_in.weight");
  std::int64_t same_seed = 0, same_name = 0, same_next = 0;
  for (std::uint64_t i = 0; i < 10000; ++i) {
    CHECK(a.bits(i) == a2.bits(i));
    CHECK(a.uniform(i) == a2.uniform(i));
    CHECK(a.normal(i) == a2.normal(i));
    same_seed += a.bits(i) == seed2.bits(i);
    same_name += a.bits(i) == name2.bits(i);
    same_next += a.bits(i) == a.bits(i + 1);
  }
  // 64-bit values: a collision among 10^4 pairs has probability ~10^-15.
  CHECK(same_seed == 0);
  CHECK(same_name == 0);
  CHECK(same_next == 0);
  // Order of evaluation does not matter.
  const std::uint64_t late = a.bits(123456789);
  for (std::uint64_t i = 0; i < 100; ++i) (void)a.bits(i);
  CHECK(a.bits(123456789) == late);
  // Neighbouring seeds and similar names give unrelated streams: about half the bits differ.
  const CounterRng b0(0, "proj_out.bias"), b1(1, "proj_out.bias"), bn(0, "proj_out.biat");
  double flips_seed = 0, flips_name = 0;
  const int n = 4096;
  for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(n); ++i) {
    flips_seed += std::popcount(b0.bits(i) ^ b1.bits(i));
    flips_name += std::popcount(b0.bits(i) ^ bn.bits(i));
  }
  // Mean of n * 64 fair bits: 32 +- 4 / sqrt(n) = 32 +- 0.0625 (1 sd); allow 6 sd.
  CHECK(std::fabs(flips_seed / n - 32) < 0.375);
  CHECK(std::fabs(flips_name / n - 32) < 0.375);
}

TEST_CASE("CounterRng's blocks of uniforms are the uniforms one by one", "[inputs]") {
  const CounterRng rng(7, "proj_in.weight");
  // An odd length and start, so that a vectorized loop's remainder is exercised too.
  std::vector<double> block(4099);
  const std::uint64_t first = (std::uint64_t{1} << 40) + 3;
  rng.uniform(first, block);
  std::int64_t differ = 0;
  for (std::size_t i = 0; i < block.size(); ++i) differ += block[i] != rng.uniform(first + i);
  CHECK(differ == 0);
  // The symmetric draws, also near the counter's wrap (the product first * k_golden wraps).
  const double bound = 1.0 / 64;
  for (const std::uint64_t start : {first, ~std::uint64_t{0} - 2000}) {
    rng.uniform_symmetric(start, bound, block);
    differ = 0;
    for (std::size_t i = 0; i < block.size(); ++i) differ += block[i] != (2.0 * rng.uniform(start + i) - 1.0) * bound;
    CHECK(differ == 0);
  }
}

TEST_CASE("CounterRng distributions over 1M samples", "[inputs]") {
  const CounterRng rng(20240601, "distribution");
  const int n = 1'000'000;
  double su = 0, suu = 0, sn = 0, snn = 0, snnnn = 0;
  std::int64_t within_one_sd = 0, lower_half = 0;
  double umin = 1, umax = 0;
  std::vector<std::int64_t> bins(16, 0);
  for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(n); ++i) {
    const double u = rng.uniform(i);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    umin = std::min(umin, u);
    umax = std::max(umax, u);
    su += u;
    suu += u * u;
    lower_half += u < 0.5;
    ++bins[static_cast<std::size_t>(u * 16)];
    const double z = rng.normal(i);
    REQUIRE(std::isfinite(z));
    sn += z;
    snn += z * z;
    snnnn += z * z * z * z;
    within_one_sd += std::fabs(z) < 1.0;
  }
  const double mu = su / n, vu = suu / n - mu * mu;
  const double mz = sn / n, vz = snn / n - mz * mz, kz = snnnn / n;
  std::printf("CounterRng 1M: uniform mean %.6f var %.6f [%.2e, %.6f]; normal mean %.6f var %.6f "
              "E[z^4] %.4f P(|z|<1) %.5f\n",
              mu, vu, umin, umax, mz, vz, kz, double(within_one_sd) / n);
  // Tolerances: 5 standard errors of the mean of n i.i.d. samples.
  //   uniform: sd 1/sqrt(12) -> 5 * 0.2887 / 1000 = 1.44e-3; u^2 has sd 0.298 -> var 1.5e-3.
  CHECK(std::fabs(mu - 0.5) < 1.5e-3);
  CHECK(std::fabs(vu - 1.0 / 12) < 1.5e-3);
  //   P(u < 1/2) = 1/2: binomial sd 0.5 / 1000 -> 2.5e-3.
  CHECK(std::fabs(double(lower_half) / n - 0.5) < 2.5e-3);
  //   16 bins of expected 62500, binomial sd sqrt(n p (1-p)) = 242 -> 5 sd = 1210.
  for (std::int64_t c : bins) CHECK(std::abs(c - 62500) < 1210);
  //   normal: mean sd 1/1000 -> 5e-3; z^2 has variance 2 -> 5 * 1.414e-3 = 7.1e-3;
  //   z^4 has mean 3 and variance 96 -> 5 * 9.8e-3 = 0.049; P(|z| < 1) = 0.682689, binomial
  //   sd 4.65e-4 -> 2.3e-3.
  CHECK(std::fabs(mz) < 5e-3);
  CHECK(std::fabs(vz - 1) < 7.1e-3);
  CHECK(std::fabs(kz - 3) < 0.049);
  CHECK(std::fabs(double(within_one_sd) / n - 0.682689) < 2.3e-3);
}

TEST_CASE("inputs are deterministic, shared across calls, and row-independent", "[inputs]") {
  for (DType t : {DType::fp32, DType::bf16, DType::fp16}) {
    const FfnInputs a = make_inputs(config(tiny(), 16, 3, t));
    const FfnInputs b = make_inputs(config(tiny(), 16, 3, t));
    CHECK(same(a, b));
    REQUIRE(a.x.rows() == 16);
    REQUIRE(a.x.cols() == 64);
    REQUIRE(a.weights.w_in.rows() == 256);
    REQUIRE(a.weights.w_in.cols() == 64);
    REQUIRE(a.weights.b_in.size() == 256);
    REQUIRE(a.weights.w_out.rows() == 64);
    REQUIRE(a.weights.w_out.cols() == 256);
    REQUIRE(a.weights.b_out.size() == 64);
    // Another seed changes every tensor.
    const FfnInputs c = make_inputs(config(tiny(), 16, 4, t));
    CHECK(a.x != c.x);
    CHECK(a.weights.w_in != c.weights.w_in);
    CHECK(a.weights.b_in != c.weights.b_in);
    CHECK(a.weights.w_out != c.weights.w_out);
    CHECK(a.weights.b_out != c.weights.b_out);
    // Tokens are rows of one counter stream: fewer tokens give a prefix, same weights.
    const FfnInputs d = make_inputs(config(tiny(), 5, 3, t));
    CHECK(d.x == a.x.row_block(0, 5));
    CHECK(d.weights.w_in == a.weights.w_in);
    CHECK(d.weights.w_out == a.weights.w_out);
  }
}

TEST_CASE("x is N(0, 1) on the dtype grid", "[inputs]") {
  for (DType t : {DType::fp32, DType::bf16, DType::fp16}) {
    const FfnInputs in = make_inputs(config(tiny(), 1024, 11, t));  // 65536 values
    double s = 0, ss = 0;
    for (float v : in.x.values()) {
      CHECK(is_representable(t, v));
      s += v;
      ss += double(v) * v;
    }
    const double n = static_cast<double>(in.x.size()), mean = s / n, var = ss / n - mean * mean;
    INFO(dtype_name(t) << " mean " << mean << " var " << var);
    // 5 standard errors with n = 65536: mean 5 / 256 = 0.0195; var 5 sqrt(2) / 256 = 0.0276.
    // (Rounding to bf16 changes the variance by ~u^2/3 relative, negligible.)
    CHECK(std::fabs(mean) < 0.0195);
    CHECK(std::fabs(var - 1) < 0.0276);
  }
}

TEST_CASE("weights: on the dtype grid, within the nn.Linear init range", "[inputs]") {
  // tiny: fan_in 64 and 256 (bounds 1/8, 1/16 on every grid); a custom shape with fan_in
  // 48 and 96, whose bounds 1/sqrt(48) and 1/sqrt(96) lie on no grid.
  const FfnShape odd{"odd", 48, 96, 4};
  for (const FfnShape& shape : {tiny(), odd})
    for (DType t : {DType::fp32, DType::bf16, DType::fp16}) {
      const FfnInputs in = make_inputs(config(shape, 4, 21, t));
      const auto check = [&](std::span<const float> v, std::int64_t fan_in, const char* name) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
        // U(-b, b) rounded onto the grid: rounding is monotone, so |w| <= fl(b). (It may
        // exceed b itself by up to half an ulp when b is not on the grid.)
        const double rounded_bound = round_to(t, bound);
        double max_abs = 0, sum = 0;
        std::int64_t above_raw_bound = 0;
        for (float w : v) {
          CHECK(is_representable(t, w));
          CHECK(std::fabs(w) <= rounded_bound);
          above_raw_bound += std::fabs(w) > bound;
          max_abs = std::max(max_abs, double(std::fabs(w)));
          sum += w;
        }
        INFO(shape.name << " " << dtype_name(t) << " " << name << ": max |w| " << max_abs
                        << " bound " << bound << ", " << above_raw_bound << " above it");
        // The full range is used: with n draws the largest |w| falls short of b by about
        // b / n; require within 10%, or 2 ulps for the short bias vectors.
        if (v.size() >= 1000) CHECK(max_abs > 0.9 * bound);
        // Mean zero: sd of the mean of n uniforms is b / sqrt(3 n); 6 sd.
        CHECK(std::fabs(sum / double(v.size())) < 6 * bound / std::sqrt(3.0 * double(v.size())));
        if (above_raw_bound > 0)
          std::printf("init %s %s %s: %lld of %zu values exceed 1/sqrt(fan_in) = %.7g (by "
                      "rounding; fl(b) = %.7g)\n",
                      shape.name.c_str(), std::string(dtype_name(t)).c_str(), name,
                      (long long)above_raw_bound, v.size(), bound, rounded_bound);
      };
      check(in.weights.w_in.values(), shape.dim, "proj_in.weight");
      check(in.weights.b_in, shape.dim, "proj_in.bias");
      check(in.weights.w_out.values(), shape.inner, "proj_out.weight");
      check(in.weights.b_out, shape.inner, "proj_out.bias");
    }
}

TEST_CASE("outlier channels: distinct, counted, scaled", "[inputs]") {
  const FfnShape shape = tiny();
  for (int count : {0, 1, 3, 8, 64}) {
    const InputConfig c = config(shape, 32, 5, DType::bf16, count, 32.0);
    const std::vector<std::int64_t> ch = outlier_channels(c);
    REQUIRE(static_cast<int>(ch.size()) == count);
    CHECK(std::is_sorted(ch.begin(), ch.end()));
    CHECK(std::set<std::int64_t>(ch.begin(), ch.end()).size() == ch.size());
    for (std::int64_t j : ch) {
      CHECK(j >= 0);
      CHECK(j < shape.dim);
    }
    CHECK(outlier_channels(c) == ch);  // deterministic
    // x with outliers = x without, times the scale on exactly those channels. 32 is a
    // power of two, so rounding commutes with it: equality is exact.
    const FfnInputs plain = make_inputs(config(shape, 32, 5, DType::bf16));
    const FfnInputs with = make_inputs(c);
    for (std::int64_t j = 0; j < shape.dim; ++j) {
      const bool outlier = std::binary_search(ch.begin(), ch.end(), j);
      for (std::int64_t t = 0; t < 32; ++t) {
        INFO("channel " << j << " token " << t);
        CHECK(with.x(t, j) == (outlier ? 32.0f : 1.0f) * plain.x(t, j));
      }
    }
    // Weights do not depend on the outliers.
    CHECK(with.weights.w_in == plain.weights.w_in);
    CHECK(with.weights.w_out == plain.weights.w_out);
  }
  // A scale that is not a power of two: the outlier value is fl(scale * z), rounded once.
  {
    const InputConfig c = config(shape, 8, 5, DType::bf16, 4, 10.0);
    const FfnInputs with = make_inputs(c);
    const FfnInputs exact = make_inputs(config(shape, 8, 5, DType::fp32));
    for (std::int64_t j : outlier_channels(c))
      for (std::int64_t t = 0; t < 8; ++t) {
        // fp32 x is z rounded to fp32; bf16 outlier is fl_bf16(10 z): within one bf16
        // rounding (u = 2^-8) plus the fp32 rounding of z.
        const double want = 10.0 * exact.x(t, j);
        CHECK(std::fabs(with.x(t, j) - want) <= (0x1.0p-8 + 0x1.0p-20) * std::fabs(want));
        CHECK(is_representable(DType::bf16, with.x(t, j)));
      }
  }
  // Different seeds choose different channels (8 of 64: a coincidence has probability
  // 1 / C(64, 8) ~ 2e-10).
  CHECK(outlier_channels(config(shape, 1, 1, DType::bf16, 8)) !=
        outlier_channels(config(shape, 1, 2, DType::bf16, 8)));
  // All channels.
  CHECK(outlier_channels(config(shape, 1, 1, DType::bf16, 64)).size() == 64);
}

TEST_CASE("input errors", "[inputs]") {
  CHECK_THROWS_AS(make_inputs(config(tiny(), 0, 1, DType::bf16)), std::invalid_argument);
  CHECK_THROWS_AS(make_inputs(config(tiny(), -3, 1, DType::bf16)), std::invalid_argument);
  CHECK_THROWS_AS(outlier_channels(config(tiny(), 1, 1, DType::bf16, 65)), std::invalid_argument);
  CHECK_THROWS_AS(outlier_channels(config(tiny(), 1, 1, DType::bf16, -1)), std::invalid_argument);
  CHECK_THROWS_AS(make_inputs(config(tiny(), 4, 1, DType::bf16, 65)), std::invalid_argument);
}

TEST_CASE("shape presets", "[inputs]") {
  const auto video = find_shape("ltx2-video"), audio = find_shape("ltx2-audio");
  REQUIRE(video.has_value());
  REQUIRE(audio.has_value());
  // DESIGN section 1: video 4096 -> 16384, audio 2048 -> 8192.
  CHECK(video->dim == 4096);
  CHECK(video->inner == 16384);
  CHECK(audio->dim == 2048);
  CHECK(audio->inner == 8192);
  CHECK_FALSE(find_shape("nonexistent").has_value());
}
