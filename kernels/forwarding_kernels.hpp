#pragma once
// A kernel set that hands every call to another one: the base of the decorators that change or
// watch one operation (a checker of every quantization step, an injected faulty epilogue, the
// tests' faulty kernels), each overriding only what it changes.
#include "kernels/kernels.hpp"

namespace ffn {

class ForwardingKernels : public Kernels {
 public:
  explicit ForwardingKernels(const Kernels& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias, DType out) const override {
    return inner_.linear(x, w, bias, out);
  }
  Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) const override {
    return inner_.activation(h, a, out);
  }
  QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                           const Matrix<float>* amax) const override {
    return inner_.quantize(x, layout, global_scale, amax);
  }
  QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale) const override {
    return inner_.quantize_static(x, format, scale);
  }
  Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias,
                                 DType out) const override {
    return inner_.quantized_linear(x, w, bias, out);
  }

 protected:
  const Kernels& inner() const { return inner_; }

 private:
  const Kernels& inner_;
};

}  // namespace ffn
