#pragma once
// Round to nearest, ties to even, onto the grid of a DType. This is the only place where
// values are put onto a low-precision grid; bf16.hpp and fp16.hpp hold the bit encodings.
//
// Semantics (IEEE 754 roundTiesToEven): subnormals are produced (fp16; bf16 shares fp32's
// exponent range), overflow beyond the largest finite value's rounding boundary gives
// +-inf, infinities stay, NaN stays NaN (quiet), the sign of zero is kept.
#include <cstdint>
#include <span>

#include "kernels/dtype.hpp"

namespace ffn {

// From float: the target grid must be fp32 or coarser (fp32 is the identity).
float round_to(DType t, float x);
// From double, in one step (no double rounding through float).
double round_to(DType t, double x);

void round_inplace(DType t, std::span<float> xs);
void round_inplace(DType t, std::span<double> xs);
// out[i] = round_to(t, in[i]) (from double, in one step) for a grid no finer than fp32.
void round_to(DType t, std::span<const double> in, std::span<float> out);

// Round toward zero (truncation) onto the grid of t: not what the stack does anywhere; the
// directed rounding of the injected faults (a conversion that drops the low bits). Overflow
// gives the largest finite value, NaN stays NaN, fp32 is the identity.
float round_toward_zero(DType t, float x);

// True when x lies on the grid of t (NaN and +-inf count as representable).
bool is_representable(DType t, double x);

// The values of xs that are not representable on the grid of t (is_representable's judgement,
// in a loop the compiler vectorizes: the grid checks of every traced tensor of every case):
// how many, and the index of the first (-1 when none).
struct OffGridCount {
  std::int64_t count = 0, first = -1;
};
OffGridCount off_grid(DType t, std::span<const float> xs);

}  // namespace ffn
