#pragma once
// Deterministic inputs of a case, drawn from the counter-based generator by tensor name, so
// they are the same for every tp, path and backend. Values are rounded once, directly from
// fp64, onto the grid of the case's dtype (a bf16 checkpoint holds bf16 values).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "harness/tp/ffn_paths.hpp"
#include "harness/tp/precision.hpp"
#include "harness/tp/shape.hpp"

namespace ffn {

struct InputConfig {
  FfnShape shape;
  std::int64_t tokens = 0;
  std::uint64_t seed = 0;
  DType dtype = DType::bf16;  // the activation dtype: the grid of x and of the biases
  // A quantization scheme: weights stay fp32 masters, quantized once into weights.quant with
  // static input scales calibrated on a separate batch.
  QuantScheme scheme = QuantScheme::none;
  // Activation outliers: this many hidden channels of x scaled by outlier_scale, as the
  // few large channels of real transformer activations.
  int outlier_channels = 0;
  double outlier_scale = 32.0;
};

struct FfnInputs {
  Matrix<float> x;  // [tokens, dim], N(0, 1)
  FfnWeights weights;  // PyTorch nn.Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  // Real inputs captured from the serving stack (run --activations): the output it produced
  // for x, which each emulated path is also compared with.
  std::optional<Matrix<float>> captured_y;
};

// The tensors of an input set in storage order (goldens, the input cache), with their names in
// a golden; an MLP without bias has no bias tensors.
std::vector<std::pair<std::string, std::span<const float>>> named_tensors(const FfnInputs& in);
std::vector<std::pair<std::string, std::span<float>>> named_tensors(FfnInputs& in);

// Tokens of the calibration batch that static input scales are taken from.
inline constexpr std::int64_t k_calibration_tokens = 16;

// Quantizes a checkpoint's weights with `scheme` (once, from the full fp32 weights) and
// calibrates its static input scales; fills weights.quant.
void quantize_checkpoint(FfnWeights& weights, const InputConfig& config);

FfnInputs make_inputs(const InputConfig& config);
// x alone, as make_inputs draws it (real weights with generated activations).
Matrix<float> make_x(const InputConfig& config);
// The weights alone, their tensors named `prefix` + "proj_in.weight" etc. (a stack of layers
// draws each layer's weights under its own prefix).
FfnWeights make_weights(const InputConfig& config, const std::string& prefix = "");
// The weights of an MLP of `shape` as make_weights shapes them, the weight matrices unwritten
// (Matrix's Unfilled: the caller writes every value; the biases are zero).
FfnWeights weights_to_fill(const FfnShape& shape);

// n values as PyTorch's nn.Linear initialises a weight or bias of that fan-in,
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn under `name` and rounded to `dtype`.
std::vector<float> linear_init_values(std::int64_t n, std::int64_t fan_in, std::uint64_t seed, const std::string& name,
                                      DType dtype);

// The channels of x that carry outliers (distinct, in increasing order).
std::vector<std::int64_t> outlier_channels(const InputConfig& config);

}  // namespace ffn
