#pragma once
// The element types the harness computes in, and the facts about each that the error
// models need. A DType names a rounding grid: values of a bf16 tensor are held in float
// storage but always lie on the bf16 grid.
#include <optional>
#include <string_view>

namespace ffn {

enum class DType { fp64, fp32, bf16, fp16 };

std::string_view dtype_name(DType t);
std::optional<DType> parse_dtype(std::string_view name);

// Significand bits including the implicit one (53, 24, 8, 11).
int precision_bits(DType t);
// Unit roundoff u = 2^-p: round to nearest satisfies |fl(x) - x| <= u |x| for normal results.
double unit_roundoff(DType t);
// Smallest positive subnormal; half of it bounds the absolute error of any rounding that
// underflows.
double min_subnormal(DType t);
double min_normal(DType t);
double max_finite(DType t);

}  // namespace ffn
