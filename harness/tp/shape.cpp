#include "harness/tp/shape.hpp"

#include "harness/tp/model_catalog.hpp"

namespace ffn {

const std::vector<FfnShape>& shape_presets() {
  // Tokens are independent rows, so a few tokens at the full model dims exercise every
  // reduction length of the real layer.
  static const std::vector<FfnShape> presets = [] {
    std::vector<FfnShape> p = {
        {"tiny", 64, 256, 8},
        // The smallest shape whose shards keep 128-element scale blocks whole (tp <= 2).
        {"small", 256, 1024, 8},
    };
    // Every MLP of the model catalog.
    for (const ModelFfn& m : model_catalog()) p.push_back(m.shape());
    return p;
  }();
  return presets;
}

std::optional<FfnShape> find_shape(std::string_view name) {
  for (const FfnShape& s : shape_presets())
    if (s.name == name) return s;
  return std::nullopt;
}

}  // namespace ffn
