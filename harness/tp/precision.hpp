#pragma once
// The precisions a case runs in: a plain activation dtype, or a quantization scheme of the
// serving stack (DESIGN section 3) with bf16 activations and outputs.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/dtype.hpp"
#include "kernels/quantized.hpp"

namespace ffn {

enum class QuantScheme {
  none,
  fp8_static,          // per-tensor weight scale, static per-tensor input scale (calibrated)
  fp8_dynamic,         // per-output-channel weight scale, dynamic per-token input scale
  fp8_dynamic_tensor,  // per-tensor weight scale, dynamic per-token input scale
  fp8_block,           // 128x128 weight blocks, dynamic 1x128 per-token input groups
  int8,                // W8A8: per-channel int8 weight, dynamic per-token int8 input
  nvfp4,               // E2M1 values, E4M3 scales per 16 elements, fp32 global scales
};

struct Precision {
  std::string name;  // the --precision value
  DType activation = DType::bf16;
  QuantScheme scheme = QuantScheme::none;
  std::string_view description;  // one line, for `ffn-parity list precisions`

  Precision() = default;
  Precision(std::string n, DType a, QuantScheme s, std::string_view d = {})
      : name(std::move(n)), activation(a), scheme(s), description(d) {}
  // A plain dtype is a precision of its own (fp32, bf16, fp16).
  Precision(DType t);  // NOLINT(google-explicit-constructor)
  bool quantized() const { return scheme != QuantScheme::none; }
};

const std::vector<Precision>& precision_presets();
std::optional<Precision> find_precision(std::string_view name);
// The precision of an activation dtype and a scheme, e.g. (bf16, fp8_block) -> "fp8-block".
Precision precision_of(DType activation, QuantScheme scheme);

// How a scheme quantizes a Linear layer's weight and input.
struct SchemeLayout {
  ScaleLayout weight;
  ScaleLayout input;
  bool static_input = false;  // one calibrated per-tensor input scale (NVFP4: the global scale)
  // The input scales cover whole rows of the rank-local input: a row-parallel layer sees
  // other scales than a layer with the full input (the behavioural difference of the paths).
  bool row_scales_differ_by_shard = false;
};
SchemeLayout scheme_layout(QuantScheme s);

}  // namespace ffn
