// GPU test: the device GELU-tanh (kernels/cuda/gelu.hpp) against the CPU reference
// (kernels/cpu/gelu.hpp) on every finite bf16 and fp16 value. Both evaluate the same fp32
// expression in the same order; only tanhf may differ (each within a few ulps of tanh, so
// their results differ by at most T = 2^-21 absolute: 8 ulps of a value in [0.5, 1)). The fp32
// results must then satisfy the bound below; the rounded
// results must lie between the roundings of cpu_fp32 -/+ that bound (rounding is monotonic).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/bf16.hpp"
#include "kernels/cpu/gelu.hpp"
#include "kernels/cuda/gelu.hpp"
#include "kernels/fp16.hpp"
#include "kernels/rounding.hpp"
#include "metrics/tensor_compare.hpp"
#include "tests/gpu/gpu_check.hpp"

namespace {

using namespace ffn;

Matrix<float> all_finite(DType grid) {
  std::vector<float> v;
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float x = grid == DType::bf16 ? bf16_bits_to_float(static_cast<std::uint16_t>(bits))
                                        : fp16_bits_to_float(static_cast<std::uint16_t>(bits));
    if (std::isfinite(x)) v.push_back(x);
  }
  Matrix<float> out(1, static_cast<std::int64_t>(v.size()));
  std::copy(v.begin(), v.end(), out.data());
  return out;
}

// tanhf difference (2^-21) plus the rounding of 1 + t (2^-23), times 0.5 x, plus the roundings
// of the products.
double bound(float x, float y) {
  return 0.5 * std::fabs(x) * (0x1.0p-21 + 0x1.0p-23) * (1 + 0x1.0p-22) + 2 * ulp_of(DType::fp32, y);
}

}  // namespace

int main() {
  gpu_test::require_device();
  gpu_test::Checks c;
  for (DType input : {DType::bf16, DType::fp16}) {
    const Matrix<float> x = all_finite(input);
    Matrix<float> cpu32 = x, gpu32 = x;
    cpu::gelu_tanh_inplace(cpu32, DType::fp32);
    cuda::gelu_tanh_inplace(gpu32, DType::fp32);
    std::int64_t over = 0, differ = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double b = bound(x.data()[i], cpu32.data()[i]);
      differ += gpu32.data()[i] != cpu32.data()[i];
      const bool ok = std::fabs(double(gpu32.data()[i]) - cpu32.data()[i]) <= b ||
                      (std::isinf(gpu32.data()[i]) && gpu32.data()[i] == cpu32.data()[i]);
      if (!ok && over++ < 5)
        std::printf("fp32 gelu(%a): gpu %a cpu %a\n", x.data()[i], gpu32.data()[i], cpu32.data()[i]);
    }
    c.expect(over == 0, fmt::format("{} inputs, fp32 output: {} beyond the tanhf bound", dtype_name(input), over));
    std::printf("%s inputs, fp32 output: %lld of %zu differ from the CPU (within the bound)\n",
                std::string(dtype_name(input)).c_str(), static_cast<long long>(differ), x.size());

    Matrix<float> gpu = x;
    cuda::gelu_tanh_inplace(gpu, input);
    over = differ = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double y = cpu32.data()[i], b = bound(x.data()[i], cpu32.data()[i]);
      const double lo = round_to(input, y - b), hi = round_to(input, y + b), g = gpu.data()[i];
      differ += g != round_to(input, static_cast<float>(y));
      const bool ok = (lo <= g && g <= hi) || (std::isinf(g) && g == round_to(input, static_cast<float>(y)));
      if (!ok && over++ < 5) std::printf("%s gelu(%a): gpu %a, allowed [%a, %a]\n", std::string(dtype_name(input)).c_str(),
                                         x.data()[i], g, lo, hi);
    }
    c.expect(over == 0, fmt::format("{} output: {} outside the roundings of the bound", dtype_name(input), over));
    std::printf("%s output: %lld of %zu differ from the CPU by one ulp (allowed at rounding boundaries)\n",
                std::string(dtype_name(input)).c_str(), static_cast<long long>(differ), x.size());
  }
  return c.finish("cuda_gelu");
}
