#include "kernels/dtype.hpp"

namespace ffn {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::fp64: return "fp64";
    case DType::fp32: return "fp32";
    case DType::bf16: return "bf16";
    case DType::fp16: return "fp16";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (DType t : {DType::fp64, DType::fp32, DType::bf16, DType::fp16})
    if (dtype_name(t) == name) return t;
  return std::nullopt;
}

}  // namespace ffn
