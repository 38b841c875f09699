#include "kernels/cpu/quantize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/cpu/gemm.hpp"
#include "kernels/int8.hpp"
#include "kernels/rounding.hpp"

namespace ffn::cpu {

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

std::int64_t effective_block(std::int64_t block, std::int64_t n) { return block > 0 ? block : std::max<std::int64_t>(n, 1); }

}  // namespace

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
