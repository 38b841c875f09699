#include "kernels/minifloat.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ffn {

using Specials = MinifloatFormat::Specials;

const MinifloatFormat k_e4m3{"e4m3", 4, 3, 7, Specials::finite_nan_all_ones};
const MinifloatFormat k_e5m2{"e5m2", 5, 2, 15, Specials::ieee};
const MinifloatFormat k_e2m1{"e2m1", 2, 1, 1, Specials::finite_only};

namespace {

constexpr std::uint32_t kFloatSignBit = 0x8000'0000u;
constexpr std::uint32_t kFloatInfinityBits = 0x7f80'0000u;
constexpr std::uint32_t kFloatQuietNanBits = 0x7fc0'0000u;
constexpr int kFloatFractionBits = 23;
constexpr int kFloatMinExponent = -126;
constexpr int kFloatMaxExponent = 127;

// The codes that matter, as magnitudes (sign bit clear).
struct Layout {
  int sign_shift;
  std::uint32_t magnitude_mask;
  std::uint32_t max_code;  // the largest finite value
  std::uint32_t inf_code;  // ieee only
  std::uint32_t nan_code;  // the NaN the encoder produces; none for finite_only
  int min_exponent;        // of the normals: 1 - bias
};

Layout layout_of(const MinifloatFormat& f) {
  const int e = f.exponent_bits;
  const int m = f.mantissa_bits;
  if (e < 2 || m < 1 || 1 + e + m > 8)
    throw std::invalid_argument(std::string("minifloat format ") + f.name +
                                ": needs 2 <= exponent_bits, 1 <= mantissa_bits and at most 8 "
                                "bits in all");
  Layout l{};
  l.sign_shift = e + m;
  l.magnitude_mask = (1u << (e + m)) - 1;
  l.min_exponent = 1 - f.bias;
  const std::uint32_t all_ones_exponent = ((1u << e) - 1) << m;
  switch (f.specials) {
    case Specials::ieee:
      l.inf_code = all_ones_exponent;
      l.nan_code = all_ones_exponent | (1u << (m - 1));  // quiet: top mantissa bit set
      l.max_code = all_ones_exponent - 1;
      break;
    case Specials::finite_nan_all_ones:
      l.nan_code = l.magnitude_mask;
      l.max_code = l.magnitude_mask - 1;
      break;
    case Specials::finite_only: l.max_code = l.magnitude_mask; break;
  }
  // The rounding below works in float: half the smallest subnormal must be a normal float,
  // and so must the first power of two above max, where overflowing values round to.
  const int max_exponent = static_cast<int>(l.max_code >> m) - f.bias;
  if (l.min_exponent - m - 1 < kFloatMinExponent || max_exponent + 1 > kFloatMaxExponent)
    throw std::invalid_argument(std::string("minifloat format ") + f.name +
                                ": bias puts its range outside float's normals");
  return l;
}

bool is_nan_code(const MinifloatFormat& f, const Layout& l, std::uint32_t magnitude) {
  switch (f.specials) {
    case Specials::ieee: return magnitude > l.inf_code;
    case Specials::finite_nan_all_ones: return magnitude == l.magnitude_mask;
    case Specials::finite_only: return false;
  }
  return false;
}

bool saturates(const MinifloatFormat& f, bool saturate) {
  return saturate || f.specials == Specials::finite_only;
}

std::uint32_t overflow_code(const MinifloatFormat& f, const Layout& l, bool saturate) {
  if (saturates(f, saturate)) return l.max_code;
  return f.specials == Specials::ieee ? l.inf_code : l.nan_code;
}

[[noreturn]] void throw_nan_without_code(const MinifloatFormat& f) {
  throw std::domain_error(std::string("minifloat format ") + f.name + " has no NaN");
}

// 2^e for e in float's normal range.
float power_of_two(int e) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(e + 127) << 23);
}

// Exact in float: layout_of keeps every value of the format among float's normals.
float decode_finite(const MinifloatFormat& f, const Layout& l, std::uint32_t magnitude) {
  const int m = f.mantissa_bits;
  const auto exponent_field = static_cast<int>(magnitude >> m);
  const std::uint32_t mantissa = magnitude & ((1u << m) - 1);
  if (exponent_field == 0) return static_cast<float>(mantissa) * power_of_two(l.min_exponent - m);
  return std::bit_cast<float>(
      (static_cast<std::uint32_t>(exponent_field - f.bias + 127) << kFloatFractionBits) |
      (mantissa << (kFloatFractionBits - m)));
}

float decode(const MinifloatFormat& f, const Layout& l, std::uint8_t code) {
  if ((code >> (l.sign_shift + 1)) != 0)
    throw std::out_of_range(std::string("minifloat format ") + f.name + ": code " +
                            std::to_string(code) + " has more bits than the format");
  const std::uint32_t magnitude = code & l.magnitude_mask;
  float value;
  if (is_nan_code(f, l, magnitude))
    value = std::numeric_limits<float>::quiet_NaN();
  else if (f.specials == Specials::ieee && magnitude == l.inf_code)
    value = std::numeric_limits<float>::infinity();
  else
    value = decode_finite(f, l, magnitude);
  const std::uint32_t sign = static_cast<std::uint32_t>(code >> l.sign_shift) << 31;
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(value) | sign);
}

std::uint8_t encode(const MinifloatFormat& f, const Layout& l, float x, bool saturate) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t sign = (bits >> 31) << l.sign_shift;
  const std::uint32_t magnitude = bits & ~kFloatSignBit;
  if (magnitude > kFloatInfinityBits) {
    if (f.specials == Specials::finite_only) throw_nan_without_code(f);
    return static_cast<std::uint8_t>(sign | l.nan_code);
  }
  if (magnitude == kFloatInfinityBits)
    return static_cast<std::uint8_t>(sign | overflow_code(f, l, saturate));

  // |x| = significand * 2^(exponent - 23), float subnormals included.
  const auto biased_exponent = static_cast<int>(magnitude >> kFloatFractionBits);
  const int exponent = std::max(biased_exponent - 127, kFloatMinExponent);
  std::uint32_t significand = magnitude & ((1u << kFloatFractionBits) - 1);
  if (biased_exponent != 0) significand |= 1u << kFloatFractionBits;

  // Keep mantissa_bits fraction bits, fewer below the normal range where the grid spacing
  // stays at the smallest subnormal. Past 25 dropped bits the whole significand lies below
  // half of the lowest kept bit, so 25 already rounds to zero.
  const int dropped =
      std::min(kFloatFractionBits - f.mantissa_bits + std::max(l.min_exponent - exponent, 0), 25);
  const std::uint32_t half = 1u << (dropped - 1);
  const std::uint32_t kept = significand >> dropped;
  const std::uint32_t rest = significand & ((half << 1) - 1);
  const std::uint32_t rounded = kept + (rest > half || (rest == half && (kept & 1u)) ? 1u : 0u);

  // A normal's code is (exponent field << mantissa_bits) + fraction, and rounded still holds
  // the implicit one, which adds one to the field: hence field - 1. A carry out of the fraction
  // moves into the next binade, and a subnormal that rounds up to 2^min_exponent becomes the
  // smallest normal, as the code layout requires.
  const std::uint32_t code_magnitude =
      (static_cast<std::uint32_t>(std::max(exponent + f.bias - 1, 0)) << f.mantissa_bits) + rounded;
  if (code_magnitude > l.max_code)
    return static_cast<std::uint8_t>(sign | overflow_code(f, l, saturate));
  return static_cast<std::uint8_t>(sign | code_magnitude);
}

}  // namespace

double minifloat_max(const MinifloatFormat& f) {
  const Layout l = layout_of(f);
  return decode_finite(f, l, l.max_code);
}

double minifloat_min_normal(const MinifloatFormat& f) {
  return power_of_two(layout_of(f).min_exponent);
}

double minifloat_min_subnormal(const MinifloatFormat& f) {
  return power_of_two(layout_of(f).min_exponent - f.mantissa_bits);
}

int minifloat_precision_bits(const MinifloatFormat& f) {
  layout_of(f);
  return f.mantissa_bits + 1;
}

float minifloat_decode(const MinifloatFormat& f, std::uint8_t code) {
  return decode(f, layout_of(f), code);
}

std::uint8_t minifloat_encode(const MinifloatFormat& f, float x, bool saturate) {
  return encode(f, layout_of(f), x, saturate);
}

float minifloat_round(const MinifloatFormat& f, float x, bool saturate) {
  const Layout l = layout_of(f);
  return decode(f, l, encode(f, l, x, saturate));
}

void minifloat_round_inplace(const MinifloatFormat& f, std::span<float> xs, bool saturate) {
  const Layout l = layout_of(f);
  const std::uint32_t dropped = kFloatFractionBits - f.mantissa_bits;
  const std::uint32_t half_minus_one = (1u << (dropped - 1)) - 1;
  const std::uint32_t kept_mask = ~((1u << dropped) - 1);
  const std::uint32_t min_normal_bits = std::bit_cast<std::uint32_t>(power_of_two(l.min_exponent));
  const std::uint32_t max_bits = std::bit_cast<std::uint32_t>(decode_finite(f, l, l.max_code));
  const std::uint32_t overflow_bits = saturates(f, saturate)         ? max_bits
                                      : f.specials == Specials::ieee ? kFloatInfinityBits
                                                                     : kFloatQuietNanBits;
  // Below the normal range the grid spacing is the smallest subnormal 2^(min_exponent - m),
  // which is float's spacing on [s, 2s) with s = 2^(min_exponent - m + 23) > |x|: adding s
  // lets the hardware round onto the subnormal grid, ties to even (s is an even multiple of
  // the spacing), and subtracting it again is exact. A value that rounds up out of the
  // subnormals lands on 2^min_exponent, the smallest normal, as it should.
  const float subnormal_shift = power_of_two(l.min_exponent - f.mantissa_bits + 23);

  // Selects and mask blends rather than branches, so that the loop vectorizes (see
  // rounding.cpp); the NaN check is a reduction for the same reason.
  std::uint32_t nan_seen = 0;
  for (float& x : xs) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    const std::uint32_t sign = bits & kFloatSignBit;
    const std::uint32_t magnitude = bits ^ sign;
    // Adding half an ulp less one plus the lowest kept bit carries into the kept bits exactly
    // when the dropped bits exceed half an ulp, or equal it with an odd kept part.
    const std::uint32_t nearest_normal =
        (magnitude + half_minus_one + ((magnitude >> dropped) & 1u)) & kept_mask;
    const float nearest_subnormal =
        (std::bit_cast<float>(magnitude) + subnormal_shift) - subnormal_shift;
    // Infinity is beyond max too; a NaN's carry may reach the sign bit, but it is replaced.
    std::uint32_t rounded = nearest_normal > max_bits ? overflow_bits : nearest_normal;
    const std::uint32_t subnormal_mask =
        0u - static_cast<std::uint32_t>(magnitude < min_normal_bits);
    rounded = (std::bit_cast<std::uint32_t>(nearest_subnormal) & subnormal_mask) |
              (rounded & ~subnormal_mask);
    // A blend here too: as a ?: GCC makes it a branch and sinks the float addition above
    // into it, and a trapping operation under a branch stops the vectorizer.
    const std::uint32_t nan_mask = 0u - static_cast<std::uint32_t>(magnitude > kFloatInfinityBits);
    nan_seen |= nan_mask;
    rounded = (kFloatQuietNanBits & nan_mask) | (rounded & ~nan_mask);
    x = std::bit_cast<float>(rounded | sign);
  }
  if (nan_seen != 0 && f.specials == Specials::finite_only) throw_nan_without_code(f);
}

}  // namespace ffn
