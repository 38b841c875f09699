#pragma once
// allclose tolerances: |actual - expected| <= atol + rtol * |expected|.
#include "kernels/dtype.hpp"

namespace ffn {

struct Tolerance {
  double rtol = 0;
  double atol = 0;
};

// The defaults of torch.testing.assert_close for a dtype: fp64 1e-7/1e-7, fp32 1.3e-6/1e-5,
// fp16 1e-3/1e-5, bf16 1.6e-2/1e-5.
Tolerance default_tolerance(DType t);

}  // namespace ffn
