#include "kernels/cuda/device_tensor_transfer.hpp"

#include "kernels/cuda/host_transfer.hpp"

namespace ffn::cuda {

DeviceTensor upload_as(MatrixView<float> host, DType t) {
  const DeviceBuffer<float> values = upload(host);
  return to_storage(values.get(), values.size(), t, nullptr);
}

Matrix<float> download_float(const DeviceTensor& t, std::int64_t rows, std::int64_t cols) {
  DeviceBuffer<float> values(t.count);
  to_float(t, values.get(), nullptr);
  return download(values, rows, cols);
}

}  // namespace ffn::cuda
