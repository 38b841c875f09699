#pragma once
// The MLP activations on the device for host tensors, as cpu::activation (see activation_device.hpp).
#include "kernels/activation.hpp"
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cuda {

Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out);

}  // namespace ffn::cuda
