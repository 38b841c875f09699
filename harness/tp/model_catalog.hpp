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

// The MLP's activation as the stack computes it: ungated act(proj_in(x)), or gated
// act(gate(x)) * up(x) with gate and up the two halves of a merged column-parallel linear.
enum class MlpActivation {
  gelu_tanh,  // GELU(approximate="tanh")
  gelu,       // GELU with erf
  swiglu,     // silu(gate) * up
  geglu,      // gelu_erf(gate) * up
};
std::string_view mlp_activation_name(MlpActivation a);  // "gelu-tanh", "gelu", "swiglu", "geglu"
bool is_gated(MlpActivation a);

struct ModelFfn {
  std::string_view id;    // the --shape value, e.g. "wan2.2-14b"
  std::string_view name;  // e.g. "Wan 2.2 A14B (both experts)"
  std::int64_t hidden = 0;
  std::int64_t inner = 0;  // gated: of gate and of up, each
  MlpActivation activation = MlpActivation::gelu_tanh;
  bool bias = true;
  // One block's FFN tensors, {N} the block: proj_in, proj_out; gated: gate, up (or the fused
  // gate_up, gate rows first), down.
  std::string_view tensors;
  std::vector<int> tps;       // the tp sizes among 1, 2, 4, 8 the stack allows (heads and dims)
  std::string_view source;    // where the numbers come from
  bool verified = true;       // false: only partly checked against a published config

  // The shape the sweep runs (64 tokens, as the LTX-2 presets).
  FfnShape shape() const;
};

const std::vector<ModelFfn>& model_catalog();
const ModelFfn* find_model(std::string_view id);
// Why the harness cannot run this MLP yet (empty when it can): its paths compute an ungated
// GELU-tanh MLP, with or without biases; gated MLPs and exact GELU are still to come.
std::string model_not_runnable(const ModelFfn& m);

}  // namespace ffn
