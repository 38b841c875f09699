// GPU test: the device's float -> bf16 rounding (__float2bfloat16_rn) equals the CPU
// reference (kernels/bf16.hpp) on all 2^32 float bit patterns. Exit 77 (ctest: skipped)
// when no CUDA device can be used.
#include <cstdint>
#include <cstdio>

#include "kernels/bf16.hpp"
#include "kernels/cuda/bf16_convert.hpp"
#include "kernels/cuda/device_query.hpp"

int main() {
  const ffn::cuda::DeviceStatus status = ffn::cuda::query_devices();
  std::printf("%s\n", status.summary.c_str());
  if (status.count == 0) return 77;

  constexpr std::size_t chunk = std::size_t{1} << 26;
  std::uint64_t wrong = 0;
  for (std::uint64_t first = 0; first < (std::uint64_t{1} << 32); first += chunk) {
    const auto device = ffn::cuda::device_float_to_bf16_bits(static_cast<std::uint32_t>(first), chunk);
    for (std::size_t i = 0; i < chunk; ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(first + i);
      float x;
      static_assert(sizeof x == sizeof bits);
      __builtin_memcpy(&x, &bits, sizeof x);
      const std::uint16_t host = ffn::float_to_bf16_bits(x);
      // NaN payloads may differ; both must still be NaN.
      const bool both_nan = (host & 0x7FFF) > 0x7F80 && (device[i] & 0x7FFF) > 0x7F80;
      if (host != device[i] && !both_nan && wrong++ < 10)
        std::printf("0x%08X: device 0x%04X, host 0x%04X\n", bits, device[i], host);
    }
  }
  std::printf("%llu of 4294967296 patterns differ\n", static_cast<unsigned long long>(wrong));
  return wrong == 0 ? 0 : 1;
}
