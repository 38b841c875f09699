#include "harness/tp/quantized_linear.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/cpu/quantize.hpp"
#include "kernels/minifloat.hpp"

namespace ffn {

namespace {
// NVFP4's fp32 global scale: the block scales amax_b / (6 g) then fit E4M3's range.
float nvfp4_global_scale(float amax) {
  const double g = amax / (quant_max(QuantFormat::e2m1) * minifloat_max(k_e4m3));
  return g > 0 ? static_cast<float>(g) : 1.0f;
}
}  // namespace

namespace {
// Per-tensor scales of each logical weight, as per-row scales of the fused tensor.
QuantizedMatrix per_logical_tensor(const Matrix<float>& weight, const ScaleLayout& layout, std::int64_t logical_rows) {
  QuantizedMatrix q;
  q.format = layout.format;
  q.values = Matrix<float>(weight.rows(), weight.cols());
  q.scales = Matrix<float>(weight.rows(), 1);
  q.block_rows = 1;
  q.block_cols = std::max<std::int64_t>(weight.cols(), 1);
  for (std::int64_t r0 = 0; r0 < weight.rows(); r0 += logical_rows) {
    const QuantizedMatrix part = cpu::quantize(weight.row_view(r0, r0 + logical_rows), layout, 1.0f);
    std::copy(part.values.values().begin(), part.values.values().end(), q.values.data() + r0 * weight.cols());
    std::fill_n(q.scales.data() + r0, logical_rows, part.scales(0, 0));
  }
  return q;
}
}  // namespace

QuantizedLinear quantize_linear(const Matrix<float>& weight, QuantScheme scheme, float calibration_amax,
                                std::int64_t logical_rows) {
  if (scheme == QuantScheme::none) throw std::invalid_argument("quantize_linear: no scheme");
  const SchemeLayout layout = scheme_layout(scheme);
  QuantizedLinear q;
  q.scheme = scheme;
  float weight_global = 1;
  if (layout.weight.two_level) {
    float amax = 0;
    for (float v : weight.values()) amax = std::max(amax, std::fabs(v));
    weight_global = nvfp4_global_scale(amax);
  }
  const bool fused = logical_rows > 0 && logical_rows < weight.rows();
  if (fused && weight.rows() % logical_rows != 0)
    throw std::invalid_argument("quantize_linear: the fused weight's rows are not whole logical weights");
  if (fused && layout.weight.block_rows > 1 && logical_rows % layout.weight.block_rows != 0)
    throw std::invalid_argument(fmt::format("quantize_linear: logical weights of {} rows are not whole {}-row scale blocks",
                                            logical_rows, layout.weight.block_rows));
  q.weight = fused && layout.weight.block_rows == 0 ? per_logical_tensor(weight, layout.weight, logical_rows)
                                                     : cpu::quantize(weight.view(), layout.weight, weight_global);
  if (layout.static_input) {
    const double qmax = quant_max(layout.input.format);
    q.input_scale = layout.input.two_level ? nvfp4_global_scale(calibration_amax)
                                           : static_cast<float>(std::max<double>(calibration_amax, 1e-30) / qmax);
  }
  return q;
}

QuantizedMatrix quantize_input(const QuantizedLinear& layer, MatrixView<float> x, const Matrix<float>* amax,
                                    const Kernels& kernels) {
  const SchemeLayout layout = scheme_layout(layer.scheme);
  if (layout.static_input && !layout.input.two_level)
    return kernels.quantize_static(x, layout.input.format, layer.input_scale);
  if (amax && layout.input.block_cols != 0)
    throw std::invalid_argument("quantize_input: group-wide scales apply to whole-row input scales only");
  return kernels.quantize(x, layout.input, layer.input_scale, amax);
}

template <class T>
void dequantize_rows(const QuantizedMatrix& q, std::int64_t r0, std::int64_t r1, std::span<T> out) {
  if (r0 < 0 || r1 < r0 || r1 > q.rows() || out.size() != static_cast<std::size_t>((r1 - r0) * q.cols()))
    throw std::invalid_argument("dequantize_rows: rows or output size outside the tensor");
  const std::int64_t cols = q.cols();
#pragma omp parallel for schedule(static)
  for (std::int64_t i = r0; i < r1; ++i) {
    const float* scales = &q.scales(i / q.block_rows, 0);
    for (std::int64_t j = 0; j < cols; ++j)
      out[(i - r0) * cols + j] = static_cast<T>(double(q.values(i, j)) * scales[j / q.block_cols] * q.global_scale);
  }
}

template <class T>
Matrix<T> dequantize(const QuantizedMatrix& q) {
  Matrix<T> d(q.rows(), q.cols(), Unfilled{});
  dequantize_rows<T>(q, 0, q.rows(), d.values());
  return d;
}

const Matrix<float>& effective_weight_shape(const Matrix<float>& master, const QuantizedLinear* q) {
  return q ? q->weight.values : master;
}

template <class T>
void effective_weight_rows(const Matrix<float>& master, const QuantizedLinear* q, std::int64_t r0, std::int64_t r1,
                           std::span<T> out, WeightValues values) {
  const bool squared = values == WeightValues::squared;
  if (q) {
    dequantize_rows<T>(q->weight, r0, r1, out);
    if (squared) {
#pragma omp parallel for schedule(static)
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = out[i] * out[i];
    }
    return;
  }
  const std::int64_t cols = master.cols();
  if (r0 < 0 || r1 < r0 || r1 > master.rows() || out.size() != static_cast<std::size_t>((r1 - r0) * cols))
    throw std::invalid_argument("effective_weight_rows: rows or output size outside the weight");
  // The master's rows in one pass, squared on the way when asked (a copy and then a pass of
  // squares went over the block twice).
#pragma omp parallel for schedule(static)
  for (std::int64_t r = r0; r < r1; ++r) {
    const float* from = master.data() + r * cols;
    T* to = out.data() + (r - r0) * cols;
    if (squared)
      for (std::int64_t j = 0; j < cols; ++j) to[j] = static_cast<T>(from[j]) * static_cast<T>(from[j]);
    else
      for (std::int64_t j = 0; j < cols; ++j) to[j] = static_cast<T>(from[j]);
  }
}

template Matrix<double> dequantize<double>(const QuantizedMatrix&);
template void effective_weight_rows<double>(const Matrix<float>&, const QuantizedLinear*, std::int64_t, std::int64_t,
                                            std::span<double>, WeightValues);
template void effective_weight_rows<float>(const Matrix<float>&, const QuantizedLinear*, std::int64_t, std::int64_t,
                                           std::span<float>, WeightValues);
template Matrix<float> dequantize<float>(const QuantizedMatrix&);
template void dequantize_rows<double>(const QuantizedMatrix&, std::int64_t, std::int64_t, std::span<double>);
template void dequantize_rows<float>(const QuantizedMatrix&, std::int64_t, std::int64_t, std::span<float>);

}  // namespace ffn
