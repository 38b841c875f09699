#include "harness/tp/shape.hpp"

namespace ffn {

const std::vector<FfnShape>& shape_presets() {
  // Tokens are independent rows, so a few tokens at the full model dims exercise every
  // reduction length of the real layer.
  static const std::vector<FfnShape> presets = {
      {"tiny", 64, 256, 8},
      // The smallest shape whose shards keep 128-element scale blocks whole (tp <= 2).
      {"small", 256, 1024, 8},
      {"ltx2-video", 4096, 16384, 64},
      {"ltx2-audio", 2048, 8192, 64},
  };
  return presets;
}

std::optional<FfnShape> find_shape(std::string_view name) {
  for (const FfnShape& s : shape_presets())
    if (s.name == name) return s;
  return std::nullopt;
}

}  // namespace ffn
