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

// The facts of each format, one row each: constants in the header, because the error budgets
// ask for them once or more per element (a call with an ldexp each time was a visible part of
// a sweep's time).
struct DTypeFacts {
  int precision_bits;    // significand bits including the implicit one
  double unit_roundoff;  // u = 2^-p: round to nearest satisfies |fl(x) - x| <= u |x| for normal results
  double min_normal;
  double max_finite;
};
constexpr DTypeFacts dtype_facts(DType t) {
  switch (t) {
    case DType::fp64: return {53, 0x1p-53, 0x1p-1022, 0x1.fffffffffffffp+1023};
    case DType::fp32: return {24, 0x1p-24, 0x1p-126, 0x1.fffffep+127};
    case DType::bf16: return {8, 0x1p-8, 0x1p-126, 0x1.fep+127};  // max 0x7F7F = (2 - 2^-7) * 2^127
    case DType::fp16: return {11, 0x1p-11, 0x1p-14, 65504.0};
  }
  return {0, 0, 0, 0};
}

constexpr int precision_bits(DType t) { return dtype_facts(t).precision_bits; }
constexpr double unit_roundoff(DType t) { return dtype_facts(t).unit_roundoff; }
constexpr double min_normal(DType t) { return dtype_facts(t).min_normal; }
// Smallest positive subnormal (min_normal * 2u); half of it bounds the absolute error of any
// rounding that underflows.
constexpr double min_subnormal(DType t) { return min_normal(t) * 2 * unit_roundoff(t); }
constexpr double max_finite(DType t) { return dtype_facts(t).max_finite; }

}  // namespace ffn
