#include "harness/tp/precision.hpp"

#include <stdexcept>

namespace ffn {

const std::vector<Precision>& precision_presets() {
  static const std::vector<Precision> presets = {
      {"fp32", DType::fp32, QuantScheme::none, "fp32 weights and activations"},
      {"bf16", DType::bf16, QuantScheme::none, "bf16 weights and activations, fp32 accumulation"},
      {"fp16", DType::fp16, QuantScheme::none, "fp16 weights and activations, fp32 accumulation"},
      {"fp8-static", DType::bf16, QuantScheme::fp8_static,
       "FP8 E4M3: per-tensor weight scale, static calibrated per-tensor input scale"},
      {"fp8-dynamic", DType::bf16, QuantScheme::fp8_dynamic,
       "FP8 E4M3: per-channel weight scale, dynamic per-token input scale"},
      {"fp8-dynamic-tensor", DType::bf16, QuantScheme::fp8_dynamic_tensor,
       "FP8 E4M3: per-tensor weight scale, dynamic per-token input scale"},
      {"fp8-block", DType::bf16, QuantScheme::fp8_block,
       "FP8 E4M3: 128x128 weight blocks, 1x128 input groups (tp must keep blocks whole)"},
      {"int8", DType::bf16, QuantScheme::int8, "W8A8: per-channel weight, per-token input scales, int32 accumulation"},
      {"nvfp4", DType::bf16, QuantScheme::nvfp4, "E2M1 values, E4M3 scales per 16 elements, fp32 global scales"},
  };
  return presets;
}

std::optional<Precision> find_precision(std::string_view name) {
  for (const Precision& p : precision_presets())
    if (p.name == name) return p;
  return std::nullopt;
}

Precision::Precision(DType t) : name(dtype_name(t)), activation(t), scheme(QuantScheme::none) {}

Precision precision_of(DType activation, QuantScheme scheme) {
  for (const Precision& p : precision_presets())
    if (p.activation == activation && p.scheme == scheme) return p;
  throw std::invalid_argument("no precision preset for this dtype and scheme");
}

SchemeLayout scheme_layout(QuantScheme s) {
  // Block sizes: 0 is the whole dimension; weights are [out, in], inputs [tokens, in].
  switch (s) {
    case QuantScheme::none: return {};
    case QuantScheme::fp8_static:
      return {{QuantFormat::e4m3, 0, 0, false}, {QuantFormat::e4m3, 0, 0, false}, true, false};
    case QuantScheme::fp8_dynamic:
      return {{QuantFormat::e4m3, 1, 0, false}, {QuantFormat::e4m3, 1, 0, false}, false, true};
    case QuantScheme::fp8_dynamic_tensor:
      return {{QuantFormat::e4m3, 0, 0, false}, {QuantFormat::e4m3, 1, 0, false}, false, true};
    case QuantScheme::fp8_block:
      return {{QuantFormat::e4m3, 128, 128, false}, {QuantFormat::e4m3, 1, 128, false}, false, false};
    case QuantScheme::int8:
      return {{QuantFormat::int8, 1, 0, false}, {QuantFormat::int8, 1, 0, false}, false, true};
    case QuantScheme::nvfp4:
      return {{QuantFormat::e2m1, 1, 16, true}, {QuantFormat::e2m1, 1, 16, true}, true, false};
  }
  return {};
}

}  // namespace ffn
