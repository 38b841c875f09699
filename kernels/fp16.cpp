#include "kernels/fp16.hpp"

#include <bit>

#include "kernels/rounding.hpp"

namespace ffn {

namespace {
constexpr std::uint32_t kFloatSignBit = 0x8000'0000u;
constexpr std::uint32_t kFloatInfinityBits = 0x7f80'0000u;
constexpr std::uint32_t kFp16MinNormalAsFloatBits = 0x3880'0000u;  // 2^-14
constexpr std::uint16_t kFp16SignBit = 0x8000u;
constexpr std::uint16_t kFp16InfinityBits = 0x7c00u;
// Float's exponent bias 127 minus fp16's 15, in float's exponent field.
constexpr std::uint32_t kExponentRebias = (127u - 15u) << 23;
constexpr float kFp16SubnormalSpacing = 0x1p-24f;
}  // namespace

// Rounding happens in rounding.cpp; here values already on the fp16 grid are re-encoded,
// which is exact.

std::uint16_t float_to_fp16_bits(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(round_to(DType::fp16, x));
  const auto sign = static_cast<std::uint16_t>((bits & kFloatSignBit) >> 16);
  const std::uint32_t magnitude = bits & ~kFloatSignBit;
  if (magnitude >= kFloatInfinityBits)  // inf, or a NaN whose quiet bit round_to has set
    return sign | kFp16InfinityBits | static_cast<std::uint16_t>((magnitude >> 13) & 0x3ffu);
  if (magnitude < kFp16MinNormalAsFloatBits)
    return sign |
           static_cast<std::uint16_t>(std::bit_cast<float>(magnitude) / kFp16SubnormalSpacing);
  return sign | static_cast<std::uint16_t>((magnitude - kExponentRebias) >> 13);
}

std::uint16_t double_to_fp16_bits(double x) {
  // round_to rounds once, from double; its result is on the fp16 grid, so narrowing it to
  // float is exact and cannot round a second time.
  return float_to_fp16_bits(static_cast<float>(round_to(DType::fp16, x)));
}

float fp16_bits_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & kFp16SignBit) << 16;
  const std::uint32_t exponent_field = bits & kFp16InfinityBits;
  const std::uint32_t fraction = bits & 0x3ffu;
  if (exponent_field == 0) {
    const float magnitude = static_cast<float>(fraction) * kFp16SubnormalSpacing;
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  if (exponent_field == kFp16InfinityBits)
    return std::bit_cast<float>(sign | kFloatInfinityBits | (fraction << 13));
  return std::bit_cast<float>(
      sign | ((static_cast<std::uint32_t>(bits & 0x7fffu) << 13) + kExponentRebias));
}

}  // namespace ffn
