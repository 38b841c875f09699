#pragma once
// The CUDA backend's kernel set (kernels.hpp) on the current device: host tensors in, host
// tensors out, each call a self-contained upload, device computation and download.
#include "kernels/cuda/linear.hpp"
#include "kernels/kernels.hpp"

namespace ffn::cuda {

class CudaKernels final : public Kernels {
 public:
  explicit CudaKernels(Fp32Math fp32_math = Fp32Math::strict) : fp32_math_(fp32_math) {}
  std::string_view name() const override { return "cuda"; }
  Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias, DType out) const override;
  Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) const override;
  QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                                const Matrix<float>* amax) const override;
  QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale) const override;
  Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias,
                                 DType out) const override;

 private:
  Fp32Math fp32_math_;
};

}  // namespace ffn::cuda
