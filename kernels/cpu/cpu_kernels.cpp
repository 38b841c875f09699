#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/linear.hpp"
#include "kernels/cpu/quantize.hpp"
#include "kernels/kernels.hpp"

namespace ffn {

namespace {
class CpuKernels final : public Kernels {
 public:
  std::string_view name() const override { return "cpu"; }
  Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias, DType out) const override {
    return cpu::linear(x, w, bias, out);
  }
  Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) const override {
    return cpu::activation(h, a, out);
  }
  QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                                const Matrix<float>* amax) const override {
    return cpu::quantize(x, layout, global_scale, amax);
  }
  QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale) const override {
    return cpu::quantize_static(x, format, scale);
  }
  Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias,
                                 DType out) const override {
    return cpu::quantized_linear(x, w, bias, out);
  }
};
}  // namespace

const Kernels& cpu_kernels() {
  static const CpuKernels kernels;
  return kernels;
}

}  // namespace ffn
