#pragma once
// Every elementwise op a path performs, judged on its own inputs: the values the path stored
// before the op and after it. An op computed on stored values can be checked exactly, against
// the fp64 op on those same inputs within the op's own roundings (ERROR_MODEL.md, "Elementwise
// invariants"). Unlike the comparison with the reference, this sees a wrong op however small its
// effect is next to the other errors of the case (a typo in an fp32 activation under FP8).
#include <cstdint>
#include <string>

#include "kernels/activation.hpp"
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn {

struct ElementwiseCheck {
  std::int64_t checked = 0;     // elements compared
  std::int64_t violations = 0;  // elements beyond their bound
  std::int64_t first = -1;      // index of the worst one in the output (-1: none)
  double worst_ratio = 0;       // |computed - exact| / bound at the worst element

  bool pass() const { return checked > 0 && violations == 0; }
};

// The activation: `out` [tokens, m] against the fp64 activation of `in` ([tokens, m], gated
// [tokens, 2m] = [gate | up]), each element within activation_error_bound with exact inputs: the
// fp32 evaluation and the roundings `a.rounding` puts in (one, or two for native gated).
ElementwiseCheck check_activation_op(const Matrix<float>& in, const Matrix<float>& out, const Activation& a,
                                     DType dtype);

// "what: N of M elements beyond the op's rounding bound, worst Rx at (t, k)"; empty when it passes.
std::string elementwise_reason(const std::string& what, const ElementwiseCheck& c, std::int64_t cols);

}  // namespace ffn
