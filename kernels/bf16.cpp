#include "kernels/bf16.hpp"

#include <bit>

#include "kernels/rounding.hpp"

namespace ffn {

// Rounding happens in rounding.cpp; a float on the bf16 grid has a zero lower half, so its
// encoding is its upper half.

std::uint16_t float_to_bf16_bits(float x) {
  return static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(round_to(DType::bf16, x)) >> 16);
}

std::uint16_t double_to_bf16_bits(double x) {
  // round_to rounds once, from double; its result is on the bf16 grid, so narrowing it to
  // float is exact and cannot round a second time.
  return float_to_bf16_bits(static_cast<float>(round_to(DType::bf16, x)));
}

float bf16_bits_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

}  // namespace ffn
