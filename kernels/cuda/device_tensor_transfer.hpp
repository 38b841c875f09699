#pragma once
// Host float values (on a dtype's grid) into a device tensor of that dtype, and back.
#include "kernels/cuda/device_tensor.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cuda {

DeviceTensor upload_as(MatrixView<float> host, DType t);
Matrix<float> download_float(const DeviceTensor& t, std::int64_t rows, std::int64_t cols);

}  // namespace ffn::cuda
