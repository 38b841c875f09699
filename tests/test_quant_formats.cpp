// The quantization formats (FP8 E4M3 and E5M2, FP4 E2M1, symmetric int8) against references
// written from the format definitions alone: nothing here calls into kernels/ to compute an
// expected value.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/mismatches.hpp"
#include "kernels/int8.hpp"
#include "kernels/minifloat.hpp"

namespace {

using ffn::MinifloatFormat;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kFloatInf = std::numeric_limits<float>::infinity();

// A format as the OCP 8-bit and MX specifications define it: sign, biased exponent, fraction;
// zero exponent for zeros and subnormals 0.f * 2^(1 - bias), otherwise 1.f * 2^(e - bias).
struct Definition {
  const MinifloatFormat& kernel_format;
  const char* name;
  int exponent_bits;
  int fraction_bits;
  int bias;
  bool has_infinity;     // IEEE: all-ones exponent is inf (zero fraction) or NaN
  bool all_ones_is_nan;  // e4m3fn: S.1111.111 alone is NaN, the rest of its binade finite

  unsigned sign_bit() const { return 1u << (exponent_bits + fraction_bits); }
  unsigned code_count() const { return 2 * sign_bit(); }
  bool has_nan() const { return has_infinity || all_ones_is_nan; }

  double decode(unsigned code) const {
    const unsigned exponent = (code >> fraction_bits) & ((1u << exponent_bits) - 1);
    const unsigned fraction = code & ((1u << fraction_bits) - 1);
    const double f = std::ldexp(static_cast<double>(fraction), -fraction_bits);
    const bool top_binade = exponent == (1u << exponent_bits) - 1;
    double magnitude;
    if (has_infinity && top_binade)
      magnitude = fraction == 0 ? kInf : kNaN;
    else if (all_ones_is_nan && top_binade && fraction == (1u << fraction_bits) - 1)
      magnitude = kNaN;
    else if (exponent == 0)
      magnitude = std::ldexp(f, 1 - bias);
    else
      magnitude = std::ldexp(1.0 + f, static_cast<int>(exponent) - bias);
    return (code & sign_bit()) ? -magnitude : magnitude;
  }
};

const Definition kE4m3{ffn::k_e4m3, "e4m3", 4, 3, 7, false, true};
const Definition kE5m2{ffn::k_e5m2, "e5m2", 5, 2, 15, true, false};
const Definition kE2m1{ffn::k_e2m1, "e2m1", 2, 1, 1, false, false};
const Definition* const kDefinitions[] = {&kE4m3, &kE5m2, &kE2m1};


std::string pattern(unsigned code) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%02x", code);
  return text;
}


using ffn::test::hex;
using ffn::test::Mismatches;
using ffn::test::same;

// Round to nearest, ties to even, by brute force over every non-negative finite value of the
// format. Codes 0 .. max are ordered like their values, so a value's index is its code and
// "even" is the index's parity. Without saturation the values are extended by the one the
// grid would have next if the exponent range were unbounded (code max + 1: IEEE 754's
// overflow rule); rounding to it is overflow.
class ReferenceRounding {
 public:
  explicit ReferenceRounding(const Definition& d) : d_(d) {
    for (unsigned code = 0; code < d.sign_bit() && std::isfinite(d.decode(code)); ++code)
      values_.push_back(d.decode(code));
    const double max = values_.back();
    const double spacing_at_max = max - values_[values_.size() - 2];
    extended_ = values_;
    extended_.push_back(max + spacing_at_max);
  }

  const std::vector<double>& values() const { return values_; }
  double max() const { return values_.back(); }
  double overflow_value() const { return extended_.back(); }

  // The expected code; when `nan` is set, any NaN code with the sign of `code` will do.
  struct Expected {
    unsigned code;
    bool nan;
  };

  Expected round(float x, bool saturate) const {
    const unsigned sign = std::signbit(x) ? d_.sign_bit() : 0;
    if (std::isnan(x)) return {sign, true};
    const bool saturating = saturate || !d_.has_nan();
    const std::vector<double>& grid = saturating ? values_ : extended_;
    const double magnitude = std::fabs(x);
    // Each candidate in increasing order replaces the nearest so far when it is nearer, or as
    // near and even. Comparing with the midpoint is exact: the values have a few bits each.
    std::size_t nearest = 0;
    for (std::size_t candidate = 1; candidate < grid.size(); ++candidate) {
      const double midpoint = (grid[nearest] + grid[candidate]) / 2;
      if (magnitude > midpoint || (magnitude == midpoint && candidate % 2 == 0))
        nearest = candidate;
    }
    if (nearest == values_.size()) {
      if (d_.has_infinity) return {sign | static_cast<unsigned>(nearest), false};
      return {sign, true};
    }
    return {sign | static_cast<unsigned>(nearest), false};
  }

 private:
  const Definition& d_;
  std::vector<double> values_;
  std::vector<double> extended_;
};

bool is_nan_code(const Definition& d, unsigned code) { return std::isnan(d.decode(code)); }

// Magnitudes where rounding changes its mind, with both signs: every finite value and its
// float neighbours, every midpoint between neighbours (exact in float) and its neighbours,
// including the overflow midpoint above max and the overflow value; a sweep from max to past
// the overflow value; the ends of float's range, zero and infinity.
std::vector<float> edge_floats(const ReferenceRounding& reference) {
  std::vector<float> magnitudes;
  const std::vector<double>& values = reference.values();
  auto with_neighbours = [&](double v) {
    const auto f = static_cast<float>(v);
    REQUIRE(f == v);
    magnitudes.insert(magnitudes.end(), {f, std::nextafter(f, 0.0f), std::nextafter(f, kFloatInf)});
  };
  for (std::size_t i = 0; i < values.size(); ++i) {
    with_neighbours(values[i]);
    const double next = i + 1 < values.size() ? values[i + 1] : reference.overflow_value();
    with_neighbours((values[i] + next) / 2);
  }
  with_neighbours(reference.overflow_value());
  const auto sweep_from = std::bit_cast<std::uint32_t>(static_cast<float>(reference.max()));
  const auto sweep_to =
      std::bit_cast<std::uint32_t>(static_cast<float>(2 * reference.overflow_value()));
  for (std::uint32_t bits = sweep_from; bits <= sweep_to; bits += (sweep_to - sweep_from) / 4096)
    magnitudes.push_back(std::bit_cast<float>(bits));
  magnitudes.insert(magnitudes.end(), {0.0f, FLT_TRUE_MIN, FLT_MIN, FLT_MAX, kFloatInf});
  std::vector<float> edges;
  for (float m : magnitudes) edges.insert(edges.end(), {m, -m});
  return edges;
}

// Random sign and fraction with the binary exponent uniform from below half the smallest
// subnormal to above the overflow value, so that the values exercise the format's range.
std::vector<float> random_floats_in_range(const Definition& d, std::size_t count,
                                          std::uint64_t seed) {
  const int lowest = 1 - d.bias - d.fraction_bits - 3;
  const int highest = (1 << d.exponent_bits) - d.bias + 1;
  const auto exponents = static_cast<std::uint64_t>(highest - lowest + 1);
  std::mt19937_64 rng(seed);
  std::vector<float> values(count);
  for (float& v : values) {
    // One draw per value: sign and fraction from the low 24 bits, the exponent from the rest
    // (the modulo bias is negligible with 40 bits).
    const std::uint64_t bits = rng();
    const int exponent = lowest + static_cast<int>((bits >> 24) % exponents);
    v = std::bit_cast<float>(static_cast<std::uint32_t>(bits & 0x80'0000u) << 8 |
                             static_cast<std::uint32_t>(exponent + 127) << 23 |
                             static_cast<std::uint32_t>(bits & 0x7f'ffff));
  }
  return values;
}

// Any float bit pattern; NaNs are left out for formats that have none (they throw).
std::vector<float> random_float_bit_patterns(const Definition& d, std::size_t count,
                                             std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> values;
  values.reserve(count);
  while (values.size() < count) {
    const auto v = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    if (d.has_nan() || !std::isnan(v)) values.push_back(v);
  }
  return values;
}

const std::uint32_t kNanPatterns[] = {0x7fc0'0000u, 0xffc0'0000u, 0x7f80'0001u,
                                      0xff80'0001u, 0x7fff'ffffu, 0x7fa0'0000u};

TEST_CASE("every minifloat code decodes as the format definition says", "[quant-formats]") {
  SECTION("all codes of every format against the reference decoder") {
    for (const Definition* d : kDefinitions) {
      INFO(d->name);
      const MinifloatFormat& f = d->kernel_format;
      CHECK(f.exponent_bits == d->exponent_bits);
      CHECK(f.mantissa_bits == d->fraction_bits);
      CHECK(f.bias == d->bias);
      Mismatches mismatches;
      for (unsigned code = 0; code < d->code_count(); ++code) {
        const double decoded = ffn::minifloat_decode(f, static_cast<std::uint8_t>(code));
        const double expected = d->decode(code);
        if (!same(decoded, expected))
          mismatches.add(pattern(code) + " decodes to " + hex(decoded) + ", expected " +
                         hex(expected));
      }
      REQUIRE_NO_MISMATCHES(mismatches);
      CHECK(ffn::minifloat_precision_bits(f) == d->fraction_bits + 1);
      CHECK(ffn::minifloat_min_subnormal(f) == d->decode(1));
      CHECK(ffn::minifloat_min_normal(f) == d->decode(1u << d->fraction_bits));
    }
  }

  SECTION("e4m3fn: max 448, subnormals down to 2^-9, NaN only at S.1111.111, no infinity") {
    const MinifloatFormat& f = ffn::k_e4m3;
    CHECK(ffn::minifloat_decode(f, 0x7e) == 448.0f);
    CHECK(ffn::minifloat_decode(f, 0xfe) == -448.0f);
    CHECK(ffn::minifloat_decode(f, 0x78) == 256.0f);
    CHECK(ffn::minifloat_decode(f, 0x01) == 0x1p-9f);
    CHECK(ffn::minifloat_decode(f, 0x07) == 7 * 0x1p-9f);
    CHECK(ffn::minifloat_decode(f, 0x08) == 0x1p-6f);
    CHECK(ffn::minifloat_decode(f, 0x38) == 1.0f);
    CHECK(std::isnan(ffn::minifloat_decode(f, 0x7f)));
    CHECK(std::isnan(ffn::minifloat_decode(f, 0xff)));
    CHECK(std::signbit(ffn::minifloat_decode(f, 0x80)));
    for (unsigned code = 0; code < 256; ++code) {
      INFO(pattern(code));
      CHECK_FALSE(std::isinf(ffn::minifloat_decode(f, static_cast<std::uint8_t>(code))));
      if ((code & 0x7f) != 0x7f)
        CHECK_FALSE(std::isnan(ffn::minifloat_decode(f, static_cast<std::uint8_t>(code))));
    }
    CHECK(ffn::minifloat_max(f) == 448.0);
    CHECK(ffn::minifloat_min_subnormal(f) == 0x1p-9);
    CHECK(ffn::minifloat_min_normal(f) == 0x1p-6);
    CHECK(ffn::minifloat_precision_bits(f) == 4);
  }

  SECTION("e5m2: max 57344, inf at 0x7c, NaN 0x7d..0x7f, subnormals down to 2^-16") {
    const MinifloatFormat& f = ffn::k_e5m2;
    CHECK(ffn::minifloat_decode(f, 0x7b) == 57344.0f);
    CHECK(ffn::minifloat_decode(f, 0x7c) == kFloatInf);
    CHECK(ffn::minifloat_decode(f, 0xfc) == -kFloatInf);
    for (std::uint8_t code : {0x7d, 0x7e, 0x7f, 0xfd, 0xfe, 0xff})
      CHECK(std::isnan(ffn::minifloat_decode(f, code)));
    CHECK(ffn::minifloat_decode(f, 0x01) == 0x1p-16f);
    CHECK(ffn::minifloat_decode(f, 0x04) == 0x1p-14f);
    CHECK(ffn::minifloat_decode(f, 0x3c) == 1.0f);
    CHECK(ffn::minifloat_max(f) == 57344.0);
    CHECK(ffn::minifloat_min_subnormal(f) == 0x1p-16);
    CHECK(ffn::minifloat_precision_bits(f) == 3);
  }

  SECTION("e2m1: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives; no inf, no NaN") {
    const MinifloatFormat& f = ffn::k_e2m1;
    const float magnitudes[] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    for (unsigned code = 0; code < 8; ++code) {
      INFO(pattern(code));
      CHECK(ffn::minifloat_decode(f, static_cast<std::uint8_t>(code)) == magnitudes[code]);
      const float negative = ffn::minifloat_decode(f, static_cast<std::uint8_t>(code | 8));
      CHECK(negative == -magnitudes[code]);
      CHECK(std::signbit(negative));
    }
    CHECK(ffn::minifloat_max(f) == 6.0);
    CHECK(ffn::minifloat_min_subnormal(f) == 0.5);
    CHECK(ffn::minifloat_precision_bits(f) == 2);
    CHECK_THROWS_AS(ffn::minifloat_decode(f, 0x10), std::out_of_range);
  }
}

TEST_CASE("every non-NaN minifloat code re-encodes to itself", "[quant-formats]") {
  for (const Definition* d : kDefinitions) {
    INFO(d->name);
    const MinifloatFormat& f = d->kernel_format;
    Mismatches mismatches;
    for (unsigned code = 0; code < d->code_count(); ++code) {
      const float decoded = ffn::minifloat_decode(f, static_cast<std::uint8_t>(code));
      for (bool saturate : {false, true}) {
        const unsigned encoded = ffn::minifloat_encode(f, decoded, saturate);
        bool ok;
        if (is_nan_code(*d, code))
          ok = is_nan_code(*d, encoded) && (encoded & d->sign_bit()) == (code & d->sign_bit());
        else if (std::isinf(decoded) && saturate)
          ok = encoded == code - 1;  // +-inf saturates to +-max, the code below it
        else
          ok = encoded == code;
        if (!ok)
          mismatches.add(pattern(code) + (saturate ? " saturating" : "") + " re-encodes to " +
                         pattern(encoded));
      }
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }
}

TEST_CASE("minifloat encoding rounds to nearest even, as the reference does", "[quant-formats]") {
  SECTION("edge, random in-range and random bit-pattern floats, both saturation modes") {
    for (const Definition* d : kDefinitions) {
      INFO(d->name);
      const MinifloatFormat& f = d->kernel_format;
      const ReferenceRounding reference(*d);
      std::vector<float> inputs = edge_floats(reference);
      const std::vector<float> in_range = random_floats_in_range(*d, 600'000, 0x9a17'0001);
      const std::vector<float> patterns = random_float_bit_patterns(*d, 100'000, 0x9a17'0002);
      inputs.insert(inputs.end(), in_range.begin(), in_range.end());
      inputs.insert(inputs.end(), patterns.begin(), patterns.end());
      if (d->has_nan())
        for (std::uint32_t bits : kNanPatterns) inputs.push_back(std::bit_cast<float>(bits));

      Mismatches mismatches;
      for (bool saturate : {false, true}) {
        for (float x : inputs) {
          const ReferenceRounding::Expected expected = reference.round(x, saturate);
          const unsigned code = ffn::minifloat_encode(f, x, saturate);
          const bool code_ok = expected.nan
                                   ? is_nan_code(*d, code) &&
                                         (code & d->sign_bit()) == (expected.code & d->sign_bit())
                                   : code == expected.code;
          const double expected_value =
              expected.nan ? std::copysign(kNaN, x) : d->decode(expected.code);
          const double rounded = ffn::minifloat_round(f, x, saturate);
          if (!code_ok || !same(rounded, expected_value))
            mismatches.add(hex(x) + (saturate ? " saturating" : "") + " encodes to " +
                           pattern(code) + " and rounds to " + hex(rounded) + ", expected " +
                           (expected.nan ? "NaN" : pattern(expected.code)));
        }
      }
      REQUIRE_NO_MISMATCHES(mismatches);
    }
  }

  SECTION("e4m3fn around max: saturation clamps, the OCP conversion overflows to NaN") {
    const MinifloatFormat& f = ffn::k_e4m3;
    for (float x : {449.0f, 464.0f, 470.0f, 480.0f, 1e9f, FLT_MAX, kFloatInf}) {
      INFO(hex(x));
      CHECK(ffn::minifloat_encode(f, x, true) == 0x7e);
      CHECK(ffn::minifloat_encode(f, -x, true) == 0xfe);
    }
    // 464 = 448 + ulp/2 lies halfway to the 480 that the unbounded grid would have next;
    // 448 = 1.110b * 2^8 is the even neighbour, so 464 itself stays finite.
    CHECK(ffn::minifloat_encode(f, 464.0f, false) == 0x7e);
    CHECK(ffn::minifloat_encode(f, std::nextafter(464.0f, 0.0f), false) == 0x7e);
    CHECK(ffn::minifloat_encode(f, std::nextafter(464.0f, kFloatInf), false) == 0x7f);
    CHECK(ffn::minifloat_encode(f, -std::nextafter(464.0f, kFloatInf), false) == 0xff);
    CHECK(ffn::minifloat_encode(f, kFloatInf, false) == 0x7f);
    CHECK(ffn::minifloat_encode(f, -kFloatInf, false) == 0xff);
  }

  SECTION("e5m2 around max: overflow to inf from max + ulp/2 = 61440 up") {
    const MinifloatFormat& f = ffn::k_e5m2;
    CHECK(ffn::minifloat_encode(f, 61440.0f, false) == 0x7c);
    CHECK(ffn::minifloat_encode(f, -61440.0f, false) == 0xfc);
    CHECK(ffn::minifloat_encode(f, std::nextafter(61440.0f, 0.0f), false) == 0x7b);
    CHECK(ffn::minifloat_encode(f, kFloatInf, false) == 0x7c);
    CHECK(ffn::minifloat_encode(f, 61440.0f, true) == 0x7b);
    CHECK(ffn::minifloat_encode(f, kFloatInf, true) == 0x7b);
    CHECK(ffn::minifloat_encode(f, -kFloatInf, true) == 0xfb);
  }

  SECTION("e2m1: ties to even, and saturation at 6 in both modes") {
    const MinifloatFormat& f = ffn::k_e2m1;
    CHECK(ffn::minifloat_round(f, 0.25f, true) == 0.0f);  // 0 and 0.5: code 0 is even
    CHECK(ffn::minifloat_round(f, 0.75f, true) == 1.0f);  // 0.5 and 1: code 2 is even
    CHECK(ffn::minifloat_round(f, 2.5f, true) == 2.0f);
    CHECK(ffn::minifloat_round(f, 3.5f, true) == 4.0f);
    CHECK(ffn::minifloat_round(f, 5.0f, true) == 4.0f);
    CHECK(ffn::minifloat_round(f, -5.0f, false) == -4.0f);
    for (bool saturate : {false, true}) {
      CHECK(ffn::minifloat_encode(f, 7.0f, saturate) == 0x7);
      CHECK(ffn::minifloat_encode(f, 1e30f, saturate) == 0x7);
      CHECK(ffn::minifloat_encode(f, -kFloatInf, saturate) == 0xf);
      CHECK_THROWS_AS(ffn::minifloat_encode(f, std::bit_cast<float>(0x7fc0'0000u), saturate),
                      std::domain_error);
    }
  }

  SECTION("the subnormal boundary, half the smallest subnormal and the sign of zero") {
    const MinifloatFormat& f = ffn::k_e4m3;
    CHECK(ffn::minifloat_encode(f, 0x1p-10f, true) == 0x00);  // ties to the even zero
    CHECK(ffn::minifloat_encode(f, -0x1p-10f, true) == 0x80);
    CHECK(ffn::minifloat_encode(f, std::nextafter(0x1p-10f, 1.0f), true) == 0x01);
    CHECK(ffn::minifloat_encode(f, 3 * 0x1p-10f, true) == 0x02);  // 1 and 2: 2 is even
    CHECK(ffn::minifloat_encode(f, std::nextafter(0x1p-6f, 0.0f), true) == 0x08);
    CHECK(ffn::minifloat_encode(f, 15 * 0x1p-10f, true) == 0x08);  // 7 and 8 subnormal units
    CHECK(ffn::minifloat_encode(f, 0.0f, false) == 0x00);
    CHECK(ffn::minifloat_encode(f, -0.0f, false) == 0x80);
    CHECK(ffn::minifloat_encode(f, -FLT_TRUE_MIN, false) == 0x80);
    CHECK(ffn::minifloat_encode(ffn::k_e5m2, 0x1p-17f, false) == 0x00);
    CHECK(ffn::minifloat_encode(ffn::k_e5m2, std::nextafter(0x1p-17f, 1.0f), false) == 0x01);
  }

  SECTION("NaN keeps its sign and becomes the format's NaN") {
    for (bool saturate : {false, true}) {
      CHECK(ffn::minifloat_encode(ffn::k_e4m3, std::bit_cast<float>(0x7fc0'0000u), saturate) ==
            0x7f);
      CHECK(ffn::minifloat_encode(ffn::k_e4m3, std::bit_cast<float>(0xff80'0001u), saturate) ==
            0xff);
      CHECK(is_nan_code(
          kE5m2, ffn::minifloat_encode(ffn::k_e5m2, std::bit_cast<float>(0x7f80'0001u), saturate)));
      CHECK(ffn::minifloat_encode(ffn::k_e5m2, std::bit_cast<float>(0xffc0'0000u), saturate) >=
            0xfd);
    }
  }

  SECTION("a format the implementation cannot hold is rejected") {
    const MinifloatFormat too_wide{"e5m3", 5, 3, 15, MinifloatFormat::Specials::ieee};
    const MinifloatFormat too_small{"e4m3b200", 4, 3, 200, MinifloatFormat::Specials::ieee};
    CHECK_THROWS_AS(ffn::minifloat_encode(too_wide, 1.0f, true), std::invalid_argument);
    CHECK_THROWS_AS(ffn::minifloat_decode(too_small, 1), std::invalid_argument);
  }
}

TEST_CASE("int8_round_sym rounds half to even and saturates to [-127, 127]", "[quant-formats]") {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  auto reference = [](float x) {
    return static_cast<int>(std::clamp(std::nearbyint(x), -127.0f, 127.0f));
  };

  SECTION("a dense set of floats in [-130, 130] and the neighbours of every half integer") {
    std::vector<float> inputs;
    for (int k = -130 * 1024; k <= 130 * 1024; ++k) inputs.push_back(static_cast<float>(k) / 1024);
    for (int k = -261; k <= 261; k += 2) {
      const float half = static_cast<float>(k) / 2;
      inputs.insert(inputs.end(),
                    {std::nextafter(half, -kFloatInf), std::nextafter(half, kFloatInf)});
    }
    std::mt19937_64 rng(0x9a17'0003);
    std::uniform_real_distribution<float> uniform(-130.0f, 130.0f);
    for (int i = 0; i < 500'000; ++i) inputs.push_back(uniform(rng));
    inputs.insert(inputs.end(), {1e30f, -1e30f, FLT_MAX, -FLT_MAX, kFloatInf, -kFloatInf,
                                 FLT_TRUE_MIN, -FLT_TRUE_MIN, -0.0f});
    Mismatches mismatches;
    for (float x : inputs) {
      const int actual = ffn::int8_round_sym(x);
      if (actual != reference(x))
        mismatches.add(hex(x) + " rounds to " + std::to_string(actual) + ", expected " +
                       std::to_string(reference(x)));
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }

  SECTION("halfway cases go to the even neighbour, saturation never gives -128") {
    CHECK(ffn::int8_round_sym(0.5f) == 0);
    CHECK(ffn::int8_round_sym(-0.5f) == 0);
    CHECK(ffn::int8_round_sym(1.5f) == 2);
    CHECK(ffn::int8_round_sym(-2.5f) == -2);
    CHECK(ffn::int8_round_sym(126.5f) == 126);
    CHECK(ffn::int8_round_sym(-126.5f) == -126);
    CHECK(ffn::int8_round_sym(127.5f) == 127);
    CHECK(ffn::int8_round_sym(-127.5f) == -127);
    CHECK(ffn::int8_round_sym(-128.0f) == -127);
    CHECK(ffn::int8_round_sym(-kFloatInf) == -127);
    CHECK(ffn::int8_round_sym(kFloatInf) == 127);
    CHECK_THROWS_AS(ffn::int8_round_sym(std::bit_cast<float>(0x7fc0'0000u)), std::domain_error);
  }

  SECTION("the result does not depend on the rounding mode") {
    for (int mode : {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO}) {
      REQUIRE(std::fesetround(mode) == 0);
      const int half_up = ffn::int8_round_sym(2.5f);
      const int half_down = ffn::int8_round_sym(-3.5f);
      const int nearly_half = ffn::int8_round_sym(std::nextafter(0.5f, 1.0f));
      std::fesetround(FE_TONEAREST);
      CHECK(half_up == 2);
      CHECK(half_down == -4);
      CHECK(nearly_half == 1);
    }
  }
}

TEST_CASE("minifloat_round_inplace agrees with minifloat_round", "[quant-formats]") {
  SECTION("10M random and all edge floats per format, both saturation modes") {
    for (const Definition* d : kDefinitions) {
      INFO(d->name);
      const MinifloatFormat& f = d->kernel_format;
      std::vector<float> inputs = random_floats_in_range(*d, 9'000'000, 0x9a17'0004);
      const std::vector<float> patterns = random_float_bit_patterns(*d, 1'000'000, 0x9a17'0005);
      inputs.insert(inputs.end(), patterns.begin(), patterns.end());
      const std::vector<float> edges = edge_floats(ReferenceRounding(*d));
      inputs.insert(inputs.end(), edges.begin(), edges.end());

      for (bool saturate : {false, true}) {
        INFO((saturate ? "saturating" : "not saturating"));
        std::vector<float> rounded = inputs;
        ffn::minifloat_round_inplace(f, std::span<float>(rounded), saturate);
        Mismatches mismatches;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
          const float expected = ffn::minifloat_round(f, inputs[i], saturate);
          if (!same(rounded[i], expected))
            mismatches.add(hex(inputs[i]) + " rounds in place to " + hex(rounded[i]) +
                           ", expected " + hex(expected));
        }
        REQUIRE_NO_MISMATCHES(mismatches);
      }
    }
  }

  SECTION("a NaN in a format without NaN throws, after rounding the rest") {
    std::vector<float> xs = {2.4f, std::bit_cast<float>(0x7fc0'0000u), -7.0f};
    CHECK_THROWS_AS(ffn::minifloat_round_inplace(ffn::k_e2m1, std::span<float>(xs), true),
                    std::domain_error);
    CHECK(xs[0] == 2.0f);
    CHECK(xs[2] == -6.0f);
  }
}

}  // namespace
