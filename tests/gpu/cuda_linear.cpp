// GPU test: the cuBLASLt Linear (kernels/cuda/linear.hpp) against the CPU reference
// (kernels/cpu/linear.hpp), which has the same interface.
//  1. Integer-valued inputs make every fp32 GEMM exact whatever the summation order, so the
//     two must agree bit for bit; one case pins the rounding point of the bias: 257 + 0.75
//     is 258 in bf16 when the bias is added in fp32 before the one rounding, 256 when the
//     GEMM result is rounded first.
//  2. Random inputs on the dtype's grid: the only difference is the fp32 summation order, so
//     |gpu - cpu| <= E + ulp(|cpu| + E), E = (2K + 4) 2^-24 (sum_k |x_k w_k| + |b|).
//  3. TF32: E uses TF32's input error (2^-10 relative per input, truncation or rounding).
//  4. A rank's column shard of a weight (a strided view) as the row-parallel layer passes it.
#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/linear.hpp"
#include "kernels/cuda/linear.hpp"
#include "kernels/rounding.hpp"
#include "metrics/tensor_compare.hpp"
#include "tests/gpu/gpu_check.hpp"

namespace {

using namespace ffn;
using gpu_test::Checks;
using gpu_test::Draw;

Matrix<float> integers(std::int64_t rows, std::int64_t cols, int lo, int hi, Draw& d) {
  Matrix<float> m(rows, cols);
  for (float& v : m.values()) v = static_cast<float>(d.integer(lo, hi));
  return m;
}

Matrix<float> on_grid(std::int64_t rows, std::int64_t cols, double scale, DType t, Draw& d) {
  Matrix<float> m(rows, cols);
  for (float& v : m.values()) v = static_cast<float>(round_to(t, d.normal() * scale));
  return m;
}

void bit_exact(Checks& c, const Matrix<float>& gpu, const Matrix<float>& cpu, const std::string& what) {
  std::int64_t differ = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i) differ += gpu.data()[i] != cpu.data()[i];
  c.expect(differ == 0, fmt::format("{}: {} of {} elements differ from the CPU", what, differ, gpu.size()));
}

// |gpu - cpu| within the bound of a different summation order (and input error u_in).
void within_order_bound(Checks& c, MatrixView<float> x, MatrixView<float> w, std::span<const float> bias,
                        const Matrix<float>& gpu, const Matrix<float>& cpu, DType t, double u_in, const std::string& what) {
  std::int64_t over = 0;
  double worst = 0;
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < w.rows; ++j) {
      double mag = bias.empty() ? 0 : std::fabs(bias[j]);
      for (std::int64_t k = 0; k < x.cols; ++k) mag += std::fabs(double(x(i, k)) * w(j, k));
      const double e = ((2.0 * x.cols + 4) * 0x1.0p-24 + 2 * u_in) * mag;
      const double allowed = e + ulp_of(t, std::fabs(cpu(i, j)) + e);
      const double diff = std::fabs(double(gpu(i, j)) - cpu(i, j));
      worst = std::max(worst, diff / allowed);
      over += !(diff <= allowed);
    }
  c.expect(over == 0, fmt::format("{}: {} elements beyond the summation-order bound (worst {:.3g}x)", what, over, worst));
  std::printf("%s: worst |gpu - cpu| = %.3g of the bound\n", what.c_str(), worst);
}

}  // namespace

int main() {
  gpu_test::require_device();
  Checks c;
  Draw d(2024);

  for (DType t : {DType::fp32, DType::bf16, DType::fp16}) {
    const std::string name(dtype_name(t));
    // 1. Exact arithmetic: |sums| <= 64 * 9 + 8, integers, exact in fp32.
    const Matrix<float> x = integers(5, 64, -3, 3, d), w = integers(24, 64, -3, 3, d);
    std::vector<float> bias(24);
    for (float& b : bias) b = static_cast<float>(d.integer(-8, 8)) * 0.5f;
    bit_exact(c, cuda::linear(x, w, bias, t), cpu::linear(x, w, bias, t), name + " integer inputs");
    bit_exact(c, cuda::linear(x, w, {}, t), cpu::linear(x, w, {}, t), name + " integer inputs, no bias");

    // 2. Random inputs on the grid, LTX-2-like K.
    const std::int64_t k = 1024;
    const Matrix<float> xr = on_grid(16, k, 1.0, t, d), wr = on_grid(48, k, 1.0 / 32, t, d);
    std::vector<float> br(48);
    for (float& b : br) b = static_cast<float>(round_to(t, d.normal() * 0.03));
    within_order_bound(c, xr, wr, br, cuda::linear(xr, wr, br, t), cpu::linear(xr, wr, br, t), t, 0,
                       name + " random inputs");

    // 4. The rank-1 column shard of a [48, 1024] weight at tp 4, and a row block of x.
    const MatrixView<float> shard = wr.col_view(256, 512), xs = xr.col_view(256, 512);
    within_order_bound(c, xs, shard, {}, cuda::linear(xs, shard, {}, t), cpu::linear(xs, shard, {}, t), t, 0,
                       name + " strided shard");
  }

  // The rounding point of the bias: fp32 sum 257, bias 0.75 -> 257.75 -> bf16 258.
  {
    // [8 x 8] operands (aligned like any real layer); only output (0, 0) is looked at.
    Matrix<float> x(8, 8, 0.0f), w(8, 8, 0.0f);
    x(0, 0) = 256;
    x(0, 1) = 1;
    w(0, 0) = w(0, 1) = 1;
    std::vector<float> bias(8, 0.0f);
    bias[0] = 0.75f;
    const float cpu = cpu::linear(x, w, bias, DType::bf16)(0, 0);
    const float gpu = cuda::linear(x, w, bias, DType::bf16)(0, 0);
    c.expect(cpu == 258.0f, fmt::format("CPU bias rounding point: {} instead of 258", cpu));
    c.expect(gpu == 258.0f, fmt::format("bias added after a rounding on the GPU: {} instead of 258", gpu));
  }

  // 3. TF32 against the fp32 reference.
  {
    const Matrix<float> x = on_grid(16, 512, 1.0, DType::fp32, d), w = on_grid(32, 512, 0.05, DType::fp32, d);
    const Matrix<float> gpu = cuda::linear(x, w, {}, DType::fp32, cuda::Fp32Math::tf32);
    within_order_bound(c, x, w, {}, gpu, cpu::linear(x, w, {}, DType::fp32), DType::fp32, 0x1.0p-10, "tf32");
  }

  // A bias of the wrong size is refused with the sizes, as on the CPU.
  try {
    const Matrix<float> x(2, 8), w(4, 8);
    const std::vector<float> bias(3);
    static_cast<void>(cuda::linear(x, w, bias, DType::bf16));
    c.expect(false, "a 3-element bias for 4 outputs was accepted");
  } catch (const std::invalid_argument& e) {
    c.expect(std::string(e.what()).find("3 elements") != std::string::npos, std::string("bias error: ") + e.what());
  }
  return c.finish("cuda_linear");
}
