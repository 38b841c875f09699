#pragma once
// The device's own float -> bf16 conversion (__float2bfloat16_rn), for checking that the
// GPU rounds exactly as the CPU reference in kernels/bf16.hpp does.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ffn::cuda {

// bf16 bits of the floats whose bit patterns are first_bits, first_bits + 1, ...
std::vector<std::uint16_t> device_float_to_bf16_bits(std::uint32_t first_bits, std::size_t count);

}  // namespace ffn::cuda
