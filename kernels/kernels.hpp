#pragma once
// The kernel set a run computes with, chosen once per run: the CPU reference (kernels/cpu) or
// the CUDA backend (kernels/cuda). The interface takes and returns host tensors, so the path
// code (harness/tp/parallel_linear, harness/tp/ffn_paths) is one implementation for both backends;
// each backend follows the rounding points of DESIGN sections 1-3.
#include <span>
#include <string_view>

#include "kernels/activation.hpp"
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"
#include "kernels/quantized.hpp"

namespace ffn {

class Kernels {
 public:
  virtual ~Kernels() = default;
  virtual std::string_view name() const = 0;

  // As cpu::linear: fp32 accumulation, bias in fp32, one rounding to `out`.
  virtual Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias,
                               DType out) const = 0;
  // As cpu::activation: fp32 math on the stored values, rounded to `out` where `a.rounding` says.
  virtual Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) const = 0;
  // As cpu::quantize and cpu::quantize_static.
  virtual QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                                        const Matrix<float>* amax) const = 0;
  virtual QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale) const = 0;
  // As cpu::quantized_linear.
  virtual Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w,
                                         std::span<const float> bias, DType out) const = 0;
};

// The CPU reference kernels (kernels/cpu), the default everywhere.
const Kernels& cpu_kernels();

}  // namespace ffn
