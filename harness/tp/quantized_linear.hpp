#pragma once
// A Linear layer of a quantized checkpoint: the weight quantized once from the full fp32
// weight (as a pre-quantized checkpoint is), then sharded by the parallel layers as the
// loader shards it; and how the layer quantizes its input.
#include "harness/tp/precision.hpp"
#include "kernels/kernels.hpp"

namespace ffn {

struct QuantizedLinear {
  QuantScheme scheme = QuantScheme::none;
  QuantizedMatrix weight;
  // fp8-static: the per-tensor input scale; nvfp4: the input's global scale. Calibrated on
  // the full tensors and replicated on every rank. 0 for dynamic schemes.
  float input_scale = 0;
};

struct QuantizedFfn {
  QuantizedLinear proj_in, proj_out;
};

// `calibration_amax`: the largest input magnitude seen on the calibration batch.
// `logical_rows` > 0: the weight is a fused tensor of logical weights of that many rows each
// (gate and up), each quantized with its own scales as a checkpoint holds them. A per-tensor
// weight scale then becomes one scale per logical weight, held per row: what the stack's
// loader does for a merged linear when it converts per-tensor scales to per-channel
// (vLLM model_executor/layers/quantization/utils/w8a8_utils.py, convert_to_channelwise). NVFP4's
// global scale is shared by the logical weights, as exported checkpoints of merged layers
// hold it (the loader requires one weight_scale_2 for a merged layer). Weight blocks that
// straddle two logical weights throw std::invalid_argument.
QuantizedLinear quantize_linear(const Matrix<float>& weight, QuantScheme scheme, float calibration_amax,
                                std::int64_t logical_rows = 0);

// Quantizes a rank's input [tokens, k]. `amax`, when given, replaces the rank-local amax of
// each input row (scales agreed over the TP group); only for whole-row input scales.
QuantizedMatrix quantize_input(const QuantizedLinear& layer, MatrixView<float> x,
                                    const Matrix<float>* amax = nullptr,
                                    const Kernels& kernels = cpu_kernels());

// The values a quantized tensor stands for: exactly in fp64 (a code times an fp32 scale),
// rounded once in fp32.
template <class T>
Matrix<T> dequantize(const QuantizedMatrix& q);
// Rows [r0, r1) of dequantize<T>(q) into `out` ((r1 - r0) x cols, row-major).
template <class T>
void dequantize_rows(const QuantizedMatrix& q, std::int64_t r0, std::int64_t r1, std::span<T> out);

// The weight a layer multiplies by: the fp32 master, or the quantized checkpoint's values.
// Its shape, and rows [r0, r1) of it in T (the fp64 reference), or of its square in T (each
// value in T times itself in T: the budgets' magnitudes).
const Matrix<float>& effective_weight_shape(const Matrix<float>& master, const QuantizedLinear* q);
enum class WeightValues { as_is, squared };
template <class T>
void effective_weight_rows(const Matrix<float>& master, const QuantizedLinear* q, std::int64_t r0, std::int64_t r1,
                           std::span<T> out, WeightValues values = WeightValues::as_is);

}  // namespace ffn
