#include "kernels/cuda/activation.hpp"

#include <stdexcept>

#include "kernels/cuda/activation_device.hpp"
#include "kernels/cuda/host_transfer.hpp"

namespace ffn::cuda {

Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) {
  if (a.gated && h.cols() % 2 != 0)
    throw std::invalid_argument("activation: a gated activation needs [gate | up] halves of equal width");
  const std::int64_t m = a.gated ? h.cols() / 2 : h.cols();
  // fp32 storage rounded to `out`: the input may hold any float (as the CPU kernel allows).
  const DeviceBuffer<float> d = upload(h.view());
  DeviceBuffer<float> y(static_cast<std::size_t>(h.rows() * m));
  activation_rounded_device(d.get(), y.get(), h.rows(), m,
                            {static_cast<int>(a.fn), a.gated, a.rounding == ActRounding::native}, out, nullptr);
  return download(y, h.rows(), m);
}

}  // namespace ffn::cuda
