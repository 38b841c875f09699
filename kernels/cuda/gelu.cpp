#include "kernels/cuda/gelu.hpp"

#include "kernels/cuda/gelu_device.hpp"
#include "kernels/cuda/host_transfer.hpp"

namespace ffn::cuda {

void gelu_tanh_inplace(Matrix<float>& m, DType out) {
  // fp32 storage rounded to `out`: the input may hold any float (as the CPU kernel allows).
  DeviceBuffer<float> d = upload(m.view());
  gelu_tanh_rounded_device(d.get(), d.size(), out, nullptr);
  d.download(m.data(), m.size());
}

}  // namespace ffn::cuda
