#pragma once
// Symmetric int8 quantization, as W8A8 kernels do it: the grid is the integers -127..127,
// so that the range is symmetric and negation never overflows; -128 is never produced.
#include <cstdint>

namespace ffn {

// Round half to even, then saturate to [-127, 127] (infinities included), independently of
// the floating-point environment's rounding mode. NaN throws std::domain_error.
std::int8_t int8_round_sym(float x);

}  // namespace ffn
