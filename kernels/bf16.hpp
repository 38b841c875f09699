#pragma once
// bfloat16: 1 sign, 8 exponent (bias 127), 7 fraction bits; the upper half of a float.
#include <cstdint>

namespace ffn {

// Round to nearest even; NaN -> a quiet NaN with the same sign; overflow -> inf.
std::uint16_t float_to_bf16_bits(float x);
std::uint16_t double_to_bf16_bits(double x);
float bf16_bits_to_float(std::uint16_t bits);

}  // namespace ffn
