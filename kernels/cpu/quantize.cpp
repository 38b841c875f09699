#include "kernels/cpu/quantize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/cpu/gemm.hpp"
#include "kernels/int8.hpp"
#include "kernels/rounding.hpp"

namespace ffn::cpu {

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

namespace {
// Rounds already-scaled values onto the format, saturating (the tensor version of
// quantize_value).
void round_row(QuantFormat f, std::span<float> scaled) {
  switch (f) {
    case QuantFormat::e4m3: return minifloat_round_inplace(k_e4m3, scaled, /*saturate=*/true);
    case QuantFormat::e2m1: return minifloat_round_inplace(k_e2m1, scaled, /*saturate=*/true);
    case QuantFormat::int8:
      for (float& v : scaled) v = static_cast<float>(int8_round_sym(v));
      return;
  }
}
}  // namespace

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

std::int64_t effective_block(std::int64_t block, std::int64_t n) { return block > 0 ? block : std::max<std::int64_t>(n, 1); }

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

Matrix<float> block_amax(MatrixView<float> x, const ScaleLayout& layout) {
  const std::int64_t br = effective_block(layout.block_rows, x.rows);
  const std::int64_t bc = effective_block(layout.block_cols, x.cols);
  Matrix<float> amax((x.rows + br - 1) / br, (x.cols + bc - 1) / bc);
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j) {
      float& m = amax(i / br, j / bc);
      m = std::max(m, std::fabs(x(i, j)));
    }
  return amax;
}

QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                         const Matrix<float>* amax_given) {
  QuantizedMatrix q;
  q.format = layout.format;
  q.block_rows = effective_block(layout.block_rows, x.rows);
  q.block_cols = effective_block(layout.block_cols, x.cols);
  q.global_scale = layout.two_level ? global_scale : 1.0f;
  const Matrix<float> amax = amax_given ? *amax_given : block_amax(x, layout);
  const float qmax = static_cast<float>(quant_max(layout.format));
  q.scales = Matrix<float>(amax.rows(), amax.cols());
  for (std::size_t b = 0; b < amax.size(); ++b) {
    float s = amax.data()[b] / qmax;
    // NVFP4 stores each block's scale in E4M3, relative to the fp32 global scale.
    if (layout.two_level) s = minifloat_round(k_e4m3, s / q.global_scale, /*saturate=*/true);
    q.scales.data()[b] = s;
  }
  q.values = Matrix<float>(x.rows, x.cols);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < x.rows; ++i) {
    float* row = &q.values(i, 0);
    for (std::int64_t j = 0; j < x.cols; ++j) {
      const float s = q.scales(i / q.block_rows, j / q.block_cols) * q.global_scale;
      // A block of zeros has scale 0: its codes are 0 whatever the scale.
      row[j] = s == 0 ? 0.0f : x(i, j) / s;
    }
    round_row(layout.format, std::span<float>(row, static_cast<std::size_t>(x.cols)));
  }
  return q;
}

QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale) {
  if (!(scale > 0)) throw std::invalid_argument("quantize_static: the scale must be positive");
  QuantizedMatrix q;
  q.format = format;
  q.block_rows = std::max<std::int64_t>(x.rows, 1);
  q.block_cols = std::max<std::int64_t>(x.cols, 1);
  q.scales = Matrix<float>(1, 1, scale);
  q.values = Matrix<float>(x.rows, x.cols);
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j) q.values(i, j) = quantize_value(format, x(i, j) / scale);
  return q;
}

namespace {

// fp32 partial x_q . w_q^T over columns [k0, k1). E4M3 and E2M1 products are exact in fp32
// and summed in fp32; INT8 products are summed exactly (int32) and converted once.
Matrix<float> block_product(const QuantizedView& x, const QuantizedView& w, std::int64_t k0, std::int64_t k1) {
  const MatrixView<float> xv{x.values.data + k0, x.values.rows, k1 - k0, x.values.ld};
  const MatrixView<float> wv{w.values.data + k0, w.values.rows, k1 - k0, w.values.ld};
  if (x.format != QuantFormat::int8) return gemm_xwt(xv, wv);
  Matrix<double> xd(xv.rows, xv.cols), wd(wv.rows, wv.cols);
  for (std::int64_t i = 0; i < xv.rows; ++i)
    for (std::int64_t j = 0; j < xv.cols; ++j) xd(i, j) = xv(i, j);
  for (std::int64_t i = 0; i < wv.rows; ++i)
    for (std::int64_t j = 0; j < wv.cols; ++j) wd(i, j) = wv(i, j);
  return convert<float>(gemm_xwt(xd, wd));  // exact integer sums, one rounding each
}

}  // namespace

std::int64_t quantized_k_block(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias) {
  const std::int64_t n = w.values.rows, k = x.values.cols;
  if (w.values.cols != k)
    throw std::invalid_argument(fmt::format("quantized_linear: x has {} features, the weight {}", k, w.values.cols));
  if (x.format != w.format) throw std::invalid_argument("quantized_linear: x and weight formats differ");
  if (!bias.empty() && static_cast<std::int64_t>(bias.size()) != n)
    throw std::invalid_argument("quantized_linear: bias size does not match the weight");
  const std::int64_t kb = std::min({x.block_cols, w.block_cols, std::max<std::int64_t>(k, 1)});
  if ((x.block_cols < k && x.block_cols % kb) || (w.block_cols < k && w.block_cols % kb))
    throw std::invalid_argument("quantized_linear: the K blocks of x and weight scales do not nest");
  return kb;
}

Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias,
                               DType out) {
  const std::int64_t tokens = x.values.rows, n = w.values.rows, k = x.values.cols;
  const std::int64_t kb = quantized_k_block(x, w, bias);

  Matrix<float> acc(tokens, n);
  for (std::int64_t k0 = 0; k0 < k; k0 += kb) {
    const std::int64_t k1 = std::min(k, k0 + kb);
    const Matrix<float> p = block_product(x, w, k0, k1);
    for (std::int64_t t = 0; t < tokens; ++t) {
      const float sx = x.scales(t / x.block_rows, k0 / x.block_cols);
      for (std::int64_t j = 0; j < n; ++j) {
        const float s = sx * w.scales(j / w.block_rows, k0 / w.block_cols);
        acc(t, j) += s * p(t, j);
      }
    }
  }
  const float global = x.global_scale * w.global_scale;
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < n; ++j) {
      float y = acc(t, j);
      if (global != 1.0f) y *= global;
      if (!bias.empty()) y += bias[j];
      acc(t, j) = y;
    }
  round_inplace(out, acc.values());
  return acc;
}

}  // namespace ffn::cpu
