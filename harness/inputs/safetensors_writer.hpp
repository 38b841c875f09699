#pragma once
// Writes safetensors files (the format harness/inputs/safetensors.hpp reads): the tensors
// back to back in the order given, the header padded with spaces to a multiple of 8 bytes (as
// the reference implementation, safetensors/src/tensor.rs `prepare`, aligns the data section),
// written to a temporary file and renamed, so a reader never sees half a file.
//
// Values are stored exactly or not at all: encoding a float that does not lie on the dtype's
// grid throws, so a dump says bit for bit what the harness computed on.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/inputs/safetensors.hpp"

namespace ffn::safetensors {

struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;  // little-endian, shape x dtype_size bytes
};

// `values` encoded in `dtype` (BF16, F16, F32 or F64); throws SafetensorsError naming the
// tensor and the first value that is not exact in the dtype, or the shape that does not hold
// them.
TensorToWrite encode_tensor(const std::string& name, Dtype dtype, std::vector<std::int64_t> shape,
                            std::span<const float> values);
// fp64 values as F64.
TensorToWrite encode_tensor(const std::string& name, std::vector<std::int64_t> shape, std::span<const double> values);

// Writes `path` atomically; throws SafetensorsError naming the file when it cannot be written,
// or for two tensors of one name.
void write_file(const std::string& path, const std::vector<TensorToWrite>& tensors,
                const std::map<std::string, std::string>& metadata = {});

}  // namespace ffn::safetensors
