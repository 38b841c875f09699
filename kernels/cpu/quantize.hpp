#pragma once
// Quantized Linear layers as the serving stack runs them (DESIGN section 3), the CPU
// reference: dynamic and static quantization onto the formats of kernels/quantized.hpp, a
// GEMM whose products are exact in fp32, scales applied in fp32, bias in fp32, one rounding
// to the output dtype.
#include <optional>
#include <string_view>

#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"
#include "kernels/minifloat.hpp"
#include "kernels/quantized.hpp"

namespace ffn::cpu {

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
