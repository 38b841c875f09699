#pragma once
// The device kernels behind quantize.hpp, on packed row-major device buffers. The formats the
// device quantizes to: E4M3 (int8 = false) or symmetric INT8 (int8 = true).
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/dtype.hpp"

namespace ffn::cuda {

// A [rows, cols] tensor cut into block_rows x block_cols scale blocks; scales packed
// [scale_rows, scale_cols].
struct ScaleGrid {
  std::int64_t rows, cols, block_rows, block_cols, scale_rows, scale_cols;
};

// amax of every scale block; scale = amax / qmax.
void block_amax_device(const float* x, const ScaleGrid& g, float* amax, cudaStream_t stream);
void scales_from_amax_device(const float* amax, float* scales, std::int64_t count, float qmax, cudaStream_t stream);
// values = x / scale rounded to the format and saturated, held as floats; 0 where the scale is 0.
void quantize_values_device(const float* x, const ScaleGrid& g, const float* scales, bool int8, float* values,
                            cudaStream_t stream);
// Values on the format's grid into the GEMM's codes (E4M3 bytes or int8), exactly.
void codes_device(const float* values, std::int64_t count, bool int8, void* codes, cudaStream_t stream);

// y = round_out(sum over K blocks b of fl(sx * sw) * partial_b [* global] + bias), packed
// [tokens, n] floats; partials [batches][tokens][n], int32 when int8, else fp32.
struct EpilogueArgs {
  const void* partials;
  bool int32_partials;
  std::int64_t tokens, n, batches, k_block;
  const float* x_scales;
  std::int64_t x_scale_cols, x_block_rows, x_block_cols;
  const float* w_scales;
  std::int64_t w_scale_cols, w_block_rows, w_block_cols;
  float global;
  const float* bias;  // null: none
  DType out;
  float* y;
};
void quantized_epilogue_device(const EpilogueArgs& a, cudaStream_t stream);

}  // namespace ffn::cuda
