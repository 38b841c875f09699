#pragma once
// Quantized tensors (DESIGN section 3): values on a narrow grid (FP8 E4M3, INT8, E2M1) times
// scales that cover blocks of the tensor, the formats' grids, and the shards a checkpoint
// loader cuts of them. The kernels that make and multiply them are kernels/cpu/quantize.hpp
// (the reference) and kernels/cuda/quantize.hpp.
//
// Every scale layout is a grid of blocks: element (i, j) of a [rows, cols] tensor has the
// scale scales(i / block_rows, j / block_cols). Per-tensor: one block; per-channel (rows of
// a weight) or per-token (rows of an activation): [rows, 1]; 128x128 weight blocks;
// 1x128 or 1x16 activation groups.
#include <cstdint>
#include <string>
#include <string_view>

#include "kernels/matrix.hpp"

namespace ffn {

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

// The rows of `a`, then those of `b`, as one quantized tensor with the scales that cover them (a
// merged parameter's two shards): whole row blocks of one size stay blocks; otherwise (a half
// inside a per-tensor block) the scales are held per row. Both need the same format, columns, K
// blocks and global scale; otherwise std::invalid_argument naming `what`.
QuantizedMatrix stack_rows(const QuantizedView& a, const QuantizedView& b, const std::string& what);

// How a tensor is quantized: block sizes of the scale grid (0: the whole dimension) and,
// for two-level NVFP4 scaling, the E4M3-rounded block scales under an fp32 global scale.
struct ScaleLayout {
  QuantFormat format = QuantFormat::e4m3;
  std::int64_t block_rows = 0, block_cols = 0;
  bool two_level = false;
};

}  // namespace ffn
