#pragma once
// A device tensor in the storage of an activation dtype (fp32: float, bf16: __nv_bfloat16,
// fp16: __half), made from and turned back into float values that lie on the dtype's grid.
// The conversions are exact both ways; they only change the storage.
#include <cuda_runtime_api.h>
#include <library_types.h>

#include <cstddef>

#include "kernels/cuda/device_buffer.hpp"
#include "kernels/dtype.hpp"

namespace ffn::cuda {

struct DeviceTensor {
  DType dtype = DType::fp32;
  std::size_t count = 0;
  DeviceBuffer<unsigned char> bytes;

  void* data() const { return bytes.get(); }
};

std::size_t storage_bytes(DType t);    // 4, 2, 2; throws for fp64
cudaDataType_t cuda_data_type(DType t);  // CUDA_R_32F, CUDA_R_16BF, CUDA_R_16F

DeviceTensor to_storage(const float* device_values, std::size_t count, DType t, cudaStream_t stream);
void to_float(const DeviceTensor& t, float* device_values, cudaStream_t stream);

}  // namespace ffn::cuda
