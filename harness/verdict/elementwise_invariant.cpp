#include "harness/verdict/elementwise_invariant.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "harness/verdict/ffn_error_model.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

ElementwiseCheck check_activation_op(const Matrix<float>& in, const Matrix<float>& out, const Activation& a,
                                     DType dtype) {
  const std::int64_t m = out.cols();
  if (in.rows() != out.rows() || in.cols() != (a.gated ? 2 * m : m))
    throw std::invalid_argument(fmt::format("activation invariant: input [{}, {}] does not fit output [{}, {}]",
                                            in.rows(), in.cols(), out.rows(), out.cols()));
  ElementwiseCheck c;
  for (std::int64_t t = 0; t < out.rows(); ++t)
    for (std::int64_t k = 0; k < m; ++k) {
      const double g = in(t, k), u = a.gated ? double(in(t, m + k)) : 1.0;
      const double f = cpu::act(a.fn, g), exact = a.gated ? f * u : f;
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
  return c;
}

std::string elementwise_reason(const std::string& what, const ElementwiseCheck& c, std::int64_t cols) {
  if (c.pass()) return {};
  if (c.checked == 0) return fmt::format("{}: nothing checked", what);
  return fmt::format("{}: {} of {} elements beyond the op's rounding bound on its own inputs, worst {:.3g}x at ({}, {})",
                     what, c.violations, c.checked, c.worst_ratio, c.first / cols, c.first % cols);
}

}  // namespace ffn
