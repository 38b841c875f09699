#pragma once
// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits, subnormals below 2^-14.
#include <cstdint>

namespace ffn {

// Round to nearest even, with subnormal results; NaN -> quiet NaN; overflow -> inf.
std::uint16_t float_to_fp16_bits(float x);
std::uint16_t double_to_fp16_bits(double x);
float fp16_bits_to_float(std::uint16_t bits);

}  // namespace ffn
