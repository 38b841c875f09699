#pragma once
// How closely two backends agree on the same case (run --compare-backend): the outputs of
// each path on backend A against backend B, with a tolerance on the relative L2 difference
// chosen by precision.
//
// Bit-exactness is not expected: cuBLASLt sums the fp32 (int32) GEMM products in another
// order than OpenBLAS, the device tanhf differs from the host's by an ulp or two, and Hopper's
// FP8 tensor cores accumulate with fewer bits between promotions to fp32. Everything else
// (the rounding points, the quantization, the AllReduce models) is the same operation on
// both, so the difference is the GEMMs' summation error, then flips of single output ulps at
// rounding boundaries, carried through GELU, the second GEMM and the dynamic scales. The
// tolerances (relative L2 of the difference, per precision):
//   fp32   2^-14   the summation-order error of fp32 GEMMs with K <= 16384 is ~sqrt(K) u32
//                  ~ 1e-5 in the worst-conditioned elements, far less in L2;
//   tf32   2^-8    TF32 inputs carry 2^-11 relative error (cuda only, against cpu fp32);
//   fp16   2^-11, bf16 2^-8: one unit roundoff of the activation dtype: single-ulp flips of a
//                  small share of elements give a relative L2 far below one ulp;
//   fp8-*  2^-4    one E4M3 unit roundoff: an ulp flip in a token's amax rescales its codes;
//   int8   2^-6    four INT8 steps relative to the largest value of a token.
// Where both backends do exact arithmetic (integer-valued inputs, INT8 products) they agree
// bit for bit; tests/gpu checks that directly on the kernels.
#include "harness/tp/precision.hpp"
#include "kernels/matrix.hpp"

namespace ffn {

struct BackendAgreement {
  double rel_l2 = 0;           // |a - b|_2 / |b|_2 (0 when both are zero)
  double max_abs = 0;
  double ulp_max = 0;          // in the output dtype
  double identical_share = 0;  // fraction of elements bit-identical
  double tolerance = 0;        // the rel_l2 allowed
  bool pass = false;
};

double backend_tolerance(const Precision& p, bool tf32);
BackendAgreement backend_agreement(const Matrix<float>& a, const Matrix<float>& b, const Precision& p, bool tf32);

}  // namespace ffn
