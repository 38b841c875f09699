#pragma once
// A Linear layer, y = x W^T + b, with the rounding points of the serving stack:
// accumulate in fp32, add the bias in fp32, round once to the output dtype.
// fp64 is the reference: no rounding anywhere but fp64's own.
#include <span>

#include "kernels/cpu/gemm.hpp"
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cpu {

// x, w and bias must already lie on the grid of `out` (they come from a checkpoint in that
// dtype); an empty bias means no bias.
Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias,
                     DType out);
Matrix<double> linear(MatrixView<double> x, MatrixView<double> w, std::span<const double> bias);
// The same with W (`w_rows` x `w_cols`) made one block of rows at a time (gemm_xwt_row_blocks):
// the reference's layers, whose fp64 weights would otherwise be whole copies of the checkpoint.
Matrix<double> linear(MatrixView<double> x, std::int64_t w_rows, std::int64_t w_cols, const WeightRows<double>& w,
                      std::span<const double> bias);

}  // namespace ffn::cpu
