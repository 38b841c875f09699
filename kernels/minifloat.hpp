#pragma once
// Small floating-point formats (FP8 E4M3 and E5M2, FP4 E2M1) described by their bit layout,
// with one generic encoder, decoder and rounding kernel. Values are held in float storage:
// a tensor "in e4m3" is a float tensor whose values all lie on the e4m3 grid.
//
// Codes are the format's bit patterns right-aligned in a byte: sign, exponent, mantissa, so
// e2m1 uses codes 0x0..0xf with the sign in bit 3.
#include <cstdint>
#include <span>

namespace ffn {

struct MinifloatFormat {
  const char* name;
  int exponent_bits;
  int mantissa_bits;  // explicit fraction bits; normals carry an implicit leading one
  int bias;
  // What the all-ones exponent means:
  //   ieee: infinities (zero mantissa) and NaNs, as in IEEE 754 (e5m2);
  //   finite_nan_all_ones: ordinary values, except that the all-ones code S.1..1.1..1 is NaN
  //     and there is no infinity (OCP e4m3fn);
  //   finite_only: ordinary values; no infinity and no NaN (e2m1).
  enum class Specials { ieee, finite_nan_all_ones, finite_only } specials;
};

// OCP e4m3fn: bias 7, max 448, smallest subnormal 2^-9, NaN 0x7f/0xff, no inf.
extern const MinifloatFormat k_e4m3;
// OCP e5m2 (IEEE-style): bias 15, max 57344, inf 0x7c, NaN 0x7d..0x7f, smallest subnormal 2^-16.
extern const MinifloatFormat k_e5m2;
// OCP e2m1 (FP4): bias 1, magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6; no inf, no NaN.
extern const MinifloatFormat k_e2m1;

// Every function throws std::invalid_argument for a format outside what the implementation
// supports: 2 <= exponent_bits, 1 <= mantissa_bits, 1 + exponent_bits + mantissa_bits <= 8,
// and a bias that keeps every value and every rounding midpoint a normal float.

double minifloat_max(const MinifloatFormat& f);
double minifloat_min_normal(const MinifloatFormat& f);
double minifloat_min_subnormal(const MinifloatFormat& f);
// Significand bits including the implicit one; the unit roundoff is 2^-precision.
int minifloat_precision_bits(const MinifloatFormat& f);

// A NaN code decodes to a quiet NaN of the code's sign. Throws std::out_of_range for a code
// with bits set above the format's sign bit.
float minifloat_decode(const MinifloatFormat& f, std::uint8_t code);

// Round to nearest, ties to even; the sign of zero is kept, and so is the sign of a NaN.
//   saturate = true, the quantization path (serving stacks clamp to +-max before
//     converting): magnitudes beyond max, infinities included, give +-max.
//   saturate = false, the IEEE/OCP conversion: a magnitude that rounds above max, as if the
//     exponent range were unbounded, gives inf (e5m2: from 61440 = max + ulp/2 up, the tie
//     going to the even 2^16) or NaN (e4m3fn: from just above 464 = max + ulp/2 up; 464
//     itself ties to the even 448). Formats without inf or NaN (e2m1) always saturate.
// NaN gives a NaN code, and throws std::domain_error for a format that has none (e2m1).
std::uint8_t minifloat_encode(const MinifloatFormat& f, float x, bool saturate);

// minifloat_decode(f, minifloat_encode(f, x, saturate)).
float minifloat_round(const MinifloatFormat& f, float x, bool saturate);

// minifloat_round on every element, vectorized for whole weight tensors. A NaN element in a
// format without NaN throws std::domain_error after the pass, the other elements rounded.
// Assumes the default floating-point environment (round to nearest).
void minifloat_round_inplace(const MinifloatFormat& f, std::span<float> xs, bool saturate);

}  // namespace ffn
