#pragma once
// The feed-forward blocks of the serving stack's DiT models (DESIGN section 8), one entry per
// MLP: its dims, activation, bias, checkpoint tensor names and the tp sizes the stack allows,
// each with where its numbers come from. A new model is one line in model_catalog.cpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/tp/shape.hpp"

namespace ffn {

struct ModelFfn {
  std::string_view id;    // the --shape value, e.g. "wan2.2-14b"
  std::string_view name;  // e.g. "Wan 2.2 A14B (both experts)"
  std::int64_t hidden = 0;
  std::int64_t inner = 0;  // gated: of gate and of up, each
  Activation activation;  // the function and whether gated (the rounding is the run's choice)
  bool bias = true;
  // One block's FFN tensors, {N} the block, as --tensor-map entries ROLE=NAME: proj_in,
  // proj_out; gated: gate and up (or the fused gate_up, gate rows first), down; with biases when
  // the MLP has them. Double-stream models: the image stream's MLP.
  std::vector<std::string_view> tensor_map;
  std::vector<int> tps;       // the tp sizes among 1, 2, 4, 8 the stack allows (heads and dims)
  std::string_view source;    // where the numbers come from
  bool verified = true;       // false: only partly checked against a published config

  // The shape the sweep runs (64 tokens, as the LTX-2 presets).
  FfnShape shape() const;
  // "the MLP's id: hidden -> inner activation, bias", one line for messages.
  std::string summary() const;
};

const std::vector<ModelFfn>& model_catalog();
const ModelFfn* find_model(std::string_view id);

}  // namespace ffn
