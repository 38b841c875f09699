// GPU test: the device activations (kernels/cuda/activation.hpp) against the CPU reference
// (kernels/cpu/activation.hpp) on every finite bf16 and fp16 value, ungated and gated (each
// value as gate against a few up values). Both evaluate the same fp32 expression in the same
// order; only tanhf/erff/expf may differ, each within the error model's evaluation bound
// E u32 (|f| + |x|) of the exact value, so the two fp32 results differ by at most twice that.
// The rounded results must lie between the roundings of cpu_fp32 -/+ that bound (rounding is
// monotonic), times |up| when gated.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/bf16.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/cuda/activation.hpp"
#include "kernels/fp16.hpp"
#include "kernels/rounding.hpp"
#include "tests/gpu/gpu_check.hpp"

namespace {

using namespace ffn;

// Rows [x | up] for every finite value x of the grid and up in {1, -3, 0.5}.
Matrix<float> gate_up_rows(DType grid) {
  std::vector<float> v;
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float x = grid == DType::bf16 ? bf16_bits_to_float(static_cast<std::uint16_t>(bits))
                                        : fp16_bits_to_float(static_cast<std::uint16_t>(bits));
    if (std::isfinite(x)) v.push_back(x);
  }
  const float ups[] = {1.0f, -3.0f, 0.5f};
  Matrix<float> out(static_cast<std::int64_t>(v.size() * std::size(ups)), 2);
  std::int64_t r = 0;
  for (float x : v)
    for (float u : ups) out(r, 0) = x, out(r, 1) = u, ++r;
  return out;
}

double bound(ActFn fn, float x, float up) {
  return 2 * 8.0 * 0x1.0p-24 * (std::fabs(double(cpu::act(fn, double(x)))) + std::fabs(double(x))) * std::fabs(up) +
         2 * 0x1.0p-24 * std::fabs(double(cpu::act(fn, double(x))) * up);
}

}  // namespace

int main() {
  gpu_test::require_device();
  gpu_test::Checks c;
  for (DType input : {DType::bf16, DType::fp16})
    for (ActFn fn : {ActFn::gelu_tanh, ActFn::gelu, ActFn::silu})
      for (bool gated : {false, true})
        for (ActRounding rounding : {ActRounding::fused, ActRounding::native}) {
          if (!gated && rounding == ActRounding::native) continue;  // the same op ungated
          const Activation a{fn, gated, rounding};
          const Matrix<float> rows = gate_up_rows(input);
          const Matrix<float> h = gated ? rows : rows.col_block(0, 1);
          for (DType out : {DType::fp32, input}) {
            const Matrix<float> cpu_y = cpu::activation(h, a, out), gpu_y = cuda::activation(h, a, out);
            const Matrix<float> cpu32 = cpu::activation(h, {fn, gated, ActRounding::fused}, DType::fp32);
            std::int64_t over = 0, differ = 0;
            for (std::int64_t r = 0; r < h.rows(); ++r) {
              const float up = gated ? h(r, 1) : 1.0f;
              const double y = cpu32(r, 0), b = bound(fn, h(r, 0), up) + (rounding == ActRounding::native ? std::fabs(y) * 0x1.0p-7 : 0);
              const double lo = round_to(out, y - b), hi = round_to(out, y + b), g = gpu_y(r, 0);
              differ += g != cpu_y(r, 0);
              const bool ok = (lo <= g && g <= hi) || (std::isinf(g) && g == cpu_y(r, 0)) || (std::isnan(g) && std::isnan(cpu_y(r, 0)));
              if (!ok && over++ < 5)
                std::printf("%s %s(%a, up %a) -> %s: gpu %a cpu %a\n", activation_name(a).c_str(),
                            std::string(act_fn_name(fn)).c_str(), h(r, 0), up, std::string(dtype_name(out)).c_str(), g,
                            cpu_y(r, 0));
            }
            c.expect(over == 0, fmt::format("{} {} inputs, {} output: {} beyond the evaluation bound", activation_name(a),
                                            dtype_name(input), dtype_name(out), over));
            std::printf("%s (%s) %s inputs, %s output: %lld of %lld differ from the CPU (within the bound)\n",
                        activation_name(a).c_str(), std::string(act_rounding_name(rounding)).c_str(),
                        std::string(dtype_name(input)).c_str(), std::string(dtype_name(out)).c_str(),
                        static_cast<long long>(differ), static_cast<long long>(h.rows()));
          }
        }
  return c.finish("cuda_activation");
}
