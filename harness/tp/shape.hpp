#pragma once
// Shape presets: the FFN dims and activation of the models under test.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/activation.hpp"

namespace ffn {

struct FfnShape {
  std::string name;
  std::int64_t dim = 0;    // hidden size (proj_in input, proj_out output)
  std::int64_t inner = 0;  // FFN inner size (proj_in output, proj_out input)
  std::int64_t default_tokens = 0;
  bool bias = true;  // proj_in and proj_out have biases (false: an MLP without any)
  Activation activation{};  // gated: inner is the size of gate and of up, each

  // Rows of proj_in's weight: inner, or the fused [gate; up] of a gated MLP.
  std::int64_t proj_in_rows() const { return activation.gated ? 2 * inner : inner; }
};

const std::vector<FfnShape>& shape_presets();
std::optional<FfnShape> find_shape(std::string_view name);

}  // namespace ffn
