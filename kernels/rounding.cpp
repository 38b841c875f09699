#include "kernels/rounding.hpp"

#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace ffn {

namespace {

constexpr std::uint32_t kFloatSignBit = 0x8000'0000u;
constexpr std::uint32_t kFloatInfinityBits = 0x7f80'0000u;
constexpr std::uint32_t kFloatQuietBit = 0x0040'0000u;
constexpr std::uint32_t kFp16MinNormalAsFloatBits = 0x3880'0000u;  // 2^-14
constexpr std::uint32_t kFp16MaxFiniteAsFloatBits = 0x477f'e000u;  // 65504

// The grid kernels pick among candidates with selects rather than branches so that the
// round_inplace loops vectorize.

float round_float_to_bf16(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  // Adding 0x7fff plus the lowest kept bit carries into the kept half exactly when the dropped
  // lower half is above half an ulp, or equal to it with an odd kept part; a carry out of the
  // fraction moves to the next binade, and out of the largest finite value to inf, as IEEE
  // requires.
  const std::uint32_t nearest = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff'0000u;
  // A NaN whose payload lies only in the dropped half would truncate to inf, and the carry
  // above could reach the sign bit, so NaNs take the quiet bit and keep their upper payload.
  const std::uint32_t quiet_nan = (bits | kFloatQuietBit) & 0xffff'0000u;
  const bool is_nan = (bits & ~kFloatSignBit) > kFloatInfinityBits;
  return std::bit_cast<float>(is_nan ? quiet_nan : nearest);
}

float round_float_to_fp16(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t sign = bits & kFloatSignBit;
  const std::uint32_t magnitude = bits ^ sign;
  // fp16 normals keep 10 of float's 23 fraction bits: same carry trick as bf16, 13 bits lower.
  const std::uint32_t nearest_normal = (magnitude + 0x0fffu + ((magnitude >> 13) & 1u)) & ~0x1fffu;
  // Below 2^-14 the fp16 grid has the fixed spacing 2^-24, which is also float's spacing on
  // [0.5, 1): adding 0.5 lets the hardware round onto the subnormal grid, ties to even (0.5
  // is an even multiple of 2^-24), and subtracting it again is exact.
  const float nearest_subnormal = (std::bit_cast<float>(magnitude) + 0.5f) - 0.5f;
  const std::uint32_t quiet_nan = (magnitude | kFloatQuietBit) & ~0x1fffu;

  std::uint32_t rounded =
      nearest_normal > kFp16MaxFiniteAsFloatBits ? kFloatInfinityBits : nearest_normal;
  // A mask blend, not ?:, because with -ftrapping-math (the default) GCC will not turn a
  // choice involving a floating-point result into a select, and the loop would not vectorize.
  const std::uint32_t subnormal_mask =
      0u - static_cast<std::uint32_t>(magnitude < kFp16MinNormalAsFloatBits);
  rounded = (std::bit_cast<std::uint32_t>(nearest_subnormal) & subnormal_mask) |
            (rounded & ~subnormal_mask);
  rounded = magnitude > kFloatInfinityBits ? quiet_nan : rounded;
  return std::bit_cast<float>(rounded | sign);
}

// Rounding double -> float -> bf16 (or fp16) to nearest both times is wrong when the first
// rounding lands exactly on a midpoint of the narrow grid. Rounding the first step to odd
// instead (truncate, then set the last bit if anything was lost) cannot land on one: float
// has at least two more bits than the narrow format throughout float's exponent range, so
// narrow midpoints are even floats. The odd result lies on the same side of every midpoint
// as x, and the second rounding gives the correctly rounded result of x (Boldo and
// Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding
// to odd", 2008).
//
// Finite doubles beyond float's range convert to inf or FLT_MAX, as IEEE prescribes for
// C++'s "either adjacent value" and as round_to(fp32, double) relies on too; stepping back
// from inf then gives FLT_MAX, the round-to-odd result. NaNs stay NaNs: setting the lowest
// bit keeps the fraction nonzero.
float round_to_odd_float(double x) {
  const float nearest = static_cast<float>(x);
  const double nearest_exact = nearest;
  const std::uint32_t rounded_away = std::fabs(nearest_exact) > std::fabs(x) ? 1u : 0u;
  const std::uint32_t inexact = nearest_exact != x ? 1u : 0u;
  // Positive and negative floats are both ordered by magnitude, so stepping the bit pattern
  // down by one moves toward zero whatever the sign.
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(nearest) - rounded_away) | inexact);
}

}  // namespace

float round_to(DType t, float x) {
  switch (t) {
    case DType::fp64:
    case DType::fp32: return x;
    case DType::bf16: return round_float_to_bf16(x);
    case DType::fp16: return round_float_to_fp16(x);
  }
  // Only a DType outside the enumeration gets here; NaN makes that visible downstream.
  return std::numeric_limits<float>::quiet_NaN();
}

double round_to(DType t, double x) {
  switch (t) {
    case DType::fp64: return x;
    case DType::fp32: return static_cast<float>(x);
    case DType::bf16: return round_float_to_bf16(round_to_odd_float(x));
    case DType::fp16: return round_float_to_fp16(round_to_odd_float(x));
  }
  return std::numeric_limits<double>::quiet_NaN();
}

void round_inplace(DType t, std::span<float> xs) {
  switch (t) {
    case DType::fp64:
    case DType::fp32: return;
    case DType::bf16:
      for (float& x : xs) x = round_float_to_bf16(x);
      return;
    case DType::fp16:
      for (float& x : xs) x = round_float_to_fp16(x);
      return;
  }
}

void round_inplace(DType t, std::span<double> xs) {
  switch (t) {
    case DType::fp64: return;
    case DType::fp32:
      for (double& x : xs) x = static_cast<float>(x);
      return;
    case DType::bf16:
      for (double& x : xs) x = round_float_to_bf16(round_to_odd_float(x));
      return;
    case DType::fp16:
      for (double& x : xs) x = round_float_to_fp16(round_to_odd_float(x));
      return;
  }
}

// Vectorized with AVX-512's double-to-float conversions and masked selects where the machine
// has them: IEEE operations and bit manipulation only (no contraction: -ffp-contract=off), so
// every clone gives the same bits (test_rounding compares it with the scalar round_to).
[[gnu::target_clones("arch=x86-64-v4", "default")]] void round_to(DType t, std::span<const double> in,
                                                                  std::span<float> out) {
  if (in.size() != out.size()) throw std::invalid_argument("round_to: input and output sizes differ");
  switch (t) {
    case DType::bf16:
      for (std::size_t i = 0; i < in.size(); ++i) out[i] = round_float_to_bf16(round_to_odd_float(in[i]));
      return;
    case DType::fp16:
      for (std::size_t i = 0; i < in.size(); ++i) out[i] = round_float_to_fp16(round_to_odd_float(in[i]));
      return;
    case DType::fp64:  // a float holds no finer grid than fp32's
    case DType::fp32: break;
  }
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>(in[i]);
}

bool is_representable(DType t, double x) { return std::isnan(x) || round_to(t, x) == x; }

namespace {
// A float is exact in double, so round_to_odd_float(x) is x and is_representable(t, x) is
// isnan(x) || round_float_to_*(x) == x; on bf16, whose exponent range is fp32's, that is the
// low 16 bits being zero.
template <DType t>
bool off_grid_at(float x) {
  if constexpr (t == DType::bf16) return (std::bit_cast<std::uint32_t>(x) & 0xffffu) != 0 && !std::isnan(x);
  else return round_float_to_fp16(x) != x && !std::isnan(x);
}

template <DType t>
OffGridCount count_off_grid(std::span<const float> xs) {
  OffGridCount c;
  for (const float x : xs) c.count += off_grid_at<t>(x) ? 1 : 0;
  if (c.count > 0)
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (off_grid_at<t>(xs[i])) {
        c.first = static_cast<std::int64_t>(i);
        break;
      }
  return c;
}
}  // namespace

[[gnu::target_clones("arch=x86-64-v4", "default")]] OffGridCount off_grid(DType t, std::span<const float> xs) {
  switch (t) {
    case DType::bf16: return count_off_grid<DType::bf16>(xs);
    case DType::fp16: return count_off_grid<DType::fp16>(xs);
    case DType::fp32:
    case DType::fp64: break;  // every float is on them
  }
  return {};
}

float round_toward_zero(DType t, float x) {
  if (t == DType::fp32 || std::isnan(x)) return round_to(t, x);
  const float nearest = round_to(t, x);
  if (std::fabs(nearest) <= std::fabs(x)) return nearest;
  // Rounded away from zero (or overflowed to inf): one grid step back toward zero, which on a
  // sign-magnitude encoding is the bit pattern minus one (inf - 1 is the largest finite value).
  if (t == DType::bf16) return bf16_bits_to_float(static_cast<std::uint16_t>(float_to_bf16_bits(nearest) - 1u));
  return fp16_bits_to_float(static_cast<std::uint16_t>(float_to_fp16_bits(nearest) - 1u));
}

}  // namespace ffn
