// The low-precision formats against references written from the format definitions alone:
// nothing here calls into kernels/ to compute an expected value.
#include <bit>
#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tests/mismatches.hpp"
#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"
#include "kernels/rounding.hpp"

namespace {

using ffn::DType;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kFloatInf = std::numeric_limits<float>::infinity();

// An IEEE-style binary format: sign, biased exponent, fraction; the all-ones exponent holds
// infinities and NaNs, the zero exponent zeros and subnormals.
struct BinaryFormat {
  const char* name;
  DType dtype;
  int exponent_bits;
  int fraction_bits;

  std::uint32_t sign_bit() const { return 1u << (exponent_bits + fraction_bits); }
  std::uint32_t infinity_bits() const { return ((1u << exponent_bits) - 1) << fraction_bits; }
  std::uint32_t max_finite_bits() const { return infinity_bits() - 1; }
  std::uint32_t quiet_bit() const { return 1u << (fraction_bits - 1); }
  bool is_nan_bits(std::uint32_t bits) const { return (bits & ~sign_bit()) > infinity_bits(); }

  double decode(std::uint32_t bits) const {
    const std::uint32_t fraction = bits & ((1u << fraction_bits) - 1);
    const std::uint32_t exponent = (bits >> fraction_bits) & ((1u << exponent_bits) - 1);
    const int bias = (1 << (exponent_bits - 1)) - 1;
    double magnitude;
    if (exponent == (1u << exponent_bits) - 1)
      magnitude = fraction == 0 ? kInf : kNaN;
    else if (exponent == 0)
      magnitude = std::ldexp(static_cast<double>(fraction), 1 - bias - fraction_bits);
    else
      magnitude = std::ldexp(static_cast<double>(fraction + (1u << fraction_bits)),
                             static_cast<int>(exponent) - bias - fraction_bits);
    return (bits & sign_bit()) ? -magnitude : magnitude;
  }
};

constexpr BinaryFormat kBf16Format{"bf16", DType::bf16, 8, 7};
constexpr BinaryFormat kFp16Format{"fp16", DType::fp16, 5, 10};
constexpr BinaryFormat kFp32Format{"fp32", DType::fp32, 8, 23};

// Round to nearest, ties to even, by bisection over the non-negative finite values of the
// format: their bit patterns 0 .. max_finite_bits are ordered like the values, so the bit
// pattern is the index and "even" is the parity of the index.
class ReferenceRounding {
 public:
  explicit ReferenceRounding(const BinaryFormat& format) : format_(format) {
    // Tabulated for the 16-bit formats, decoded on demand for fp32 (2^31 values).
    if (format.exponent_bits + format.fraction_bits <= 15)
      for (std::uint32_t bits = 0; bits <= format.max_finite_bits(); ++bits)
        table_.push_back(format.decode(bits));
    max_finite_ = value(format.max_finite_bits());
    // IEEE 754-2019 7.4: magnitudes at or above max + ulp(max)/2 round to infinity.
    overflow_threshold_ = max_finite_ + (max_finite_ - value(format.max_finite_bits() - 1)) / 2;
  }

  double value(std::uint32_t bits) const {
    return table_.empty() ? format_.decode(bits) : table_[bits];
  }
  // The point halfway to the next value up; above the largest finite value that is the
  // overflow threshold.
  double midpoint_above(std::uint32_t bits) const {
    return bits < format_.max_finite_bits() ? (value(bits) + value(bits + 1)) / 2
                                            : overflow_threshold_;
  }
  double overflow_threshold() const { return overflow_threshold_; }

  double round(double x) const {
    if (std::isnan(x)) return x;
    const double magnitude = std::fabs(x);
    double rounded;
    if (magnitude > max_finite_) {
      rounded = magnitude >= overflow_threshold_ ? kInf : max_finite_;
    } else {
      std::uint32_t below = 0, above = format_.max_finite_bits();  // value(above) >= magnitude
      while (below < above) {
        const std::uint32_t middle = below + (above - below) / 2;
        if (value(middle) >= magnitude)
          above = middle;
        else
          below = middle + 1;
      }
      rounded = value(above);
      if (rounded != magnitude && above > 0) {
        const double lower = value(above - 1);
        // Exact by Sterbenz while lower > 0 (neighbours are within a factor of two). With
        // lower == 0 the second difference may round, but monotonically, so the comparison
        // still decides correctly.
        const double to_lower = magnitude - lower;
        const double to_upper = rounded - magnitude;
        if (to_lower < to_upper || (to_lower == to_upper && (above - 1) % 2 == 0)) rounded = lower;
      }
    }
    return std::copysign(rounded, x);
  }

 private:
  BinaryFormat format_;
  std::vector<double> table_;
  double max_finite_ = 0;
  double overflow_threshold_ = 0;
};

// The kernels' entry points for one 16-bit format.
struct Codec {
  BinaryFormat format;
  std::uint16_t (*from_float)(float);
  std::uint16_t (*from_double)(double);
  float (*to_float)(std::uint16_t);
};

const Codec kCodecs[] = {
    {kBf16Format, ffn::float_to_bf16_bits, ffn::double_to_bf16_bits, ffn::bf16_bits_to_float},
    {kFp16Format, ffn::float_to_fp16_bits, ffn::double_to_fp16_bits, ffn::fp16_bits_to_float},
};


std::string pattern(std::uint32_t bits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%04x", bits);
  return text;
}


using ffn::test::hex;
using ffn::test::Mismatches;
using ffn::test::same;

// One expectation of a bulk comparison: `what(input)` gave `actual`, `expected` was due.
void expect_same(Mismatches& m, const char* what, double input, double actual, double expected) {
  if (same(actual, expected)) return;
  m.add(std::string(what) + "(" + hex(input) + ") = " + hex(actual) + ", expected " + hex(expected));
}

// Values around every point of the format's grid where rounding changes its mind: each
// finite grid value, each midpoint between neighbours (including the overflow threshold
// above the largest finite value) and the midpoints' neighbours one ulp away in float, all
// with both signs. The midpoints of bf16 and fp16 are exact in float.
std::vector<float> grid_edge_floats(const ReferenceRounding& reference, const BinaryFormat& f) {
  std::vector<double> magnitudes;
  for (std::uint32_t bits = 0; bits <= f.max_finite_bits(); ++bits) {
    const auto midpoint = static_cast<float>(reference.midpoint_above(bits));
    magnitudes.insert(magnitudes.end(),
                      {reference.value(bits), midpoint, std::nextafter(midpoint, 0.0f),
                       std::nextafter(midpoint, kFloatInf)});
  }
  magnitudes.insert(magnitudes.end(), {FLT_MAX, FLT_MIN, FLT_TRUE_MIN, kInf});
  std::vector<float> edges;
  for (double m : magnitudes) {
    edges.push_back(static_cast<float>(m));
    edges.push_back(-static_cast<float>(m));
  }
  for (std::uint32_t nan_bits : {0x7fc0'0000u, 0xffc0'0000u, 0x7f80'0001u, 0xff80'0001u,
                                 0x7fff'ffffu, 0x7f80'ffffu, 0x7fa0'0000u})
    edges.push_back(std::bit_cast<float>(nan_bits));
  return edges;
}

// Like grid_edge_floats, for double inputs: the neighbours of grid values and midpoints are
// one ulp away in double (where rounding through float would land on the midpoint) and in
// float, and the extremes of double's range are added.
std::vector<double> grid_edge_doubles(const ReferenceRounding& reference, const BinaryFormat& f) {
  std::vector<double> magnitudes;
  for (std::uint32_t bits = 0; bits <= f.max_finite_bits(); ++bits) {
    const double value = reference.value(bits);
    const double midpoint = reference.midpoint_above(bits);
    const auto midpoint_float = static_cast<float>(midpoint);
    magnitudes.insert(magnitudes.end(),
                      {value, std::nextafter(value, kInf), midpoint, std::nextafter(midpoint, 0.0),
                       std::nextafter(midpoint, kInf), std::nextafter(midpoint_float, 0.0f),
                       std::nextafter(midpoint_float, kFloatInf)});
  }
  magnitudes.insert(magnitudes.end(), {FLT_MAX, std::nextafter(double{FLT_MAX}, kInf), 1e300,
                                       DBL_MAX, DBL_MIN, DBL_TRUE_MIN, kInf});
  std::vector<double> edges;
  for (double m : magnitudes) {
    edges.push_back(m);
    edges.push_back(-m);
  }
  edges.push_back(kNaN);
  edges.push_back(-kNaN);
  return edges;
}

std::vector<float> random_float_bit_patterns(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> values(count);
  for (float& v : values) v = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
  return values;
}

// Random sign and fraction with the binary exponent uniform in [lowest, highest], so that
// the values exercise a format's own range rather than all of double's.
std::vector<double> random_doubles_in_exponent_range(std::size_t count, int lowest, int highest,
                                                     std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> exponent(lowest, highest);
  std::vector<double> values(count);
  for (double& v : values) {
    const std::uint64_t bits = rng();
    const double significand =
        1.0 + std::ldexp(static_cast<double>(bits & ((1ull << 52) - 1)), -52);
    v = std::ldexp((bits >> 63) ? -significand : significand, exponent(rng));
  }
  return values;
}

std::vector<double> random_double_bit_patterns(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> values(count);
  for (double& v : values) v = std::bit_cast<double>(rng());
  return values;
}

// Exponents from below half the smallest subnormal to above the overflow threshold.
std::vector<double> random_doubles_for(const BinaryFormat& f, std::size_t count,
                                       std::uint64_t seed) {
  const int bias = (1 << (f.exponent_bits - 1)) - 1;
  return random_doubles_in_exponent_range(count, 1 - bias - f.fraction_bits - 3, bias + 2, seed);
}

TEST_CASE("bf16 and fp16 decode every bit pattern as the format definition says", "[formats]") {
  for (const Codec& codec : kCodecs) {
    INFO(codec.format.name);
    Mismatches mismatches;
    for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
      const double decoded = codec.to_float(static_cast<std::uint16_t>(bits));
      const double expected = codec.format.decode(bits);
      if (!same(decoded, expected))
        mismatches.add(pattern(bits) + " decodes to " + hex(decoded) + ", expected " +
                       hex(expected));
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }
}

TEST_CASE("bf16 and fp16 re-encode every decoded bit pattern to itself", "[formats]") {
  for (const Codec& codec : kCodecs) {
    INFO(codec.format.name);
    const BinaryFormat& f = codec.format;
    Mismatches mismatches;
    // A NaN may come back with another payload, but quiet and with its sign.
    auto round_trips = [&](std::uint32_t bits, std::uint32_t encoded) {
      if (!f.is_nan_bits(bits)) return encoded == bits;
      return f.is_nan_bits(encoded) && (encoded & f.quiet_bit()) != 0 &&
             (encoded & f.sign_bit()) == (bits & f.sign_bit());
    };
    for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
      const float decoded = codec.to_float(static_cast<std::uint16_t>(bits));
      const std::uint32_t via_float = codec.from_float(decoded);
      const std::uint32_t via_double = codec.from_double(decoded);
      if (!round_trips(bits, via_float))
        mismatches.add(pattern(bits) + " re-encodes from float to " + pattern(via_float));
      if (!round_trips(bits, via_double))
        mismatches.add(pattern(bits) + " re-encodes from double to " + pattern(via_double));
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }
}

TEST_CASE("float to bf16 and fp16 rounds to nearest even, as the reference does", "[formats]") {
  const std::vector<float> random_patterns = random_float_bit_patterns(4'000'000, 0x5eed'0001);
  for (const Codec& codec : kCodecs) {
    INFO(codec.format.name);
    const BinaryFormat& f = codec.format;
    const ReferenceRounding reference(f);
    std::vector<float> inputs = grid_edge_floats(reference, f);
    inputs.insert(inputs.end(), random_patterns.begin(), random_patterns.end());
    for (double x : random_doubles_for(f, 1'000'000, 0x5eed'0002))
      inputs.push_back(static_cast<float>(x));

    std::vector<float> rounded_inplace = inputs;
    ffn::round_inplace(f.dtype, std::span<float>(rounded_inplace));

    Mismatches mismatches;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const float x = inputs[i];
      const double expected = reference.round(x);
      expect_same(mismatches, "round_to", x, ffn::round_to(f.dtype, x), expected);
      expect_same(mismatches, "round_inplace", x, rounded_inplace[i], expected);
      expect_same(mismatches, "decode(encode)", x, codec.to_float(codec.from_float(x)), expected);
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }
}

TEST_CASE("double to bf16 and fp16 rounds once, directly from double", "[formats]") {
  SECTION("a double whose rounding through float lands on a midpoint and ties the wrong way") {
    // 1 + 2^-8 is the midpoint between bf16's 1 and 1 + 2^-7, and 1 + 2^-11 the one between
    // fp16's 1 and 1 + 2^-10; 2^-30 above them is lost when rounding to float.
    const double bf16_case = 1.0 + 0x1p-8 + 0x1p-30;
    REQUIRE(ffn::float_to_bf16_bits(static_cast<float>(bf16_case)) == 0x3f80);
    CHECK(ffn::double_to_bf16_bits(bf16_case) == 0x3f81);
    CHECK(ffn::round_to(DType::bf16, bf16_case) == 1.0 + 0x1p-7);
    CHECK(ffn::round_to(DType::bf16, -bf16_case) == -(1.0 + 0x1p-7));

    const double fp16_case = 1.0 + 0x1p-11 + 0x1p-30;
    REQUIRE(ffn::float_to_fp16_bits(static_cast<float>(fp16_case)) == 0x3c00);
    CHECK(ffn::double_to_fp16_bits(fp16_case) == 0x3c01);
    CHECK(ffn::round_to(DType::fp16, fp16_case) == 1.0 + 0x1p-10);
    CHECK(ffn::round_to(DType::fp16, -fp16_case) == -(1.0 + 0x1p-10));
  }

  SECTION("edge and random doubles match the reference") {
    const std::vector<double> random_patterns = random_double_bit_patterns(500'000, 0x5eed'0003);
    for (const Codec& codec : kCodecs) {
      INFO(codec.format.name);
      const BinaryFormat& f = codec.format;
      const ReferenceRounding reference(f);
      std::vector<double> inputs = grid_edge_doubles(reference, f);
      inputs.insert(inputs.end(), random_patterns.begin(), random_patterns.end());
      const std::vector<double> in_range = random_doubles_for(f, 1'000'000, 0x5eed'0004);
      inputs.insert(inputs.end(), in_range.begin(), in_range.end());

      std::vector<double> rounded_inplace = inputs;
      ffn::round_inplace(f.dtype, std::span<double>(rounded_inplace));
      std::vector<float> rounded_into(inputs.size());
      ffn::round_to(f.dtype, inputs, rounded_into);

      Mismatches mismatches;
      long double_rounding_cases = 0;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const double x = inputs[i];
        const double expected = reference.round(x);
        expect_same(mismatches, "round_to", x, ffn::round_to(f.dtype, x), expected);
        expect_same(mismatches, "round_inplace", x, rounded_inplace[i], expected);
        expect_same(mismatches, "round_to into float", x, rounded_into[i], expected);
        expect_same(mismatches, "decode(encode)", x, codec.to_float(codec.from_double(x)), expected);
        if (!same(reference.round(static_cast<float>(x)), expected)) ++double_rounding_cases;
      }
      REQUIRE_NO_MISMATCHES(mismatches);
      // The inputs must include cases that rounding through float gets wrong, or the check
      // above would not show that the rounding is direct.
      CHECK(double_rounding_cases > 10'000);
    }
  }
}

TEST_CASE("round_to fp32 and fp64: the correctly rounded cast, and the identity", "[formats]") {
  const ReferenceRounding fp32_reference(kFp32Format);
  const double float_max = FLT_MAX;
  const double float_overflow = fp32_reference.overflow_threshold();
  REQUIRE(float_overflow == float_max + 0x1p103);

  SECTION("double to fp32 rounds to nearest even, overflowing at max + ulp/2") {
    std::vector<double> inputs = {0.0,
                                  FLT_TRUE_MIN / 2.0,
                                  std::nextafter(FLT_TRUE_MIN / 2.0, kInf),
                                  FLT_TRUE_MIN * 1.5,
                                  FLT_TRUE_MIN * 2.5,
                                  FLT_MIN,
                                  std::nextafter(double{FLT_MIN}, 0.0),
                                  float_max,
                                  std::nextafter(float_overflow, 0.0),
                                  float_overflow,
                                  1.0 + 0x1p-24,
                                  1.0 + 0x1p-24 + 0x1p-52,
                                  1.0 + 3 * 0x1p-24,
                                  kInf,
                                  kNaN};
    const std::vector<double> in_range = random_doubles_for(kFp32Format, 300'000, 0x5eed'0005);
    inputs.insert(inputs.end(), in_range.begin(), in_range.end());
    for (std::size_t i = 0, n = inputs.size(); i < n; ++i) inputs.push_back(-inputs[i]);

    std::vector<double> rounded_inplace = inputs;
    ffn::round_inplace(DType::fp32, std::span<double>(rounded_inplace));
    std::vector<float> rounded_into(inputs.size());
    ffn::round_to(DType::fp32, inputs, rounded_into);

    Mismatches mismatches;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const double expected = fp32_reference.round(inputs[i]);
      expect_same(mismatches, "round_to", inputs[i], ffn::round_to(DType::fp32, inputs[i]),
                             expected);
      expect_same(mismatches, "round_inplace", inputs[i], rounded_inplace[i], expected);
      expect_same(mismatches, "round_to into float", inputs[i], rounded_into[i], expected);
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }

  SECTION("fp64 from double and fp32 or fp64 from float leave every value alone") {
    const std::vector<double> doubles = random_double_bit_patterns(200'000, 0x5eed'0006);
    const std::vector<float> floats = random_float_bit_patterns(200'000, 0x5eed'0007);
    std::vector<double> doubles_inplace = doubles;
    ffn::round_inplace(DType::fp64, std::span<double>(doubles_inplace));
    std::vector<float> floats_fp32 = floats, floats_fp64 = floats;
    ffn::round_inplace(DType::fp32, std::span<float>(floats_fp32));
    ffn::round_inplace(DType::fp64, std::span<float>(floats_fp64));

    Mismatches mismatches;
    for (std::size_t i = 0; i < doubles.size(); ++i) {
      expect_same(mismatches, "round_to fp64", doubles[i], ffn::round_to(DType::fp64, doubles[i]),
                             doubles[i]);
      expect_same(mismatches, "round_inplace fp64", doubles[i], doubles_inplace[i], doubles[i]);
    }
    for (std::size_t i = 0; i < floats.size(); ++i) {
      expect_same(mismatches, "round_to fp32", floats[i], ffn::round_to(DType::fp32, floats[i]),
                             floats[i]);
      expect_same(mismatches, "round_to fp64", floats[i], ffn::round_to(DType::fp64, floats[i]),
                             floats[i]);
      expect_same(mismatches, "round_inplace fp32", floats[i], floats_fp32[i], floats[i]);
      expect_same(mismatches, "round_inplace fp64", floats[i], floats_fp64[i], floats[i]);
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }
}

TEST_CASE("is_representable is true exactly on the grid", "[formats]") {
  for (const BinaryFormat& f : {kBf16Format, kFp16Format, kFp32Format}) {
    INFO(f.name);
    const ReferenceRounding reference(f);
    Mismatches mismatches;
    auto expect_representable = [&](double x, bool expected) {
      if (ffn::is_representable(f.dtype, x) != expected)
        mismatches.add("is_representable(" + hex(x) + ") should be " +
                       (expected ? "true" : "false"));
    };
    for (double special : {kInf, -kInf, kNaN, 0.0, -0.0}) expect_representable(special, true);

    std::vector<double> inputs = random_doubles_for(f, 300'000, 0x5eed'0008);
    // All of fp32's grid is too many to walk; its random inputs and their roundings cover it.
    if (f.dtype != DType::fp32) {
      for (std::uint32_t bits = 0; bits <= f.max_finite_bits(); ++bits) {
        const double value = reference.value(bits);
        inputs.insert(inputs.end(), {value, -value, std::nextafter(value, kInf),
                                     std::nextafter(value, -kInf), reference.midpoint_above(bits)});
      }
    }
    for (double x : inputs) {
      expect_representable(x, reference.round(x) == x);
      // Random doubles almost never lie on the grid; their roundings always do.
      expect_representable(reference.round(x), true);
    }
    REQUIRE_NO_MISMATCHES(mismatches);
  }
}

TEST_CASE("off_grid counts the floats is_representable rejects, and finds the first", "[formats]") {
  // Every 257th float bit pattern (all exponents, both signs, NaNs and infinities), and every
  // bf16 and fp16 value with its float neighbours.
  std::vector<float> xs;
  for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 257) xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
  for (std::uint32_t code = 0; code <= 0xffffu; ++code) {
    const float b = ffn::bf16_bits_to_float(static_cast<std::uint16_t>(code));
    const float h = ffn::fp16_bits_to_float(static_cast<std::uint16_t>(code));
    xs.insert(xs.end(), {b, std::nextafter(b, kFloatInf), std::nextafter(b, -kFloatInf), h, std::nextafter(h, kFloatInf),
                         std::nextafter(h, -kFloatInf)});
  }
  for (const DType t : {DType::bf16, DType::fp16, DType::fp32, DType::fp64}) {
    INFO(ffn::dtype_name(t));
    Mismatches mismatches;
    ffn::OffGridCount expected;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const bool off = !ffn::is_representable(t, xs[i]);
      if (off && expected.count++ == 0) expected.first = static_cast<std::int64_t>(i);
      if ((ffn::off_grid(t, std::span(&xs[i], 1)).count == 1) != off)
        mismatches.add("off_grid(" + hex(xs[i]) + ") should be " + (off ? "off" : "on") + " the grid");
    }
    REQUIRE_NO_MISMATCHES(mismatches);
    const ffn::OffGridCount got = ffn::off_grid(t, xs);
    CHECK(got.count == expected.count);
    CHECK(got.first == expected.first);
    CHECK((expected.count > 0) == (t == DType::bf16 || t == DType::fp16));
  }
  CHECK(ffn::off_grid(DType::bf16, std::span<const float>()).first == -1);
}

TEST_CASE("is_representable accepts every double for fp64", "[formats]") {
  Mismatches mismatches;
  for (double x : random_double_bit_patterns(100'000, 0x5eed'0009))
    if (!ffn::is_representable(DType::fp64, x)) mismatches.add("fp64 rejects " + hex(x));
  REQUIRE_NO_MISMATCHES(mismatches);
}

}  // namespace

TEST_CASE("round_toward_zero: the grid value next to x on the side of zero, every bf16 and fp16 interval",
          "[formats]") {
  // Exhaustive over the finite non-negative encodings v of each grid, with its successor w: every
  // x in [v, w) truncates to v (and -x to -v), checked at v, just above it, the midpoint and just
  // below w, with the neighbours taken from the encodings themselves (independent of rounding.cpp).
  for (const DType t : {DType::bf16, DType::fp16}) {
    const auto value = [t](std::uint16_t bits) {
      return t == DType::bf16 ? ffn::bf16_bits_to_float(bits) : ffn::fp16_bits_to_float(bits);
    };
    const std::uint16_t inf_bits = t == DType::bf16 ? 0x7f80 : 0x7c00;
    for (std::uint32_t b = 0; b + 1 < inf_bits; ++b) {
      const float v = value(static_cast<std::uint16_t>(b)), w = value(static_cast<std::uint16_t>(b + 1));
      for (const float x : {v, std::nextafter(v, w), v + (w - v) / 2, std::nextafter(w, v)}) {
        INFO(ffn::dtype_name(t) << " x = " << x);
        CHECK(ffn::round_toward_zero(t, x) == v);
        CHECK(ffn::round_toward_zero(t, -x) == -v);
      }
    }
    // Beyond the largest finite value: the largest finite value, never inf.
    CHECK(ffn::round_toward_zero(t, std::numeric_limits<float>::max()) == value(static_cast<std::uint16_t>(inf_bits - 1)));
    CHECK(std::isinf(ffn::round_toward_zero(t, std::numeric_limits<float>::infinity())));
    CHECK(std::isnan(ffn::round_toward_zero(t, std::numeric_limits<float>::quiet_NaN())));
  }
  CHECK(ffn::round_toward_zero(DType::fp32, 0.1f) == 0.1f);
}

// The dtype facts are literals in kernels/dtype.hpp: each against the format itself (the bit
// patterns of the 16-bit formats, std::numeric_limits for fp32 and fp64).
TEST_CASE("the dtype facts are those of the formats' bit patterns", "[formats]") {
  using namespace ffn;
  struct Facts {
    DType t;
    double epsilon, min_normal, min_subnormal, max_finite;
  };
  const Facts formats[] = {
      {DType::fp64, std::numeric_limits<double>::epsilon(), std::numeric_limits<double>::min(),
       std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max()},
      {DType::fp32, std::numeric_limits<float>::epsilon(), std::numeric_limits<float>::min(),
       std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()},
      {DType::bf16, bf16_bits_to_float(0x3F81) - 1.0, bf16_bits_to_float(0x0080),
       bf16_bits_to_float(0x0001), bf16_bits_to_float(0x7F7F)},
      {DType::fp16, fp16_bits_to_float(0x3C01) - 1.0, fp16_bits_to_float(0x0400),
       fp16_bits_to_float(0x0001), fp16_bits_to_float(0x7BFF)},
  };
  for (const Facts& f : formats) {
    INFO(dtype_name(f.t));
    // epsilon is the spacing above 1: 2^(1-p), twice the unit roundoff.
    CHECK(unit_roundoff(f.t) == f.epsilon / 2);
    CHECK(std::ldexp(1.0, 1 - precision_bits(f.t)) == f.epsilon);
    CHECK(min_normal(f.t) == f.min_normal);
    CHECK(min_subnormal(f.t) == f.min_subnormal);
    CHECK(max_finite(f.t) == f.max_finite);
  }
}
