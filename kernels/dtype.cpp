#include "kernels/dtype.hpp"

#include <cmath>
#include <limits>

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

int precision_bits(DType t) {
  switch (t) {
    case DType::fp64: return 53;
    case DType::fp32: return 24;
    case DType::bf16: return 8;
    case DType::fp16: return 11;
  }
  return 0;
}

double unit_roundoff(DType t) { return std::ldexp(1.0, -precision_bits(t)); }

namespace {
int min_normal_exponent(DType t) {
  switch (t) {
    case DType::fp64: return -1022;
    case DType::fp32: return -126;
    case DType::bf16: return -126;
    case DType::fp16: return -14;
  }
  return 0;
}
}  // namespace

double min_normal(DType t) { return std::ldexp(1.0, min_normal_exponent(t)); }

double min_subnormal(DType t) {
  return std::ldexp(1.0, min_normal_exponent(t) - precision_bits(t) + 1);
}

double max_finite(DType t) {
  switch (t) {
    case DType::fp64: return std::numeric_limits<double>::max();
    case DType::fp32: return std::numeric_limits<float>::max();
    case DType::bf16: return std::ldexp(255.0, 120);    // 0x7F7F = (2 - 2^-7) * 2^127
    case DType::fp16: return 65504.0;
  }
  return 0;
}

}  // namespace ffn
