#include "harness/verdict/elementwise_invariant.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "harness/verdict/ffn_error_model.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/minifloat.hpp"
#include "kernels/quantized.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

ElementwiseCheck check_activation_op(const Matrix<float>& in, const Matrix<float>& out, const Activation& a,
                                     DType dtype) {
  const std::int64_t m = out.cols();
  if (in.rows() != out.rows() || in.cols() != (a.gated ? 2 * m : m))
    throw std::invalid_argument(fmt::format("activation invariant: input [{}, {}] does not fit output [{}, {}]",
                                            in.rows(), in.cols(), out.rows(), out.cols()));
  ElementwiseCheck c;
  std::vector<double> f_row(static_cast<std::size_t>(m));
  for (std::int64_t t = 0; t < out.rows(); ++t) {
    cpu::act(a.fn, std::span(&in(t, 0), f_row.size()), f_row, dtype);
    for (std::int64_t k = 0; k < m; ++k) {
      const double g = in(t, k), u = a.gated ? double(in(t, m + k)) : 1.0;
      const double f = f_row[static_cast<std::size_t>(k)], exact = a.gated ? f * u : f;
      const double computed = out(t, k);
      ++c.checked;
      // The same infinity or NaN as the exact op (an fp16 product past the range) is no violation.
      if (!std::isfinite(exact) || !std::isfinite(computed)) {
        const bool same = std::isnan(exact) ? std::isnan(computed) : computed == round_to(dtype, exact);
        if (!same && c.violations++ == 0) c.first = t * m + k, c.worst_ratio = INFINITY;
        continue;
      }
      const double bound = activation_error_bound(a, dtype, std::fabs(g), 0.0, std::fabs(f), std::fabs(u), 0.0);
      const double diff = std::fabs(computed - exact), ratio = diff == 0 ? 0.0 : diff / bound;
      if (ratio > 1) ++c.violations;
      if (ratio > c.worst_ratio) c.worst_ratio = ratio, c.first = t * m + k;
    }
  }
  return c;
}

namespace {

// Every code of q against x / scale, within quantization_error_bound; adds to `c`.
void check_codes(MatrixView<float> x, const QuantizedMatrix& q, ElementwiseCheck& c) {
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j) {
      ++c.checked;
      const double v = x(i, j), s = double(q.scale(i, j));
      const double err = std::fabs(double(q.values(i, j)) * s - v);
      const double bound = s == 0 ? 0.0 : quantization_error_bound(q.format, v, s);
      const double ratio = err == 0 ? 0.0 : bound == 0 ? INFINITY : err / bound;
      if (ratio > 1) ++c.violations;
      if (ratio > c.worst_ratio) c.worst_ratio = ratio, c.first = i * x.cols + j;
    }
}

}  // namespace

ElementwiseCheck check_quantize_op(MatrixView<float> x, const QuantizedMatrix& q, const ScaleLayout& layout,
                                   float global_scale, const Matrix<float>* amax) {
  ElementwiseCheck c;
  const std::int64_t br = layout.block_rows > 0 ? layout.block_rows : std::max<std::int64_t>(x.rows, 1);
  const std::int64_t bc = layout.block_cols > 0 ? layout.block_cols : std::max<std::int64_t>(x.cols, 1);
  const std::int64_t grid_rows = (x.rows + br - 1) / br, grid_cols = (x.cols + bc - 1) / bc;
  if (q.values.rows() != x.rows || q.values.cols() != x.cols || q.block_rows != br || q.block_cols != bc ||
      q.scales.rows() != grid_rows || q.scales.cols() != grid_cols) {
    c.checked = std::max<std::int64_t>(1, x.rows * x.cols), c.violations = c.checked, c.first = 0, c.worst_ratio = INFINITY;
    return c;
  }
  // The scales, from each block's amax: one fp32 division (and NVFP4's E4M3 rounding).
  const float qmax = static_cast<float>(quant_max(layout.format));
  const float global = layout.two_level ? global_scale : 1.0f;
  for (std::int64_t bi = 0; bi < grid_rows; ++bi)
    for (std::int64_t bj = 0; bj < grid_cols; ++bj) {
      float m = 0;
      if (amax) {
        m = (*amax)(bi, bj);
      } else {
        for (std::int64_t i = bi * br; i < std::min(x.rows, (bi + 1) * br); ++i)
          for (std::int64_t j = bj * bc; j < std::min(x.cols, (bj + 1) * bc); ++j) m = std::max(m, std::fabs(x(i, j)));
      }
      float s = m / qmax;
      if (layout.two_level) s = minifloat_round(k_e4m3, s / global, /*saturate=*/true);
      if (q.scales(bi, bj) != s || q.global_scale != global) {
        ++c.violations;
        c.first = bi * br * x.cols + bj * bc, c.worst_ratio = INFINITY;
      }
    }
  check_codes(x, q, c);
  return c;
}

ElementwiseCheck check_quantize_static_op(MatrixView<float> x, const QuantizedMatrix& q, float scale) {
  ElementwiseCheck c;
  if (q.values.rows() != x.rows || q.values.cols() != x.cols || q.scales.size() != 1 || q.scales(0, 0) != scale) {
    c.checked = std::max<std::int64_t>(1, x.rows * x.cols), c.violations = c.checked, c.first = 0, c.worst_ratio = INFINITY;
    return c;
  }
  check_codes(x, q, c);
  return c;
}

QuantizedMatrix QuantizationStepChecker::quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                                                  const Matrix<float>* amax) const {
  QuantizedMatrix q = inner().quantize(x, layout, global_scale, amax);
  record(check_quantize_op(x, q, layout, global_scale, amax));
  return q;
}

QuantizedMatrix QuantizationStepChecker::quantize_static(MatrixView<float> x, QuantFormat format, float scale) const {
  QuantizedMatrix q = inner().quantize_static(x, format, scale);
  record(check_quantize_static_op(x, q, scale));
  return q;
}

void QuantizationStepChecker::record(const ElementwiseCheck& c) const {
  const std::lock_guard lock(mutex_);
  // Indices are per step; the worst step's index is kept with its ratio.
  if (c.worst_ratio > total_.worst_ratio) total_.worst_ratio = c.worst_ratio, total_.first = c.first;
  total_.checked += c.checked;
  total_.violations += c.violations;
}

ElementwiseCheck QuantizationStepChecker::result() const {
  const std::lock_guard lock(mutex_);
  return total_;
}

std::string elementwise_reason(const std::string& what, const ElementwiseCheck& c, std::int64_t cols,
                               std::string_view bound) {
  if (c.pass()) return {};
  if (c.checked == 0) return fmt::format("{}: nothing checked", what);
  const std::string where = cols > 0 ? fmt::format(" at ({}, {})", c.first / cols, c.first % cols) : "";
  return fmt::format("{}: {} of {} elements beyond {}, worst {:.3g}x{}", what, c.violations, c.checked, bound,
                     c.worst_ratio, where);
}

}  // namespace ffn
