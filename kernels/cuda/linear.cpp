#include "kernels/cuda/linear.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "kernels/cuda/cublaslt_matmul.hpp"
#include "kernels/cuda/device_tensor_transfer.hpp"

namespace ffn::cuda {

void linear_device(const void* x, std::int64_t ldx, const void* w, std::int64_t ldw, const void* bias, void* y,
                   std::int64_t tokens, std::int64_t n, std::int64_t k, DType dtype, Fp32Math math,
                   cudaStream_t stream) {
  MatmulOperands op;
  op.x = x;
  op.w = w;
  op.y = y;
  op.bias = bias;
  op.in_type = op.out_type = cuda_data_type(dtype);
  op.compute = dtype == DType::fp32 && math == Fp32Math::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  op.tokens = tokens;
  op.n = n;
  op.k = k;
  op.ldx = ldx;
  op.ldw = ldw;
  matmul_xwt(op, stream);
}

Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias, DType out,
                     Fp32Math math) {
  if (out == DType::fp64) throw std::invalid_argument("cuda::linear: the CUDA backend has no fp64 Linear");
  if (x.cols != w.cols)
    throw std::invalid_argument(fmt::format("cuda::linear: x has {} features, the weight {}", x.cols, w.cols));
  if (!bias.empty() && static_cast<std::int64_t>(bias.size()) != w.rows)
    throw std::invalid_argument(fmt::format("linear: bias has {} elements but the layer has {} outputs", bias.size(),
                                            w.rows));
  const DeviceTensor dx = upload_as(x, out), dw = upload_as(w, out);
  const DeviceTensor db =
      bias.empty() ? DeviceTensor{} : upload_as({bias.data(), 1, static_cast<std::int64_t>(bias.size()), static_cast<std::int64_t>(bias.size())}, out);
  DeviceTensor dy{out, static_cast<std::size_t>(x.rows * w.rows),
                  DeviceBuffer<unsigned char>(static_cast<std::size_t>(x.rows * w.rows) * storage_bytes(out))};
  if (dy.count > 0)
    linear_device(dx.data(), x.cols, dw.data(), w.cols, bias.empty() ? nullptr : db.data(), dy.data(), x.rows, w.rows,
                  x.cols, out, math, nullptr);
  return download_float(dy, x.rows, w.rows);
}

}  // namespace ffn::cuda
