#pragma once
// GELU-tanh on the device for host tensors, as cpu::gelu_tanh_inplace (see gelu_device.hpp).
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cuda {

void gelu_tanh_inplace(Matrix<float>& m, DType out);

}  // namespace ffn::cuda
