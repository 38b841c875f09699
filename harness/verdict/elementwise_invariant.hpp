#pragma once
// Every elementwise op a path performs, judged on its own inputs: the values the path stored
// before the op and after it. An op computed on stored values can be checked exactly, against
// the fp64 op on those same inputs within the op's own roundings (ERROR_MODEL.md, "Elementwise
// invariants"). Unlike the comparison with the reference, this sees a wrong op however small its
// effect is next to the other errors of the case (a typo in an fp32 activation under FP8).
#include <cstdint>
#include <string>
#include <string_view>

#include <mutex>

#include "kernels/activation.hpp"
#include "kernels/dtype.hpp"
#include "kernels/forwarding_kernels.hpp"
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

// A quantization step: `q` against its own input `x`. Each block's scale must be the one its
// layout defines from the block's amax (`amax` when given: scales agreed over the group), in
// fp32: amax / qmax, for two-level NVFP4 rounded to E4M3 relative to the global scale; each
// code must lie within quantization_error_bound of x / scale (the format's rounding, saturation,
// the fp32 division). `first` indexes the element (or, for a wrong scale, the block's first one).
ElementwiseCheck check_quantize_op(MatrixView<float> x, const QuantizedMatrix& q, const ScaleLayout& layout,
                                   float global_scale, const Matrix<float>* amax);
ElementwiseCheck check_quantize_static_op(MatrixView<float> x, const QuantizedMatrix& q, float scale);

// The kernels a path computes with, every quantization step judged on its own inputs as it
// happens (check_quantize_op), whatever the backend; everything else passes through.
class QuantizationStepChecker final : public ForwardingKernels {
 public:
  explicit QuantizationStepChecker(const Kernels& inner) : ForwardingKernels(inner) {}
  QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                           const Matrix<float>* amax) const override;
  QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale) const override;
  // Every step checked so far, merged: nothing quantized gives checked == 0.
  ElementwiseCheck result() const;

 private:
  void record(const ElementwiseCheck& c) const;
  mutable std::mutex mutex_;
  mutable ElementwiseCheck total_;
};

// "what: N of M elements beyond <bound>, worst Rx at (t, k)" (no position when cols <= 0: the
// index is within one step); empty when it passes.
std::string elementwise_reason(const std::string& what, const ElementwiseCheck& c, std::int64_t cols,
                               std::string_view bound = "the op's rounding bound on its own inputs");

}  // namespace ffn
