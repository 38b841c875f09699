#include "kernels/quantized.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/int8.hpp"
#include "kernels/minifloat.hpp"

namespace ffn {

double quant_unit_roundoff(QuantFormat f) {
  switch (f) {
    case QuantFormat::e4m3: return std::ldexp(1.0, -minifloat_precision_bits(k_e4m3));
    case QuantFormat::e2m1: return std::ldexp(1.0, -minifloat_precision_bits(k_e2m1));
    case QuantFormat::int8: return 0;  // a uniform grid: the whole error is the absolute floor
  }
  return 0;
}

double quant_abs_floor(QuantFormat f) {
  switch (f) {
    case QuantFormat::e4m3: return minifloat_min_subnormal(k_e4m3) / 2;
    case QuantFormat::e2m1: return minifloat_min_subnormal(k_e2m1) / 2;
    case QuantFormat::int8: return 0.5;
  }
  return 0;
}

double quant_max(QuantFormat f) {
  switch (f) {
    case QuantFormat::e4m3: return minifloat_max(k_e4m3);
    case QuantFormat::e2m1: return minifloat_max(k_e2m1);
    case QuantFormat::int8: return 127;
  }
  return 0;
}

std::string_view quant_format_name(QuantFormat f) {
  switch (f) {
    case QuantFormat::e4m3: return "e4m3";
    case QuantFormat::e2m1: return "e2m1";
    case QuantFormat::int8: return "int8";
  }
  return "?";
}

float quantize_value(QuantFormat f, float scaled) {
  switch (f) {
    case QuantFormat::e4m3: return minifloat_round(k_e4m3, scaled, /*saturate=*/true);
    case QuantFormat::e2m1: return minifloat_round(k_e2m1, scaled, /*saturate=*/true);
    case QuantFormat::int8: return static_cast<float>(int8_round_sym(scaled));
  }
  return 0;
}

double quantization_error_bound(QuantFormat f, double value, double scale) {
  const double v = std::fabs(value);
  const double grid = std::max(quant_unit_roundoff(f) * v, quant_abs_floor(f) * scale);
  const double saturation = std::max(0.0, v - quant_max(f) * scale);
  return grid + saturation + 0x1.0p-24 * v;
}

QuantizedView view_of(const QuantizedMatrix& q) {
  return {q.format, q.values.view(), q.scales.view(), q.block_rows, q.block_cols, q.global_scale};
}

namespace {

// [b0, b1) of the scale grid that covers [i0, i1) of a dimension of n elements cut into
// blocks of `block`. One block spanning exactly the whole dimension (a per-tensor scale, or a
// per-channel scale along the other dimension) is kept whole (replicated); the whole
// dimension cuts no block. A fixed-size block larger than the dimension (a [64, 256] weight
// with 128x128 blocks) is still a block: a shard inside it cuts it.
std::pair<std::int64_t, std::int64_t> covering_blocks(std::int64_t i0, std::int64_t i1, std::int64_t n,
                                                      std::int64_t block, std::int64_t grid,
                                                      const std::string& what) {
  if (i0 == 0 && i1 == n) return {0, grid};
  if (grid == 1 && block == n) return {0, 1};
  if (i0 % block != 0 || (i1 - i0) % block != 0)
    throw std::invalid_argument(fmt::format("{}: {} per rank is not a multiple of the {}-element scale block",
                                            what, i1 - i0, block));
  return {i0 / block, i1 / block};
}

}  // namespace

QuantizedView rows_of(const QuantizedView& q, std::int64_t r0, std::int64_t r1, const std::string& what) {
  QuantizedView s = q;
  s.values = {q.values.data + r0 * q.values.ld, r1 - r0, q.values.cols, q.values.ld};
  const auto [b0, b1] = covering_blocks(r0, r1, q.values.rows, q.block_rows, q.scales.rows, what);
  s.scales = {q.scales.data + b0 * q.scales.ld, b1 - b0, q.scales.cols, q.scales.ld};
  return s;
}

QuantizedView cols_of(const QuantizedView& q, std::int64_t c0, std::int64_t c1, const std::string& what) {
  QuantizedView s = q;
  s.values = {q.values.data + c0, q.values.rows, c1 - c0, q.values.ld};
  const auto [b0, b1] = covering_blocks(c0, c1, q.values.cols, q.block_cols, q.scales.cols, what);
  s.scales = {q.scales.data + b0, q.scales.rows, b1 - b0, q.scales.ld};
  return s;
}

QuantizedMatrix stack_rows(const QuantizedView& a, const QuantizedView& b, const std::string& what) {
  const auto whole_blocks = [](const QuantizedView& v) {
    return v.block_rows > 0 && v.values.rows % v.block_rows == 0 && v.scales.rows == v.values.rows / v.block_rows;
  };
  if (a.block_rows <= 0 || b.block_rows <= 0)
    throw std::invalid_argument(fmt::format("{}: scale blocks of {} and {} rows", what, a.block_rows, b.block_rows));
  if (a.format != b.format || a.values.cols != b.values.cols || a.block_cols != b.block_cols ||
      a.global_scale != b.global_scale || a.scales.cols != b.scales.cols)
    throw std::invalid_argument(fmt::format("{}: the two halves are quantized differently (format, columns, K "
                                            "blocks or global scale); one merged weight cannot hold both",
                                            what));
  const auto copy_rows = [](const MatrixView<float>& from, Matrix<float>& to, std::int64_t row0) {
    for (std::int64_t i = 0; i < from.rows; ++i)
      std::copy_n(from.data + i * from.ld, from.cols, to.data() + (row0 + i) * to.cols());
  };
  QuantizedMatrix q;
  q.format = a.format;
  q.block_cols = a.block_cols;
  q.global_scale = a.global_scale;
  q.values = Matrix<float>(a.values.rows + b.values.rows, a.values.cols);
  copy_rows(a.values, q.values, 0);
  copy_rows(b.values, q.values, a.values.rows);
  if (a.block_rows == b.block_rows && whole_blocks(a) && whole_blocks(b)) {
    q.block_rows = a.block_rows;
    q.scales = Matrix<float>(a.scales.rows + b.scales.rows, a.scales.cols);
    copy_rows(a.scales, q.scales, 0);
    copy_rows(b.scales, q.scales, a.scales.rows);
    return q;
  }
  // Halves inside larger scale blocks (a per-tensor scale of the fused tensor): every row keeps
  // the scales that covered it, held per row. The products are those of the halves' own scales.
  q.block_rows = 1;
  q.scales = Matrix<float>(q.values.rows(), a.scales.cols);
  for (const auto& [half, row0] : {std::pair{&a, std::int64_t{0}}, std::pair{&b, a.values.rows}})
    for (std::int64_t i = 0; i < half->values.rows; ++i)
      std::copy_n(half->scales.data + (i / half->block_rows) * half->scales.ld, half->scales.cols,
                  q.scales.data() + (row0 + i) * q.scales.cols());
  return q;
}

}  // namespace ffn
