#pragma once
// Quantized Linear layers as the serving stack runs them (DESIGN section 3): values on a
// narrow grid (FP8 E4M3, INT8, E2M1) times scales that cover blocks of the tensor, a GEMM
// whose products are exact in fp32, scales applied in fp32, bias in fp32, one rounding to
// the output dtype.
//
// Every scale layout is a grid of blocks: element (i, j) of a [rows, cols] tensor has the
// scale scales(i / block_rows, j / block_cols). Per-tensor: one block; per-channel (rows of
// a weight) or per-token (rows of an activation): [rows, 1]; 128x128 weight blocks;
// 1x128 or 1x16 activation groups.
#include <optional>
#include <string_view>

#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"
#include "kernels/minifloat.hpp"

namespace ffn::cpu {

enum class QuantFormat { e4m3, int8, e2m1 };

// Unit roundoff of the format's grid relative to the scaled value (2^-4 for E4M3, 2^-2 for
// E2M1), the absolute error of a value in the subnormal range (or, for INT8, of any value)
// in units of the scale, and the largest magnitude.
double quant_unit_roundoff(QuantFormat f);
double quant_abs_floor(QuantFormat f);
double quant_max(QuantFormat f);
std::string_view quant_format_name(QuantFormat f);

// Rounds x / scale onto the format, saturating, and returns the code's value (not scaled).
float quantize_value(QuantFormat f, float scaled);
// Bound on |q s - v| when v is quantized with scale s: round to nearest on the format's grid
// (u |v|, or the absolute floor in the subnormal range), saturation beyond max * s, and the
// fp32 division v / s.
double quantization_error_bound(QuantFormat f, double value, double scale);

struct QuantizedMatrix {
  QuantFormat format = QuantFormat::e4m3;
  Matrix<float> values;  // on the format's grid
  Matrix<float> scales;  // fp32 (or E4M3 values for NVFP4 blocks)
  std::int64_t block_rows = 0, block_cols = 0;
  float global_scale = 1;  // NVFP4's second level; 1 elsewhere

  std::int64_t rows() const { return values.rows(); }
  std::int64_t cols() const { return values.cols(); }
  float scale(std::int64_t i, std::int64_t j) const {
    return scales(i / block_rows, j / block_cols) * global_scale;
  }
  // The value the quantized tensor stands for, in fp64 (exact: a code times an fp32 scale).
  double dequantized(std::int64_t i, std::int64_t j) const {
    return double(values(i, j)) * scales(i / block_rows, j / block_cols) * global_scale;
  }
};

// A rank's shard of a quantized tensor: views into the full tensor's values and scales.
struct QuantizedView {
  QuantFormat format = QuantFormat::e4m3;
  MatrixView<float> values;
  MatrixView<float> scales;
  std::int64_t block_rows = 0, block_cols = 0;
  float global_scale = 1;
};

QuantizedView view_of(const QuantizedMatrix& q);
// Rows [r0, r1) or columns [c0, c1) of a quantized tensor with the scales that cover them,
// as a checkpoint loader shards it. A block that straddles the cut throws
// std::invalid_argument naming `what`, the dimension, tp and the block.
QuantizedView rows_of(const QuantizedView& q, std::int64_t r0, std::int64_t r1, const std::string& what);
QuantizedView cols_of(const QuantizedView& q, std::int64_t c0, std::int64_t c1, const std::string& what);

// How a tensor is quantized: block sizes of the scale grid (0: the whole dimension) and,
// for two-level NVFP4 scaling, the E4M3-rounded block scales under an fp32 global scale.
struct ScaleLayout {
  QuantFormat format = QuantFormat::e4m3;
  std::int64_t block_rows = 0, block_cols = 0;
  bool two_level = false;
};

// Dynamic quantization: every block's scale from its own amax (amax / format max; the
// block scale of two-level layouts relative to `global_scale`). `amax`, when given, replaces
// the blocks' own amax (a scale agreed over a TP group), laid out like the scale grid.
QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale = 1,
                         const Matrix<float>* amax = nullptr);
// Static quantization with one given per-tensor scale (values beyond it saturate).
QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale);
// amax over each block of the layout.
Matrix<float> block_amax(MatrixView<float> x, const ScaleLayout& layout);

// The K block of a quantized GEMM: one fp32 partial per block of the finer of the two scale
// grids along K. Throws std::invalid_argument when the shapes, the formats or the grids do not
// fit together (the coarser grid must nest in the finer).
std::int64_t quantized_k_block(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias);

// y = round_out( sum over K blocks of fp32(x_q . w_q) * (sx * sw) + b ): products exact in fp32
// (INT8: exact int32 accumulation), one fp32 partial per K block of the finer of the two
// scale grids, scales applied in fp32, bias in fp32, one rounding.
Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w,
                               std::span<const float> bias, DType out);

}  // namespace ffn::cpu
