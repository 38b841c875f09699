// Quantization kernels (kernels/cpu/quantize.hpp, DESIGN section 3): scales of every layout,
// codes on the format grid within the documented error bound, saturation, zero blocks, the
// amax override; quantized_linear against its documented fp32 arithmetic (recomputed here with
// explicit float operations) and an fp64 reference on the dequantized operands; the shards
// rows_of / cols_of take as a checkpoint loader does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/quantize.hpp"
#include "kernels/minifloat.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;
using Catch::Matchers::Contains;

namespace {

constexpr QuantFormat kFormats[] = {QuantFormat::e4m3, QuantFormat::int8, QuantFormat::e2m1};

// The magnitudes of a format's grid, from the format's codes (the decoder is checked code by
// code against the OCP definition in test_quant_formats).
const std::set<double>& grid_of(QuantFormat f) {
  static const std::set<double> e4m3 = [] {
    std::set<double> s;
    for (unsigned c = 0; c < 0x7f; ++c) s.insert(minifloat_decode(k_e4m3, static_cast<std::uint8_t>(c)));
    return s;
  }();
  static const std::set<double> e2m1 = [] {
    std::set<double> s;
    for (unsigned c = 0; c < 0x8; ++c) s.insert(minifloat_decode(k_e2m1, static_cast<std::uint8_t>(c)));
    return s;
  }();
  static const std::set<double> int8 = [] {
    std::set<double> s;
    for (int c = 0; c <= 127; ++c) s.insert(c);
    return s;
  }();
  switch (f) {
    case QuantFormat::e4m3: return e4m3;
    case QuantFormat::e2m1: return e2m1;
    case QuantFormat::int8: return int8;
  }
  return int8;
}

bool on_grid(QuantFormat f, float v) { return grid_of(f).count(std::fabs(double(v))) == 1; }

double format_max(QuantFormat f) {
  switch (f) {
    case QuantFormat::e4m3: return 448;
    case QuantFormat::e2m1: return 6;
    case QuantFormat::int8: return 127;
  }
  return 0;
}

// N(0, 1) with outliers (x 50), scattered zeros and small values down to 1e-6.
Matrix<float> test_matrix(std::int64_t rows, std::int64_t cols, std::mt19937_64& gen) {
  std::normal_distribution<double> nd;
  std::uniform_real_distribution<double> ud;
  Matrix<float> m(rows, cols);
  for (float& v : m.values()) {
    double x = nd(gen);
    const double r = ud(gen);
    if (r < 0.01) x *= 50;
    else if (r < 0.05) x = 0;
    else if (r < 0.10) x *= 1e-6;
    v = static_cast<float>(x);
  }
  return m;
}

// Element (i, j) lies in block (i / br, j / bc) of the layout's grid.
std::int64_t block_of(std::int64_t block, std::int64_t n) { return block > 0 ? block : n; }

struct NamedLayout {
  const char* name;
  ScaleLayout layout;
};

std::vector<NamedLayout> layouts_of(QuantFormat f) {
  return {{"per-tensor", {f, 0, 0, false}},
          {"per-row", {f, 1, 0, false}},
          {"per-column", {f, 0, 1, false}},
          {"128x128", {f, 128, 128, false}},
          {"1x128", {f, 1, 128, false}},
          {"1x16", {f, 1, 16, false}}};
}

// Checks one quantized tensor against its input: codes on the grid, each element within the
// documented error bound. Returns the largest error / bound.
double check_codes(const QuantizedMatrix& q, const Matrix<float>& x) {
  double worst = 0;
  std::int64_t off_grid = 0, over = 0;
  for (std::int64_t i = 0; i < x.rows(); ++i)
    for (std::int64_t j = 0; j < x.cols(); ++j) {
      const float code = q.values(i, j);
      if (!on_grid(q.format, code)) ++off_grid;
      const double s = q.scale(i, j);  // the fp32 scale the value was divided by
      const double err = std::fabs(double(code) * s - x(i, j));
      const double bound = quantization_error_bound(q.format, x(i, j), s);
      if (err > bound) {
        ++over;
        UNSCOPED_INFO("(" << i << ", " << j << ") x " << x(i, j) << " code " << code << " scale " << s
                          << " error " << err << " bound " << bound);
      }
      if (bound > 0) worst = std::max(worst, err / bound);
    }
  CHECK(off_grid == 0);
  CHECK(over == 0);
  return worst;
}

// bf16 spacing at |x| (normal range; bf16 shares fp32's exponent range).
double bf16_ulp(double x) {
  const double a = std::max(std::fabs(x), 0x1.0p-126);
  return std::ldexp(1.0, std::ilogb(a) - 7);
}

float round_bf16(float x) { return round_to(DType::bf16, x); }

}  // namespace

// --- quantize / quantize_static ---------------------------------------------------------

TEST_CASE("quantize: block scales are amax / format max for every layout", "[quantize]") {
  std::mt19937_64 gen(11);
  // 160 x 272: the 128-blocks and 16-groups of the last block row/column are partial.
  const Matrix<float> x = test_matrix(160, 272, gen);
  for (QuantFormat f : kFormats)
    for (const auto& [name, layout] : layouts_of(f)) {
      INFO(quant_format_name(f) << " " << name);
      const QuantizedMatrix q = cpu::quantize(x.view(), layout);
      const std::int64_t br = block_of(layout.block_rows, x.rows()), bc = block_of(layout.block_cols, x.cols());
      REQUIRE(q.block_rows == br);
      REQUIRE(q.block_cols == bc);
      REQUIRE(q.global_scale == 1.0f);
      REQUIRE(q.scales.rows() == (x.rows() + br - 1) / br);
      REQUIRE(q.scales.cols() == (x.cols() + bc - 1) / bc);
      std::int64_t wrong = 0;
      for (std::int64_t bi = 0; bi < q.scales.rows(); ++bi)
        for (std::int64_t bj = 0; bj < q.scales.cols(); ++bj) {
          float amax = 0;
          for (std::int64_t i = bi * br; i < std::min(x.rows(), (bi + 1) * br); ++i)
            for (std::int64_t j = bj * bc; j < std::min(x.cols(), (bj + 1) * bc); ++j)
              amax = std::max(amax, std::fabs(x(i, j)));
          const float expected = amax / static_cast<float>(format_max(f));
          if (q.scales(bi, bj) != expected) ++wrong;
        }
      CHECK(wrong == 0);
      const Matrix<float> amax = cpu::block_amax(x.view(), layout);
      REQUIRE(amax.rows() == q.scales.rows());
      REQUIRE(amax.cols() == q.scales.cols());
      for (std::size_t b = 0; b < amax.size(); ++b)
        CHECK(q.scales.data()[b] == amax.data()[b] / static_cast<float>(format_max(f)));
    }
}

TEST_CASE("quantize: two-level 1x16 scales are E4M3-rounded under the global scale", "[quantize]") {
  std::mt19937_64 gen(12);
  const Matrix<float> x = test_matrix(64, 256, gen);
  float amax_all = 0;
  for (float v : x.values()) amax_all = std::max(amax_all, std::fabs(v));
  // The NVFP4 recipe: the global scale puts the block scales amax_b / 6 into E4M3's range.
  for (float global : {static_cast<float>(amax_all / (6.0 * 448.0)), 0.01f, 1.0f}) {
    INFO("global scale " << global);
    const ScaleLayout layout{QuantFormat::e2m1, 1, 16, true};
    const QuantizedMatrix q = cpu::quantize(x.view(), layout, global);
    REQUIRE(q.global_scale == global);
    REQUIRE(q.scales.rows() == 64);
    REQUIRE(q.scales.cols() == 16);
    std::int64_t wrong = 0, off_grid = 0;
    for (std::int64_t i = 0; i < 64; ++i)
      for (std::int64_t b = 0; b < 16; ++b) {
        float amax = 0;
        for (std::int64_t j = 16 * b; j < 16 * b + 16; ++j) amax = std::max(amax, std::fabs(x(i, j)));
        const float s = q.scales(i, b);
        const float expected = minifloat_round(k_e4m3, (amax / 6.0f) / global, /*saturate=*/true);
        if (s != expected) ++wrong;
        if (!grid_of(QuantFormat::e4m3).count(s)) ++off_grid;
        // Within E4M3's relative rounding of amax / (6 g), unless saturated or subnormal.
        const double exact = amax / 6.0 / global;
        if (exact >= 0x1.0p-6 && exact <= 448) CHECK(std::fabs(s - exact) <= 0x1.0p-4 * exact * (1 + 1e-6));
      }
    CHECK(wrong == 0);
    CHECK(off_grid == 0);
    const double worst = check_codes(q, x);
    CHECK(worst > 0.5);
  }
}

TEST_CASE("quantize: codes on the grid and errors within quantization_error_bound which is not loose",
          "[quantize]") {
  std::mt19937_64 gen(13);
  for (int trial = 0; trial < 3; ++trial) {
    const Matrix<float> x = test_matrix(128 + 32 * trial, 256 + 16 * trial, gen);
    for (QuantFormat f : kFormats)
      for (const auto& [name, layout] : layouts_of(f)) {
        INFO("trial " << trial << " " << quant_format_name(f) << " " << name);
        const QuantizedMatrix q = cpu::quantize(x.view(), layout);
        const double worst = check_codes(q, x);
        CHECK(worst <= 1.0);
        CHECK(worst > 0.5);  // the bound is reached within a factor 2 somewhere
      }
  }
}

TEST_CASE("quantize: all-zero blocks give zero scales and zero codes", "[quantize]") {
  std::mt19937_64 gen(14);
  for (QuantFormat f : kFormats)
    for (const auto& [name, layout] : layouts_of(f)) {
      INFO(quant_format_name(f) << " " << name);
      Matrix<float> x = test_matrix(256, 256, gen);
      const std::int64_t br = block_of(layout.block_rows, 256), bc = block_of(layout.block_cols, 256);
      // Zero the block holding the last row's first element (for per-tensor: everything).
      const std::int64_t b0 = (255 / br) * br;
      for (std::int64_t i = b0; i < std::min<std::int64_t>(256, b0 + br); ++i)
        for (std::int64_t j = 0; j < bc; ++j) x(i, j) = (i + j) % 2 ? 0.0f : -0.0f;
      for (const bool two_level : {false, true}) {
        if (two_level && f != QuantFormat::e2m1) continue;
        ScaleLayout l = layout;
        l.two_level = two_level;
        const QuantizedMatrix q = cpu::quantize(x.view(), l, two_level ? 0.01f : 1.0f);
        CHECK(q.scales(255 / br, 0) == 0.0f);
        std::int64_t nonzero = 0;
        for (std::int64_t i = b0; i < std::min<std::int64_t>(256, b0 + br); ++i)
          for (std::int64_t j = 0; j < bc; ++j)
            if (!(q.values(i, j) == 0.0f)) ++nonzero;  // NaN counts as nonzero
        CHECK(nonzero == 0);
        check_codes(q, x);
      }
    }
}

TEST_CASE("quantize: a given amax replaces the blocks' own", "[quantize]") {
  std::mt19937_64 gen(15);
  const Matrix<float> x = test_matrix(16, 96, gen);
  for (QuantFormat f : kFormats) {
    INFO(quant_format_name(f));
    const ScaleLayout layout{f, 1, 0, false};
    const Matrix<float> own = cpu::block_amax(x.view(), layout);
    Matrix<float> given(16, 1);
    for (std::int64_t i = 0; i < 16; ++i)  // larger for even rows, smaller (saturating) for odd
      given(i, 0) = i % 2 ? own(i, 0) / 4 : own(i, 0) * 3;
    const QuantizedMatrix q = cpu::quantize(x.view(), layout, 1.0f, &given);
    const QuantizedMatrix q_own = cpu::quantize(x.view(), layout);
    bool some_code_differs = false;
    for (std::int64_t i = 0; i < 16; ++i) {
      CHECK(q.scales(i, 0) == given(i, 0) / static_cast<float>(format_max(f)));
      for (std::int64_t j = 0; j < 96; ++j) {
        CHECK(q.values(i, j) == quantize_value(f, x(i, j) / q.scales(i, 0)));
        some_code_differs |= q.values(i, j) != q_own.values(i, j);
        if (i % 2 && std::fabs(x(i, j)) >= own(i, 0) / 2)  // beyond 2x the given amax: saturated
          CHECK(std::fabs(q.values(i, j)) == format_max(f));
      }
    }
    CHECK(some_code_differs);
    check_codes(q, x);
  }
}

TEST_CASE("quantize_static: the given scale and saturation beyond max * scale", "[quantize]") {
  std::mt19937_64 gen(16);
  const Matrix<float> x = test_matrix(32, 200, gen);
  float amax = 0;
  for (float v : x.values()) amax = std::max(amax, std::fabs(v));
  for (QuantFormat f : kFormats) {
    INFO(quant_format_name(f));
    // A calibration amax a quarter of this batch's: the largest values saturate.
    const float scale = amax / 4 / static_cast<float>(format_max(f));
    const QuantizedMatrix q = cpu::quantize_static(x.view(), f, scale);
    REQUIRE(q.scales.rows() == 1);
    REQUIRE(q.scales.cols() == 1);
    CHECK(q.scales(0, 0) == scale);
    CHECK(q.global_scale == 1.0f);
    CHECK(q.block_rows == 32);
    CHECK(q.block_cols == 200);
    std::int64_t saturated = 0;
    for (std::int64_t i = 0; i < 32; ++i)
      for (std::int64_t j = 0; j < 200; ++j)
        if (std::fabs(double(x(i, j))) >= format_max(f) * scale) {
          ++saturated;
          CHECK(q.values(i, j) == std::copysign(static_cast<float>(format_max(f)), x(i, j)));
        }
    CHECK(saturated > 0);
    const double worst = check_codes(q, x);
    CHECK(worst > 0.5);
  }
  CHECK_THROWS_AS(cpu::quantize_static(x.view(), QuantFormat::e4m3, 0.0f), std::invalid_argument);
  CHECK_THROWS_AS(cpu::quantize_static(x.view(), QuantFormat::e4m3, -1.0f), std::invalid_argument);
}

// --- quantized_linear -------------------------------------------------------------------

namespace {

// A random code of the format. E4M3 codes are drawn from [16, 448] (exponent field >= 11) or
// zero: with them every product is a multiple of 4 and below 2^18, so any sum of up to 128
// products is exact in fp32 whatever the order. E2M1 (multiples of 0.5, at most 6) and
// INT8 codes are unrestricted.
float random_code(QuantFormat f, std::mt19937_64& gen) {
  std::uniform_int_distribution<int> coin(0, 9);
  if (coin(gen) == 0) return 0.0f;
  const bool negative = coin(gen) < 5;
  switch (f) {
    case QuantFormat::e4m3: {
      std::uniform_int_distribution<unsigned> e(11, 15), m(0, 7);
      unsigned ee = e(gen), mm = m(gen);
      if (ee == 15 && mm == 7) mm = 6;  // S.1111.111 is NaN
      const float v = minifloat_decode(k_e4m3, static_cast<std::uint8_t>(ee << 3 | mm));
      return negative ? -v : v;
    }
    case QuantFormat::e2m1: {
      std::uniform_int_distribution<unsigned> c(0, 15);
      return minifloat_decode(k_e2m1, static_cast<std::uint8_t>(c(gen)));
    }
    case QuantFormat::int8: {
      std::uniform_int_distribution<int> c(-127, 127);
      return static_cast<float>(c(gen));
    }
  }
  return 0;
}

// Random positive fp32 scale, or (e4m3_scales) a positive normal E4M3 value as NVFP4 stores.
float random_scale(std::mt19937_64& gen, bool e4m3_scales) {
  if (e4m3_scales) {
    std::uniform_int_distribution<unsigned> c(0x08, 0x7e);
    return minifloat_decode(k_e4m3, static_cast<std::uint8_t>(c(gen)));
  }
  std::uniform_real_distribution<double> u(-12, -2);
  return static_cast<float>(std::exp2(u(gen)));
}

QuantizedMatrix random_quantized(QuantFormat f, std::int64_t rows, std::int64_t cols, std::int64_t br,
                                 std::int64_t bc, std::mt19937_64& gen, bool e4m3_scales = false,
                                 float global = 1.0f) {
  QuantizedMatrix q;
  q.format = f;
  q.block_rows = br;
  q.block_cols = bc;
  q.global_scale = global;
  q.values = Matrix<float>(rows, cols);
  for (float& v : q.values.values()) v = random_code(f, gen);
  q.scales = Matrix<float>((rows + br - 1) / br, (cols + bc - 1) / bc);
  for (float& s : q.scales.values()) s = random_scale(gen, e4m3_scales);
  return q;
}

// The documented arithmetic: per K block of kb columns an fp32 partial of the code products
// (exact here: checked), times (sx * sw) in fp32, summed in block order in fp32; then times
// the global scales, plus the bias in fp32; one rounding to bf16.
Matrix<float> documented_linear(const QuantizedMatrix& x, const QuantizedMatrix& w, const std::vector<float>& bias,
                                std::int64_t kb, DType out) {
  const std::int64_t k = x.cols();
  Matrix<float> y(x.rows(), w.rows());
  for (std::int64_t t = 0; t < x.rows(); ++t)
    for (std::int64_t j = 0; j < w.rows(); ++j) {
      float acc = 0.0f;
      for (std::int64_t k0 = 0; k0 < k; k0 += kb) {
        double exact = 0;
        for (std::int64_t c = k0; c < std::min(k, k0 + kb); ++c) exact += double(x.values(t, c)) * w.values(j, c);
        const float partial = static_cast<float>(exact);
        REQUIRE(double(partial) == exact);  // the precondition: fp32 accumulation is exact
        const float sx = x.scales(t / x.block_rows, k0 / x.block_cols);
        const float sw = w.scales(j / w.block_rows, k0 / w.block_cols);
        const float s = sx * sw;
        const float term = s * partial;
        acc = acc + term;
      }
      const float global = x.global_scale * w.global_scale;
      acc = acc * global;
      if (!bias.empty()) acc = acc + bias[static_cast<std::size_t>(j)];
      y(t, j) = round_to(out, acc);
    }
  return y;
}

struct LinearCheck {
  // |y - fp64| in bf16 ulps of the fp64 value, over the elements without heavy cancellation
  // (|fp64| >= 2^-8 sum |terms|), where the fp32 roundings stay below 0.04 ulp.
  double worst_ulps = 0;
  std::int64_t cancelling = 0;  // elements left out of worst_ulps
};

// y against the fp64 product of the dequantized operands: within bf16 rounding (half an ulp)
// plus the few fp32 roundings of the scaling (<= (blocks + 3) u32 sum |terms|); reports ulps.
LinearCheck check_against_fp64(const Matrix<float>& y, const QuantizedMatrix& x, const QuantizedMatrix& w,
                               const std::vector<float>& bias, std::int64_t kb, double fp32_rounds_per_block) {
  LinearCheck r;
  const std::int64_t k = x.cols();
  const double blocks = double((k + kb - 1) / kb);
  std::int64_t over = 0;
  for (std::int64_t t = 0; t < x.rows(); ++t)
    for (std::int64_t j = 0; j < w.rows(); ++j) {
      double ref = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(j)], mag = std::fabs(ref);
      for (std::int64_t c = 0; c < k; ++c) {
        const double term = x.dequantized(t, c) * w.dequantized(j, c);
        ref += term;
        mag += std::fabs(term);
      }
      const double diff = std::fabs(double(y(t, j)) - ref);
      const double bound =
          0.5 * bf16_ulp(y(t, j)) + (fp32_rounds_per_block * blocks + 3) * 0x1.0p-24 * mag * 1.001 + 1e-40;
      if (diff > bound) {
        ++over;
        UNSCOPED_INFO("(" << t << ", " << j << "): " << y(t, j) << " vs fp64 " << ref << " bound " << bound);
      }
      if (std::fabs(ref) >= 0x1.0p-8 * mag)
        r.worst_ulps = std::max(r.worst_ulps, diff / bf16_ulp(ref));
      else
        ++r.cancelling;
    }
  CHECK(over == 0);
  return r;
}

std::vector<float> random_bias(std::int64_t n, std::mt19937_64& gen) {
  std::normal_distribution<double> nd;
  std::vector<float> b(static_cast<std::size_t>(n));
  for (float& v : b) v = round_bf16(static_cast<float>(nd(gen)));
  return b;
}

bool same_bits(const Matrix<float>& a, const Matrix<float>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a.data()[i]) != std::bit_cast<std::uint32_t>(b.data()[i])) return false;
  return true;
}

struct LinearSetup {
  const char* name;
  QuantFormat format;
  std::int64_t k;
  std::int64_t x_br, x_bc, w_br, w_bc;  // block sizes of the scale grids
  std::int64_t kb;                      // the K block of the documented arithmetic
  bool two_level;
};

}  // namespace

TEST_CASE("quantized_linear: exactly the documented fp32 arithmetic and close to fp64", "[quantize]") {
  const std::int64_t tokens = 7, n = 160;
  const LinearSetup setups[] = {
      // Per-token x, per-channel w: one K block.
      {"e4m3 per-token/per-channel K 32", QuantFormat::e4m3, 32, 1, 32, 1, 32, 32, false},
      // Per-tensor both (fp8-static).
      {"e4m3 per-tensor K 32", QuantFormat::e4m3, 32, tokens, 32, n, 32, 32, false},
      // 1x128 activation groups, 128x128 weight blocks (partial last block row of w).
      {"e4m3 1x128 / 128x128 K 256", QuantFormat::e4m3, 256, 1, 128, 128, 128, 128, false},
      // Per-token x with 128x128 weight blocks: the finer grid sets the K block.
      {"e4m3 per-token / 128x128 K 256", QuantFormat::e4m3, 256, 1, 256, 128, 128, 128, false},
      // NVFP4: 1x16 E4M3 block scales under fp32 global scales.
      {"e2m1 1x16 two-level K 64", QuantFormat::e2m1, 64, 1, 16, 1, 16, 16, true},
      {"e2m1 per-token/per-channel K 32", QuantFormat::e2m1, 32, 1, 32, 1, 32, 32, false},
      {"int8 per-token/per-channel K 32", QuantFormat::int8, 32, 1, 32, 1, 32, 32, false},
  };
  std::mt19937_64 gen(21);
  for (const LinearSetup& s : setups) {
    INFO(s.name);
    for (int trial = 0; trial < 3; ++trial) {
      const float gx = s.two_level ? random_scale(gen, false) * 64 : 1.0f;
      const float gw = s.two_level ? random_scale(gen, false) * 64 : 1.0f;
      const QuantizedMatrix x = random_quantized(s.format, tokens, s.k, s.x_br, s.x_bc, gen, s.two_level, gx);
      const QuantizedMatrix w = random_quantized(s.format, n, s.k, s.w_br, s.w_bc, gen, s.two_level, gw);
      const std::vector<float> bias = trial == 2 ? std::vector<float>{} : random_bias(n, gen);
      const Matrix<float> y = cpu::quantized_linear(view_of(x), view_of(w), bias, DType::bf16);
      const Matrix<float> expected = documented_linear(x, w, bias, s.kb, DType::bf16);
      CHECK(same_bits(y, expected));
      // The fp32 result before the final rounding shows every fp32 operation's order.
      const Matrix<float> y32 = cpu::quantized_linear(view_of(x), view_of(w), bias, DType::fp32);
      CHECK(same_bits(y32, documented_linear(x, w, bias, s.kb, DType::fp32)));
      const LinearCheck c = check_against_fp64(y, x, w, bias, s.kb, 3);
      INFO("worst " << c.worst_ulps << " bf16 ulps; " << c.cancelling << " cancelling elements left out");
      CHECK(c.worst_ulps <= 1.0);
      CHECK(c.cancelling < tokens * n / 20);
    }
  }
}

TEST_CASE("quantized_linear on quantize() outputs: within bf16 rounding and fp32 accumulation of fp64",
          "[quantize]") {
  // Realistic codes (the whole E4M3 range): the fp32 sums are not exact, but stay within
  // gamma_k sum |terms| of the fp64 product of the dequantized operands.
  std::mt19937_64 gen(22);
  struct Case {
    const char* name;
    ScaleLayout x, w;
  };
  const Case cases[] = {
      {"fp8 per-token/per-channel", {QuantFormat::e4m3, 1, 0, false}, {QuantFormat::e4m3, 1, 0, false}},
      {"fp8 1x128/128x128", {QuantFormat::e4m3, 1, 128, false}, {QuantFormat::e4m3, 128, 128, false}},
      {"int8 per-token/per-channel", {QuantFormat::int8, 1, 0, false}, {QuantFormat::int8, 1, 0, false}},
      {"nvfp4 1x16", {QuantFormat::e2m1, 1, 16, true}, {QuantFormat::e2m1, 1, 16, true}},
  };
  const Matrix<float> xs = test_matrix(9, 512, gen);
  const Matrix<float> ws = test_matrix(96, 512, gen);
  const std::vector<float> bias = random_bias(96, gen);
  for (const Case& c : cases) {
    INFO(c.name);
    const QuantizedMatrix x = cpu::quantize(xs.view(), c.x, c.x.two_level ? 30.0f / 2688 : 1.0f);
    const QuantizedMatrix w = cpu::quantize(ws.view(), c.w, c.w.two_level ? 50.0f / 2688 : 1.0f);
    const Matrix<float> y = cpu::quantized_linear(view_of(x), view_of(w), bias, DType::bf16);
    const std::int64_t kb = std::min(x.block_cols, w.block_cols);
    // Per block: kb fp32 adds (INT8: one conversion), the scale product, the multiply, the add.
    const double rounds = c.x.format == QuantFormat::int8 ? 4 : double(kb + 3);
    check_against_fp64(y, x, w, bias, kb, rounds);
  }
}

TEST_CASE("quantized_linear INT8: exact integer accumulation beyond 2^24", "[quantize]") {
  const std::int64_t k = 2048;
  QuantizedMatrix x, w;
  for (QuantizedMatrix* q : {&x, &w}) {
    q->format = QuantFormat::int8;
    q->block_rows = 1;
    q->block_cols = k;
    q->values = Matrix<float>(1, k, 127.0f);
    q->scales = Matrix<float>(1, 1, 1.0f);
  }
  // 2048 * 127 * 127 = 33032192 > 2^24: an fp32 running sum loses it.
  const std::int64_t exact = k * 127 * 127;
  REQUIRE(exact > (std::int64_t{1} << 24));
  float fp32_sum = 0;
  for (std::int64_t c = 0; c < k; ++c) fp32_sum = fp32_sum + 127.0f * 127.0f;
  CHECK(double(fp32_sum) != double(exact));
  Matrix<float> y = cpu::quantized_linear(view_of(x), view_of(w), {}, DType::fp32);
  CHECK(double(y(0, 0)) == double(exact));

  // An odd sum above 2^24 is converted to fp32 once (round to nearest even), not accumulated.
  x.values(0, 5) = 126.0f;
  const std::int64_t odd = exact - 127;
  REQUIRE(odd % 2 == 1);
  y = cpu::quantized_linear(view_of(x), view_of(w), {}, DType::fp32);
  CHECK(y(0, 0) == static_cast<float>(odd));

  // Positive codes over K = 65536: fp32 accumulation rounds on the way (any lane of a
  // vectorized sum passes 2^24), integer accumulation does not and is converted once.
  {
    const std::int64_t long_k = 65536;
    std::mt19937_64 gen(24);
    std::uniform_int_distribution<int> code(100, 127);
    QuantizedMatrix lx = x, lw = w;
    lx.values = Matrix<float>(1, long_k);
    lw.values = Matrix<float>(1, long_k);
    lx.block_cols = lw.block_cols = long_k;
    lx.scales(0, 0) = lw.scales(0, 0) = 1.0f;
    std::int64_t sum = 0;
    float naive = 0;
    for (std::int64_t c = 0; c < long_k; ++c) {
      lx.values(0, c) = static_cast<float>(code(gen));
      lw.values(0, c) = static_cast<float>(code(gen));
      const float product = lx.values(0, c) * lw.values(0, c);
      sum += static_cast<std::int64_t>(product);
      naive = naive + product;
    }
    REQUIRE(sum < (std::int64_t{1} << 31));  // fits int32 accumulation
    CHECK(naive != static_cast<float>(sum));
    const Matrix<float> ly = cpu::quantized_linear(view_of(lx), view_of(lw), {}, DType::fp32);
    CHECK(ly(0, 0) == static_cast<float>(sum));
  }

  // With scales and a bf16 output: round_bf16(fp32(sum) * (sx * sw)).
  x.scales(0, 0) = 0.0123f;
  w.scales(0, 0) = 0.0456f;
  const std::vector<float> bias{0.5f};
  y = cpu::quantized_linear(view_of(x), view_of(w), bias, DType::bf16);
  const float s = 0.0123f * 0.0456f;
  const float expected = round_bf16(s * static_cast<float>(odd) + 0.5f);
  CHECK(y(0, 0) == expected);
}

TEST_CASE("quantized_linear refuses mismatched operands", "[quantize]") {
  std::mt19937_64 gen(23);
  const QuantizedMatrix x = random_quantized(QuantFormat::e4m3, 2, 32, 1, 32, gen);
  const QuantizedMatrix w = random_quantized(QuantFormat::e4m3, 4, 48, 1, 48, gen);
  const QuantizedMatrix w8 = random_quantized(QuantFormat::int8, 4, 32, 1, 32, gen);
  CHECK_THROWS_AS(cpu::quantized_linear(view_of(x), view_of(w), {}, DType::bf16), std::invalid_argument);
  CHECK_THROWS_AS(cpu::quantized_linear(view_of(x), view_of(w8), {}, DType::bf16), std::invalid_argument);
  const QuantizedMatrix w4 = random_quantized(QuantFormat::e4m3, 4, 32, 1, 32, gen);
  const std::vector<float> bias(3, 0.0f);
  CHECK_THROWS_AS(cpu::quantized_linear(view_of(x), view_of(w4), bias, DType::bf16), std::invalid_argument);
}

// --- rows_of / cols_of ------------------------------------------------------------------

namespace {

// The shard's values are the slice of the full tensor, and every shard element's scale is
// the full tensor's scale of the same element.
void check_shard(const QuantizedView& s, const QuantizedMatrix& full, std::int64_t r0, std::int64_t c0) {
  CHECK(s.format == full.format);
  CHECK(s.global_scale == full.global_scale);
  CHECK(s.block_rows == full.block_rows);
  CHECK(s.block_cols == full.block_cols);
  std::int64_t wrong_value = 0, wrong_scale = 0;
  for (std::int64_t i = 0; i < s.values.rows; ++i)
    for (std::int64_t j = 0; j < s.values.cols; ++j) {
      if (std::bit_cast<std::uint32_t>(s.values(i, j)) != std::bit_cast<std::uint32_t>(full.values(r0 + i, c0 + j)))
        ++wrong_value;
      const std::int64_t bi = i / s.block_rows, bj = j / s.block_cols;
      REQUIRE(bi < s.scales.rows);
      REQUIRE(bj < s.scales.cols);
      if (s.scales(bi, bj) != full.scales((r0 + i) / full.block_rows, (c0 + j) / full.block_cols)) ++wrong_scale;
    }
  CHECK(wrong_value == 0);
  CHECK(wrong_scale == 0);
}

}  // namespace

TEST_CASE("rows_of / cols_of: shards are slices of values and scales", "[quantize]") {
  std::mt19937_64 gen(31);
  const std::int64_t rows = 256, cols = 512;
  const Matrix<float> x = test_matrix(rows, cols, gen);
  struct Expect {
    const char* name;
    ScaleLayout layout;
    float global;
    // Scale grid of a shard of `n` rows (all columns), and of `n` columns (all rows).
    std::int64_t (*row_shard_grid_rows)(std::int64_t n);
    std::int64_t row_shard_grid_cols;
    std::int64_t col_shard_grid_rows;
    std::int64_t (*col_shard_grid_cols)(std::int64_t n);
  };
  const Expect expects[] = {
      // Per-tensor: replicated on every shard.
      {"per-tensor", {QuantFormat::e4m3, 0, 0, false}, 1.0f, [](std::int64_t) -> std::int64_t { return 1; }, 1, 1,
       [](std::int64_t) -> std::int64_t { return 1; }},
      // Per-channel: sharded with the rows, kept whole for a column shard.
      {"per-channel", {QuantFormat::e4m3, 1, 0, false}, 1.0f, [](std::int64_t n) { return n; }, 1, rows,
       [](std::int64_t) -> std::int64_t { return 1; }},
      {"per-channel int8", {QuantFormat::int8, 1, 0, false}, 1.0f, [](std::int64_t n) { return n; }, 1, rows,
       [](std::int64_t) -> std::int64_t { return 1; }},
      // 128x128: block rows / block columns.
      {"128x128", {QuantFormat::e4m3, 128, 128, false}, 1.0f, [](std::int64_t n) { return n / 128; }, cols / 128,
       rows / 128, [](std::int64_t n) { return n / 128; }},
      // 1x16 (NVFP4, two-level).
      {"1x16", {QuantFormat::e2m1, 1, 16, true}, 0.02f, [](std::int64_t n) { return n; }, cols / 16, rows,
       [](std::int64_t n) { return n / 16; }},
  };
  for (const Expect& e : expects) {
    const QuantizedMatrix q = cpu::quantize(x.view(), e.layout, e.global);
    const QuantizedView v = view_of(q);
    for (int tp : {1, 2}) {
      INFO(e.name << " tp " << tp);
      const std::int64_t nr = rows / tp, nc = cols / tp;
      for (int r = 0; r < tp; ++r) {
        INFO("rank " << r);
        const QuantizedView rs = rows_of(v, r * nr, (r + 1) * nr, "layer");
        CHECK(rs.values.rows == nr);
        CHECK(rs.values.cols == cols);
        CHECK(rs.scales.rows == e.row_shard_grid_rows(nr));
        CHECK(rs.scales.cols == e.row_shard_grid_cols);
        check_shard(rs, q, r * nr, 0);
        const QuantizedView cs = cols_of(v, r * nc, (r + 1) * nc, "layer");
        CHECK(cs.values.rows == rows);
        CHECK(cs.values.cols == nc);
        CHECK(cs.scales.rows == e.col_shard_grid_rows);
        CHECK(cs.scales.cols == e.col_shard_grid_cols(nc));
        check_shard(cs, q, 0, r * nc);
      }
    }
    // The per-tensor scale is the same object on every shard (replicated, not re-derived).
    if (std::string(e.name) == "per-tensor") {
      CHECK(rows_of(v, 128, 256, "l").scales.data == q.scales.data());
      CHECK(cols_of(v, 256, 512, "l").scales.data == q.scales.data());
    }
  }
}

TEST_CASE("rows_of / cols_of: a cut through a scale block throws naming layer size and block",
          "[quantize]") {
  std::mt19937_64 gen(32);
  const Matrix<float> x = test_matrix(256, 512, gen);
  const QuantizedMatrix b128 = cpu::quantize(x.view(), {QuantFormat::e4m3, 128, 128, false});
  const QuantizedMatrix g16 = cpu::quantize(x.view(), {QuantFormat::e2m1, 1, 16, true}, 0.02f);
  const std::string what = "proj_in (column-parallel, output size 256 at tp 4)";
  // 256 rows at tp 4: 64 per rank, half a 128-row block.
  CHECK_THROWS_WITH(rows_of(view_of(b128), 64, 128, what),
                    Contains(what) && Contains("64 per rank") && Contains("128-element"));
  CHECK_THROWS_AS(rows_of(view_of(b128), 0, 64, what), std::invalid_argument);
  // 512 columns at tp 8: 64 per rank.
  CHECK_THROWS_WITH(cols_of(view_of(b128), 64, 128, "proj_out (row-parallel)"),
                    Contains("proj_out (row-parallel)") && Contains("64 per rank") && Contains("128-element"));
  // 1x16 groups: 24 columns per rank.
  CHECK_THROWS_WITH(cols_of(view_of(g16), 24, 48, "nvfp4 layer"),
                    Contains("nvfp4 layer") && Contains("24 per rank") && Contains("16-element"));
  CHECK_THROWS_AS(cols_of(view_of(g16), 0, 24, "nvfp4 layer"), std::invalid_argument);
  // Row cuts of 1x16 groups and column cuts of per-channel scales cut no block.
  CHECK_NOTHROW(rows_of(view_of(g16), 3, 7, "l"));
  const QuantizedMatrix pc = cpu::quantize(x.view(), {QuantFormat::e4m3, 1, 0, false});
  CHECK_NOTHROW(cols_of(view_of(pc), 24, 48, "l"));
  CHECK_NOTHROW(rows_of(view_of(pc), 3, 7, "l"));
}

TEST_CASE("rows_of: a tensor smaller than one scale block cannot be cut either", "[quantize]") {
  // [64, 256] with 128x128 blocks (tiny's proj_out weight): its single block row covers all
  // 64 rows, so taking rows [0, 32) cuts it. Taking the whole tensor cuts nothing.
  std::mt19937_64 gen(33);
  const Matrix<float> x = test_matrix(64, 256, gen);
  const QuantizedMatrix q = cpu::quantize(x.view(), {QuantFormat::e4m3, 128, 128, false});
  REQUIRE(q.scales.rows() == 1);
  CHECK_THROWS_WITH(rows_of(view_of(q), 0, 32, "proj_out"),
                    Contains("proj_out") && Contains("32 per rank") && Contains("128-element"));
  CHECK_NOTHROW(rows_of(view_of(q), 0, 64, "proj_out"));
  CHECK_NOTHROW(cols_of(view_of(q), 0, 128, "proj_out"));
  // A whole dimension with a partial last block (200 = 128 + 72) is one shard at tp 1.
  const Matrix<float> y = test_matrix(200, 200, gen);
  const QuantizedMatrix p = cpu::quantize(y.view(), {QuantFormat::e4m3, 128, 128, false});
  const QuantizedView whole = rows_of(view_of(p), 0, 200, "l");
  CHECK(whole.scales.rows == 2);
  CHECK(cols_of(view_of(p), 0, 200, "l").scales.cols == 2);
  check_shard(whole, p, 0, 0);
  CHECK_THROWS_AS(rows_of(view_of(p), 0, 100, "l"), std::invalid_argument);
}
