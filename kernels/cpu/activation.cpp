#include "kernels/cpu/activation.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"
#include "kernels/rounding.hpp"

namespace ffn::cpu {

namespace {
template <class T>
T act_in(ActFn f, T x) {
  const T half = static_cast<T>(0.5), one = static_cast<T>(1);
  switch (f) {
    case ActFn::gelu_tanh: {
      const T k_sqrt_2_over_pi = static_cast<T>(0.79788456080286535587989211986876);
      const T k_cubic = static_cast<T>(0.044715);
      const T inner = k_sqrt_2_over_pi * (x + k_cubic * x * x * x);
      return half * x * (one + std::tanh(inner));
    }
    case ActFn::gelu:
      // PyTorch's GeluKernel (aten/src/ATen/native/cpu/Activation.cpp, GeluKernelImpl):
      // x * 0.5 * (1 + erf(x * M_SQRT1_2)) in the opmath type.
      return x * half * (one + std::erf(x * static_cast<T>(0.70710678118654752440084436210485)));
    case ActFn::silu:
      // PyTorch's silu_kernel (aten/src/ATen/native/cpu/Activation.cpp): x / (1 + exp(-x)).
      return x / (one + std::exp(-x));
  }
  return x;
}

std::int64_t output_cols(const Activation& a, std::int64_t cols) {
  if (!a.gated) return cols;
  if (cols % 2 != 0)
    throw std::invalid_argument("activation: a gated activation needs [gate | up] halves of equal width");
  return cols / 2;
}
}  // namespace

float act(ActFn f, float x) { return act_in<float>(f, x); }
double act(ActFn f, double x) { return act_in<double>(f, x); }

namespace {
// The 16-bit code of x when x lies on `grid` (bf16, fp16), else nothing. NaNs never take the
// table: act's NaN propagation is left to act itself.
std::optional<std::uint16_t> grid_code(DType grid, float x) {
  if (std::isnan(x)) return std::nullopt;
  if (grid == DType::bf16) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    if ((bits & 0xffffu) != 0) return std::nullopt;
    return static_cast<std::uint16_t>(bits >> 16);
  }
  if (grid == DType::fp16) {
    const std::uint16_t code = float_to_fp16_bits(x);
    if (std::bit_cast<std::uint32_t>(fp16_bits_to_float(code)) != std::bit_cast<std::uint32_t>(x)) return std::nullopt;
    return code;
  }
  return std::nullopt;
}

float decode(DType grid, std::uint16_t code) {
  return grid == DType::bf16 ? bf16_bits_to_float(code) : fp16_bits_to_float(code);
}

// act(f, x) in T for every x of a 16-bit grid, indexed by code; made once per process.
template <class T>
const std::vector<T>& grid_table(ActFn f, DType grid) {
  static std::mutex mutex;
  static std::map<std::tuple<ActFn, DType, bool>, std::vector<T>> tables;
  const std::lock_guard lock(mutex);
  std::vector<T>& table = tables[{f, grid, std::is_same_v<T, double>}];
  if (table.empty()) {
    table.resize(std::size_t{1} << 16);
    for (std::size_t code = 0; code < table.size(); ++code)
      table[code] = act_in<T>(f, static_cast<T>(decode(grid, static_cast<std::uint16_t>(code))));
  }
  return table;
}

template <class T>
void act_by_table(ActFn f, std::span<const float> in, std::span<T> out, DType grid) {
  if (in.size() != out.size()) throw std::invalid_argument("act: input and output sizes differ");
  if (grid != DType::bf16 && grid != DType::fp16) {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = act_in<T>(f, static_cast<T>(in[i]));
    return;
  }
  const std::vector<T>& table = grid_table<T>(f, grid);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::optional<std::uint16_t> code = grid_code(grid, in[i]);
    out[i] = code ? table[*code] : act_in<T>(f, static_cast<T>(in[i]));
  }
}
}  // namespace

void act(ActFn f, std::span<const float> in, std::span<float> out, DType grid) { act_by_table(f, in, out, grid); }
void act(ActFn f, std::span<const float> in, std::span<double> out, DType grid) { act_by_table(f, in, out, grid); }

Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) {
  const std::int64_t m = output_cols(a, h.cols());
  Matrix<float> y(h.rows(), m, Unfilled{});
  // Rows on their own: any schedule gives the same bits.
#pragma omp parallel for schedule(static)
  for (std::int64_t t = 0; t < h.rows(); ++t)
    act(a.fn, std::span(&h(t, 0), static_cast<std::size_t>(m)), std::span(&y(t, 0), static_cast<std::size_t>(m)), out);
  if (a.gated) {
    // native: f rounded to the dtype first; fused: the fp32 value goes into the product.
    if (a.rounding == ActRounding::native) round_inplace(out, y.values());
    for (std::int64_t t = 0; t < h.rows(); ++t)
      for (std::int64_t k = 0; k < m; ++k) y(t, k) *= h(t, m + k);
  }
  round_inplace(out, y.values());
  return y;
}

Matrix<double> activation(const Matrix<double>& h, const Activation& a) {
  const std::int64_t m = output_cols(a, h.cols());
  Matrix<double> y(h.rows(), m, Unfilled{});
#pragma omp parallel for schedule(static)
  for (std::int64_t t = 0; t < h.rows(); ++t)
    for (std::int64_t k = 0; k < m; ++k)
      y(t, k) = a.gated ? act(a.fn, h(t, k)) * h(t, m + k) : act(a.fn, h(t, k));
  return y;
}

}  // namespace ffn::cpu
