#include "kernels/cuda/cuda_kernels.hpp"

#include "kernels/cuda/activation.hpp"
#include "kernels/cuda/quantize.hpp"

namespace ffn::cuda {

Matrix<float> CudaKernels::linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias,
                                  DType out) const {
  return cuda::linear(x, w, bias, out, fp32_math_);
}
Matrix<float> CudaKernels::activation(const Matrix<float>& h, const Activation& a, DType out) const {
  return cuda::activation(h, a, out);
}
QuantizedMatrix CudaKernels::quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale,
                                           const Matrix<float>* amax) const {
  return cuda::quantize(x, layout, global_scale, amax);
}
QuantizedMatrix CudaKernels::quantize_static(MatrixView<float> x, QuantFormat format, float scale) const {
  return cuda::quantize_static(x, format, scale);
}
Matrix<float> CudaKernels::quantized_linear(const QuantizedView& x, const QuantizedView& w,
                                            std::span<const float> bias, DType out) const {
  return cuda::quantized_linear(x, w, bias, out);
}

}  // namespace ffn::cuda
