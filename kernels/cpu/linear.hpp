#pragma once
// A Linear layer, y = x W^T + b, with the rounding points of the serving stack:
// accumulate in fp32, add the bias in fp32, round once to the output dtype.
// fp64 is the reference: no rounding anywhere but fp64's own.
#include <span>

#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cpu {

// x, w and bias must already lie on the grid of `out` (they come from a checkpoint in that
// dtype); an empty bias means no bias.
Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias,
                     DType out);
Matrix<double> linear(MatrixView<double> x, MatrixView<double> w, std::span<const double> bias);

}  // namespace ffn::cpu
